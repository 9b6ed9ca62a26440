#!/usr/bin/env bash
# After a stack's `pulumi up` on main (the GitHub deploy workflow and the Jenkinsfile
# both call this): renders the stack's GitOps apps into a checkout of the release
# repository with the release tool and commits what changed - a promotion or rollback
# merged as a config change becomes the commit Argo CD syncs. Nothing to commit is fine.
#
#   bash scripts/ci-release.sh <stack> <release repository checkout>
#
# Pushes to the checkout's branch through `origin`, or through RELEASE_PUSH_URL when set
# (a URL carrying the CI's token, so the checkout itself keeps no credential).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: bash scripts/ci-release.sh <stack> <release repository checkout>" >&2
  exit 2
fi
stack=$1 release=$2
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
release="$(cd "$release" && pwd)"
revision="$(git -C "$REPO_ROOT" rev-parse --short=12 HEAD)"

bash "$REPO_ROOT/scripts/release.sh" render --stack "$stack" --release-dir "$release" >/dev/null
cd "$release"
if [[ -z "$(git status --porcelain)" ]]; then
  echo "[release] $stack: the release repository is up to date" >&2
  exit 0
fi
git add --all
git -c user.name="delivery-platform CI" -c user.email="ci@delivery-platform.invalid" \
  commit --quiet -m "$stack: render the GitOps apps at $revision"
branch="$(git rev-parse --abbrev-ref HEAD)"
git push --quiet "${RELEASE_PUSH_URL:-origin}" "HEAD:$branch"
echo "[release] $stack: pushed $(git rev-parse --short HEAD) to $branch" >&2
