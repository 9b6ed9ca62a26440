#!/usr/bin/env bash
# Ensures the real Pulumi engine can run this project offline: the Pulumi CLI, the Python
# language host (plus its pulumi-language-python-exec shim) and the resource provider
# plugins, all built from the Go module proxy at the versions pinned in
# toolchain/versions.env, cached outside the repository and keyed by version.
#
# Usage:
#   toolchain/engine.sh        # build/install whatever is missing; seconds when warm
#   source toolchain/env.sh    # PATH, PULUMI_HOME, backend, passphrase for `pulumi ...`
#
# Progress and build timings go to stderr (timings are also appended to
# $DP_ENGINE_ROOT/build-times.log). Nothing is printed on stdout.
#
# Why build at all: get.pulumi.com and the plugin registries are unreachable from the
# registry-only networks this project is developed and tested on; the Go module proxy is
# reachable. Why wrapper modules: the upstream main modules replace their siblings with
# relative paths, which `go install pkg@version` refuses, and go.sum files committed next
# to the wrappers stand in for the unreachable checksum database.
# shellcheck source=toolchain/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=toolchain/env.sh
source "$TOOLCHAIN_DIR/env.sh"

MODULES_DIR="$TOOLCHAIN_DIR/modules"
CLI_MODULE_DIR="$MODULES_DIR/pulumi-cli"
LANGHOST_MODULE_DIR="$MODULES_DIR/pulumi-language-python"
KUBERNETES_MODULE_DIR="$MODULES_DIR/pulumi-resource-kubernetes"

SDK_MODULE=github.com/pulumi/pulumi/sdk/v3
PKG_MODULE=github.com/pulumi/pulumi/pkg/v3
LANGHOST_MODULE=github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3
KUBERNETES_MODULE=github.com/pulumi/pulumi-kubernetes/provider/v4
# Both the CLI and the language host report this variable as their version; unstamped,
# `pulumi version` prints nothing and the Python automation API refuses the CLI.
VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

BUILD_ROOT="$DP_ENGINE_ROOT/build"

