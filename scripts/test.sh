#!/usr/bin/env bash
# The whole check CI runs: set-up (including the e2e control plane), lint, types,
# then every test - unit tests with mocks and end-to-end tests with the real engine.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
bash scripts/setup.sh --e2e
# shellcheck source=toolchain/env.sh
source toolchain/env.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
# Two runs: the repo root and the policy pack each have a __main__ module.
.venv/bin/mypy components tests bench __main__.py
.venv/bin/mypy policies
.venv/bin/python -m pytest "$@"
