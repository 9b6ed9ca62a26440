#!/usr/bin/env bash
# The main job: `pulumi up` of the dev stack with the real engine and no cloud
# credentials. The dev stack's cluster kind is `render`, so every Kubernetes object
# is written as YAML under build/manifests; its GitOps apps are then rendered by the
# release tool into build/releases, as Argo CD would sync them from the release repo.
# Extra arguments go to `pulumi up`.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
bash scripts/setup.sh
# shellcheck source=toolchain/env.sh
source toolchain/env.sh

# The default backend is a local directory (toolchain/env.sh); the file backend wants it to exist.
if [[ "$PULUMI_BACKEND_URL" == file://* ]]; then
  mkdir -p "${PULUMI_BACKEND_URL#file://}"
fi
pulumi stack select dev 2>/dev/null || pulumi stack init dev --secrets-provider passphrase
pulumi up --stack dev --yes --skip-preview "$@"
echo "[dev] manifests rendered under $REPO_ROOT/build/manifests" >&2
.venv/bin/python -m components.release render --stack dev --release-dir build/releases >/dev/null
echo "[dev] GitOps apps rendered for Argo CD under $REPO_ROOT/build/releases" >&2
# Jenkins and Argo CD render everything but a chart whose source this machine cannot
# reach (whenUnreachable: skip); say which were left out and why.
pulumi stack output --stack dev --json | .venv/bin/python -c '
import json, sys
outputs = json.load(sys.stdin)
for component in ("jenkins", "argocd"):
    chart = (outputs.get(component) or {}).get("chart") or {}
    if chart and not chart.get("deployed"):
        name, reason = chart.get("chart"), chart.get("skippedBecause")
        print("[dev] %s: chart %s not rendered: %s" % (component, name, reason), file=sys.stderr)
'