# True when version $1 >= version $2 (leading "v" ignored).
version_at_least() {
  [[ "$(printf '%s\n%s\n' "${2#v}" "${1#v}" | sort -V | head -n1)" == "${2#v}" ]]
}

# Sets PULUMI_BIN to the CLI this project runs: the cached build of PULUMI_VERSION, else a
# pulumi already on PATH that is at least PULUMI_MIN_VERSION, else a fresh build.
ensure_cli() {
  local cached="$DP_PULUMI_CLI_DIR/pulumi" found version
  if [[ -x "$cached" ]]; then
    version=$("$cached" version)
    [[ "$version" == "$PULUMI_VERSION" ]] ||
      die "$cached reports '$version', expected $PULUMI_VERSION; delete $DP_PULUMI_CLI_DIR to rebuild"
    PULUMI_BIN=$cached
    return
  fi
  if found=$(command -v pulumi); then
    version=$("$found" version 2>/dev/null || true)
    if [[ -n "$version" ]] && version_at_least "$version" "$PULUMI_MIN_VERSION"; then
      log "using $found ($version, at least $PULUMI_MIN_VERSION) instead of building $PULUMI_VERSION"
      PULUMI_BIN=$found
      return
    fi
    log "ignoring $found: it reports '${version:-no version}', older than $PULUMI_MIN_VERSION"
  fi
  check_wrapper_pin "$CLI_MODULE_DIR" "$PKG_MODULE" "$PULUMI_VERSION"
  check_wrapper_pin "$CLI_MODULE_DIR" "$SDK_MODULE" "$PULUMI_VERSION"
  go_build "$CLI_MODULE_DIR" "$PKG_MODULE/cmd/pulumi" "$cached" "-X $VERSION_VAR=$PULUMI_VERSION"
  PULUMI_BIN=$cached
}

# A pulumi distribution also bundles pulumi-resource-pulumi-python, the plugin that
# serves Python dynamic providers (pulumi.dynamic). It is a shell script in the sdk/v3
# module zip, copied next to the CLI built here, where Pulumi looks for bundled plugins.
ensure_dynamic_provider_plugin() {
  local dest="$DP_PULUMI_CLI_DIR/pulumi-resource-pulumi-python" src
  [[ "$PULUMI_BIN" == "$DP_PULUMI_CLI_DIR/pulumi" && ! -x "$dest" ]] || return 0
  src="$(cd "$CLI_MODULE_DIR" && go mod download "$SDK_MODULE" &&
    go list -m -f '{{.Dir}}' "$SDK_MODULE")/python/dist/pulumi-resource-pulumi-python"
  [[ -f "$src" ]] || die "pulumi-resource-pulumi-python not found at $src"
  install -m 0755 "$src" "$dest"
}

# The language host runs `pulumi-language-python-exec` from its own directory. A pulumi
# distribution bundles a host next to the CLI and Pulumi finds it there, so one is only
# built when the CLI in use has none. For the CLI built here, the host is linked into the
# CLI's directory: Pulumi treats a host there as bundled and stays quiet, whereas one found
# elsewhere on PATH draws a warning in every update's diagnostics (and would shadow a
# bundled one). For a foreign CLI without a host, a marker file tells env.sh to put the
# host's own directory on PATH.
ensure_language_host() {
  local dir=$DP_PULUMI_LANGHOST_DIR host exec_src ours=false
  local marker="$DP_PULUMI_LANGHOST_DIR/.on-path"
  [[ "$PULUMI_BIN" == "$DP_PULUMI_CLI_DIR/pulumi" ]] && ours=true
  if [[ $ours == false && -x "$(dirname "$(readlink -f "$PULUMI_BIN")")/pulumi-language-python" ]]; then
    rm -f "$marker"
    return
  fi
  host="$dir/pulumi-language-python"
  if [[ ! -x "$host" || ! -x "$dir/pulumi-language-python-exec" ]]; then
    check_wrapper_pin "$LANGHOST_MODULE_DIR" "$LANGHOST_MODULE" "$PULUMI_LANGUAGE_PYTHON_MODULE_VERSION"
    check_wrapper_pin "$LANGHOST_MODULE_DIR" "$SDK_MODULE" "$PULUMI_LANGUAGE_PYTHON_VERSION"
    check_wrapper_pin "$LANGHOST_MODULE_DIR" "$PKG_MODULE" "$PULUMI_LANGUAGE_PYTHON_VERSION"
    go_build "$LANGHOST_MODULE_DIR" "$LANGHOST_MODULE" "$host" "-X $VERSION_VAR=$PULUMI_LANGUAGE_PYTHON_VERSION"
    # The exec shim is a Python script shipped in the sdk/v3 module zip (the same release
    # as the host), not a Go package, so it is copied rather than built.
    exec_src="$(cd "$LANGHOST_MODULE_DIR" && go mod download "$SDK_MODULE" &&
      go list -m -f '{{.Dir}}' "$SDK_MODULE")/python/cmd/pulumi-language-python-exec"
    [[ -f "$exec_src" ]] || die "pulumi-language-python-exec not found at $exec_src"
    install -m 0755 "$exec_src" "$dir/pulumi-language-python-exec"
  fi
  if [[ $ours == true ]]; then
    # The host finds its exec shim next to its resolved path, so a symlink is enough.
    ln -sfn "$host" "$DP_PULUMI_CLI_DIR/pulumi-language-python"
    rm -f "$marker"
  else
    touch "$marker"
  fi
}

plugin_installed() {
  local name=$1 version=$2
  [[ -x "$PULUMI_HOME/plugins/resource-$name-v$version/pulumi-resource-$name" ]]
}

install_plugin() {
  local name=$1 version=$2 binary=$3
  "$PULUMI_BIN" plugin install resource "$name" "v$version" --file "$binary" >&2
  plugin_installed "$name" "$version" || die "pulumi plugin install did not register $name v$version"
}

# provider/cmd/pulumi-resource-kubernetes embeds schema-embed.json and
# terraform-mapping-embed.json, which upstream's `go generate` (generate.go) derives from
# the committed schema.json/terraform-mapping.json by stamping the version in. The
# generated files are not in the module zip, and the module cache is read-only (and
# `go build -overlay` refuses to replace files in it), so the main package's files are
# staged into a copy of the wrapper module, generated there, and built from there.
ensure_kubernetes_plugin() {
  local version=$PULUMI_KUBERNETES_VERSION stage src
  plugin_installed kubernetes "$version" && return
  check_wrapper_pin "$KUBERNETES_MODULE_DIR" "$KUBERNETES_MODULE" "$PULUMI_KUBERNETES_MODULE_VERSION"
  stage="$BUILD_ROOT/kubernetes-$version"
  rm -rf "$stage"
  mkdir -p "$stage"
  (cd "$KUBERNETES_MODULE_DIR" && go mod download "$KUBERNETES_MODULE")
  src="$(cd "$KUBERNETES_MODULE_DIR" && go list -m -f '{{.Dir}}' "$KUBERNETES_MODULE")/cmd/pulumi-resource-kubernetes"
  cp "$KUBERNETES_MODULE_DIR/go.mod" "$KUBERNETES_MODULE_DIR/go.sum" "$stage/"
  cp "$src"/*.go "$src"/*.json "$stage/"
  chmod -R u+w "$stage"
  local started=$SECONDS
  (cd "$stage" && VERSION="$version" go generate .)
  record_timing "kubernetes schema-embed.json (go generate)" $((SECONDS - started))
  go_build "$stage" . "$stage/pulumi-resource-kubernetes" \
    "-X $KUBERNETES_MODULE/pkg/version.Version=$version"
  install_plugin kubernetes "$version" "$stage/pulumi-resource-kubernetes"
  # The plugin now lives in PULUMI_HOME; the staged copy would only double the disk use.
  rm -rf "$stage"
}

main() {
  mkdir -p "$DP_ENGINE_ROOT" "$PULUMI_HOME"
  # Two concurrent runs (a developer and a test, say) would otherwise both build and race
  # on the same outputs.
  exec 9>"$DP_ENGINE_ROOT/.lock"
  flock 9
  local started=$SECONDS
  ensure_cli
  ensure_dynamic_provider_plugin
  ensure_language_host
  ensure_kubernetes_plugin
  log "pulumi $("$PULUMI_BIN" version) at $PULUMI_BIN; plugins in $PULUMI_HOME/plugins:" \
    "kubernetes v$PULUMI_KUBERNETES_VERSION; ready in $((SECONDS - started))s" \
    "(source toolchain/env.sh to use it)"
}

main "$@"
