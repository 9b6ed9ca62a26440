#!/usr/bin/env bash
# Installs everything this project needs on a machine that reaches only package
# registries: the Python virtualenv from requirements.lock, and the Pulumi engine
# (CLI, language host, provider plugins) built from Go modules into a cache outside
# the repository. With --e2e it also builds what the end-to-end tests run against: the
# local Kubernetes control plane and Argo CD (from Go modules), plus redis-server and git
# from Debian's packages. Safe to re-run: a warm run takes seconds.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

with_e2e=false
for arg in "$@"; do
  case "$arg" in
    --e2e) with_e2e=true ;;
    *) echo "usage: $0 [--e2e]" >&2; exit 2 ;;
  esac
done

python_bin="${PYTHON:-python3.11}"
command -v "$python_bin" >/dev/null || python_bin=python3
"$python_bin" -c 'import sys; assert sys.version_info[:2] == (3, 11), sys.version' \
  || { echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

# Reinstall only when the lock file changed since the last install.
lock_hash="$(sha256sum requirements.lock | cut -d' ' -f1)"
if [[ ! -x .venv/bin/python || "$(cat .venv/.lock-hash 2>/dev/null)" != "$lock_hash" ]]; then
  echo "[setup] installing Python dependencies from requirements.lock" >&2
  "$python_bin" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
  echo "$lock_hash" > .venv/.lock-hash
fi

# Argo CD's repo server and application controller need a Redis and the git command.
install_debian_packages() {
  local -a missing=()
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v git >/dev/null || missing+=(git)
  ((${#missing[@]})) || return 0
  local -a sudo=()
  [[ $EUID -eq 0 ]] || sudo=(sudo)
  echo "[setup] installing ${missing[*]} from Debian's packages" >&2
  "${sudo[@]}" apt-get update -qq
  # The package's service is not started: the tests run their own redis-server.
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

bash toolchain/engine.sh
if [[ "$with_e2e" == true ]]; then
  install_debian_packages
  bash toolchain/controlplane.sh >/dev/null
  bash toolchain/argocd.sh >/dev/null
  bash toolchain/gcp-validator.sh >/dev/null
fi
