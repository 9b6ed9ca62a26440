#!/usr/bin/env bash
# The release tool (python -m components.release) as CI runs it: the Jenkins pipelines
# of GitOps apps, and the platform's CI after a config change. Meant for build agents
# that have Python 3.11 and a pulumi CLI (the pulumi/pulumi-python-3.11 image) but no
# Go: the virtualenv comes from requirements.lock, and the kubernetes provider plugin
# from Pulumi's plugin registry (or the mirror PULUMI_PLUGIN_DOWNLOAD_URL names) at the
# version the lock pins, unless PULUMI_HOME already has it. On a machine set up with
# `bash scripts/setup.sh`, nothing is fetched.
#
#   bash scripts/release.sh deploy --stack prod --app storefront --image REF --build 42 \
#       --release-dir ../release
#   bash scripts/release.sh render --stack prod --release-dir ../release
#
# Run from the platform repository's root (the Pulumi project); arguments go to the tool.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || python_bin=python3
lock_hash="$(sha256sum requirements.lock | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python || "$(cat .venv/.lock-hash 2>/dev/null)" != "$lock_hash" ]]; then
  "$python_bin" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
  echo "$lock_hash" > .venv/.lock-hash
fi

# shellcheck source=toolchain/env.sh
source toolchain/env.sh
command -v pulumi >/dev/null || { echo "error: no pulumi CLI on PATH (run bash scripts/setup.sh)" >&2; exit 1; }
version="$(.venv/bin/python -c 'import importlib.metadata; print(importlib.metadata.version("pulumi-kubernetes"))')"
if [[ ! -d "$PULUMI_HOME/plugins/resource-kubernetes-v$version" ]]; then
  pulumi plugin install resource kubernetes "v$version" ${PULUMI_PLUGIN_DOWNLOAD_URL:+--server "$PULUMI_PLUGIN_DOWNLOAD_URL"}
fi
exec .venv/bin/python -m components.release "$@"
