#!/usr/bin/env bash
# One Pulumi operation of one stack, as CI runs it (.github/workflows/pulumi-stack.yml
# and the Jenkinsfile both call this): `pulumi <preview|up> --diff` with the policy
# pack (and the stack's pack config, policies/config/<stack>.json), the engine's events
# kept, and their Markdown summary written.
#
#   bash scripts/ci-stack.sh <preview|up> <stack> <output directory>
#
# The Pulumi project is the working directory (the checkout, in CI); the engine, the
# virtualenv, the policy pack and the summary tool are this repository's.
# Writes <output directory>/events-<stack>.jsonl and summary-<stack>.md, then exits 1
# if the operation failed or the summary's gate found a mandatory policy violation
# (the summary exists either way, for the pull-request comment). Run
# `bash scripts/setup.sh` first.
#
# Environment:
#   PULUMI_BACKEND_URL  required: toolchain/env.sh would otherwise use a throw-away local
#                       backend, against which every resource looks new and an `up`
#                       would try to create them all again.
#   PATH                must hold gke-gcloud-auth-plugin for a stack that creates a GKE
#                       cluster, with application default credentials to hand it
#                       (GOOGLE_APPLICATION_CREDENTIALS in CI).
#   CI_STACK_PLUGINS    provider plugins to install first, at the versions
#                       requirements.lock pins for their SDKs (default: "gcp";
#                       scripts/setup.sh builds only kubernetes). Empty when the agent
#                       already has them in PULUMI_HOME or the stack needs none.
set -euo pipefail

if [[ $# -ne 3 || ! "$1" =~ ^(preview|up)$ ]]; then
  echo "usage: bash scripts/ci-stack.sh <preview|up> <stack> <output directory>" >&2
  exit 2
fi
command=$1 stack=$2 output=$3
if [[ -z "${PULUMI_BACKEND_URL:-}" ]]; then
  echo "error: set PULUMI_BACKEND_URL to the stacks' state backend (e.g. gs://<bucket>)" >&2
  exit 1
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="$REPO_ROOT/.venv/bin/python"

# A stack that creates a GKE cluster deploys through the kubeconfig components/gke.py
# writes: gke-gcloud-auth-plugin with application default credentials, the identity
# the GCP provider uses. Checked here, so a missing plugin or credential fails before
# the operation instead of halfway through it.
creates_gke=$("$python" -c 'import sys, yaml
with open(sys.argv[1], encoding="utf-8") as handle:
    config = (yaml.safe_load(handle) or {}).get("config") or {}
print(str((config.get("delivery-platform:cluster") or {}).get("kind", "")).startswith("gke-"))' \
  "Pulumi.$stack.yaml" 2>/dev/null || echo False)
if [[ "$creates_gke" == True ]]; then
  if ! command -v gke-gcloud-auth-plugin >/dev/null; then
    echo "error: stack $stack creates a GKE cluster, and its kubeconfig runs gke-gcloud-auth-plugin, which is not" \
      "on PATH (README: Prerequisites for prod)" >&2
    exit 1
  fi
  if ! gke-gcloud-auth-plugin --use_application_default_credentials >/dev/null; then
    echo "error: gke-gcloud-auth-plugin finds no application default credentials (GOOGLE_APPLICATION_CREDENTIALS," \
      "a Workload Identity Federation credential file, or gcloud auth application-default login)" >&2
    exit 1
  fi
fi

mkdir -p "$output"
output="$(cd "$output" && pwd)"
events="$output/events-$stack.jsonl"
summary="$output/summary-$stack.md"
# shellcheck source=toolchain/env.sh
source "$REPO_ROOT/toolchain/env.sh"

for package in ${CI_STACK_PLUGINS-gcp}; do
  version="$("$python" -c 'import importlib.metadata, sys; print(importlib.metadata.version(sys.argv[1]))' \
    "pulumi-$package")"
  pulumi plugin install resource "$package" "v$version"
done

args=(--stack "$stack" --diff --policy-pack "$REPO_ROOT/policies" --non-interactive --color never
  --event-log "$events")
# Each stack's enforcement levels, allowed registries and narrow exemptions.
pack_config="$REPO_ROOT/policies/config/$stack.json"
if [[ -f "$pack_config" ]]; then
  args+=(--policy-pack-config "$pack_config")
else
  echo "note: no $pack_config; the pack runs with its defaults" >&2
fi
if [[ "$command" == up ]]; then
  args+=(--yes)
fi
# --event-log (behind PULUMI_DEBUG_COMMANDS, as the Automation API uses it) writes the
# engine events beside the human diff in the log; unlike `--json` they carry the policy
# violations. Both statuses are kept so the summary is written even when pulumi fails.
# A preview skips checkpoints: Pulumi 3.274's DIY backend gives a preview a snapshot
# manager that re-serializes the whole deployment after every step only to discard it
# (backend/diy/backend.go, DiscardPersister), so a preview's time grows with the square
# of the resource count (bench fleet(200), 1176 objects: 72 s, 12 s without). A preview
# persists nothing, so nothing is lost; an `up` keeps its checkpoints.
skip_checkpoints=false
if [[ "$command" == preview ]]; then
  skip_checkpoints=true
fi
status=0
PULUMI_SKIP_CHECKPOINTS=$skip_checkpoints PULUMI_DEBUG_COMMANDS=true pulumi "$command" "${args[@]}" || status=$?
gate=0
(cd "$REPO_ROOT" && "$python" -m components.tools.preview_summary --stack "$stack" --fail-on-mandatory \
  --output "$summary" "$events") || gate=$?

if [[ $status -ne 0 || $gate -ne 0 ]]; then
  echo "error: pulumi $command exited $status; the policy gate exited $gate (see $summary)" >&2
  exit 1
fi
