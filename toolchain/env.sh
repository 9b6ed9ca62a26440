# shellcheck shell=bash
# Environment for running the real Pulumi engine offline. Source it, don't execute it:
#
#   toolchain/engine.sh          # once: builds/installs what is missing (seconds when warm)
#   source toolchain/env.sh      # then: pulumi, the Python language host and the plugins resolve
#
# Deliberately no `set -euo pipefail` here: this file is sourced into interactive shells
# and other scripts, whose error handling is theirs to choose. It only computes paths and
# exports variables; it never builds or runs anything, so sourcing it stays instant.
#
# It also defines the cache layout (DP_ENGINE_*) that toolchain/engine.sh builds into, so
# the two cannot drift apart.

_dp_toolchain_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# CACHE_ROOT, REPO_ROOT and the pins come from lib.sh/versions.env. engine.sh has them
# loaded already; otherwise read them in a subshell, so that lib.sh's shell options, Go
# settings and generic variable names do not leak into the caller.
if [[ -n "${CACHE_ROOT:-}" && -n "${PULUMI_VERSION:-}" ]]; then
  _dp_cache_root=$CACHE_ROOT _dp_repo_root=$REPO_ROOT
  _dp_cli_version=$PULUMI_VERSION _dp_langhost_version=$PULUMI_LANGUAGE_PYTHON_VERSION
else
  IFS=$'\t' read -r _dp_cache_root _dp_repo_root _dp_cli_version _dp_langhost_version < <(
    bash -c 'source "$1/lib.sh" >/dev/null &&
      printf "%s\t%s\t%s\t%s\n" "$CACHE_ROOT" "$REPO_ROOT" "$PULUMI_VERSION" "$PULUMI_LANGUAGE_PYTHON_VERSION"' \
      _ "$_dp_toolchain_dir"
  )
fi

# Everything is keyed by version, so bumping a pin in versions.env builds alongside the
# old outputs instead of overwriting them.
export DP_ENGINE_ROOT="$_dp_cache_root/pulumi"
export DP_PULUMI_CLI_DIR="$DP_ENGINE_ROOT/cli-$_dp_cli_version"
export DP_PULUMI_LANGHOST_DIR="$DP_ENGINE_ROOT/language-python-$_dp_langhost_version"

# Plugins are registered with `pulumi plugin install --file` into this PULUMI_HOME, which
# keeps them (and credentials, workspace settings) away from a personal ~/.pulumi, and
# lets PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION find exactly the pinned versions.
export PULUMI_HOME="$DP_ENGINE_ROOT/home"

# The built CLI goes first. Its directory also links the language host (engine.sh puts it
# there): Pulumi warns on every run when the host it finds on PATH is not the one "bundled"
# next to the running CLI, and a bundled one must sit in the CLI's real directory. The
# language host directory itself goes on PATH only when engine.sh marked it so, for a
# pulumi it did not build that bundles no host; a system pulumi keeps its bundled host.
if [[ -d "$DP_PULUMI_CLI_DIR" ]]; then
  _dp_dir=$DP_PULUMI_CLI_DIR
elif [[ -e "$DP_PULUMI_LANGHOST_DIR/.on-path" ]]; then
  _dp_dir=$DP_PULUMI_LANGHOST_DIR
else
  _dp_dir=
fi
if [[ -n "$_dp_dir" && ":$PATH:" != *":$_dp_dir:"* ]]; then
  PATH="$_dp_dir:$PATH"
fi
export PATH

# Nothing may be fetched from get.pulumi.com or the plugin registries (they are not
# reachable); a missing plugin should fail loudly instead of hanging on a download.
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_SKIP_UPDATE_CHECK=true

# Default to a local file backend inside the checkout, so stacks follow the working tree
# and a fresh clone (CI) starts empty. `.pulumi-state/` must stay git-ignored: it holds
# stack state and passphrase-encrypted secrets. A backend chosen by the user
# (e.g. gs://bucket for a real GKE project) is left alone.
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$_dp_repo_root/.pulumi-state}"

# A fixed, documented passphrase for local/dev stacks only: the file backend refuses to
# run non-interactively without one. Anything the user set (passphrase or file) wins.
if [[ -z "${PULUMI_CONFIG_PASSPHRASE+set}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE="delivery-platform-dev"
fi

unset _dp_toolchain_dir _dp_dir _dp_cache_root _dp_repo_root _dp_cli_version _dp_langhost_version
