#!/usr/bin/env bash
# Builds the local Kubernetes control plane the e2e tests run (tests/e2e/controlplane.py):
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, plus kwok's
# Stage config and the Gateway API CRDs, all from the Go module proxy at the versions
# pinned in toolchain/versions.env.
#
# Usage: toolchain/controlplane.sh
#   Prints the directory holding the binaries on stdout (progress goes to stderr),
#   which is what DELIVERY_PLATFORM_CONTROLPLANE_BIN expects. Warm runs only check
#   that the versioned outputs exist.
# shellcheck source=toolchain/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CP_ROOT="$CACHE_ROOT/controlplane"
MODULES_DIR="$TOOLCHAIN_DIR/modules"
# The layout below is mirrored by tests/e2e/controlplane.py; keep the two in step.
ETCD_DIR="$CP_ROOT/etcd-$ETCD_VERSION"
KUBERNETES_DIR="$CP_ROOT/kubernetes-$KUBERNETES_VERSION"
KWOK_DIR="$CP_ROOT/kwok-$KWOK_VERSION"
GATEWAY_API_DIR="$CP_ROOT/gateway-api-$GATEWAY_API_VERSION"
# One directory per combination of pins, so a bump never leaves a stale mix behind.
BIN_DIR="$CP_ROOT/bin/kubernetes-$KUBERNETES_VERSION+etcd-$ETCD_VERSION+kwok-$KWOK_VERSION+gateway-api-$GATEWAY_API_VERSION"

# kubectl runs the Argo CD sync hooks of the GitOps e2e tests (tests/e2e/hooks.py).
KUBERNETES_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

build_etcd() {
  [[ -x "$ETCD_DIR/etcd" ]] && return
  log "building etcd $ETCD_VERSION"
  check_wrapper_pin "$MODULES_DIR/etcd" go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
  go_build "$MODULES_DIR/etcd" go.etcd.io/etcd/server/v3 "$ETCD_DIR/etcd" ''
}

build_kubernetes() {
  local version=${KUBERNETES_VERSION#v} command missing=()
  for command in "${KUBERNETES_COMMANDS[@]}"; do
    [[ -x "$KUBERNETES_DIR/$command" ]] || missing+=("$command")
  done
  ((${#missing[@]})) || return 0
  log "building Kubernetes $KUBERNETES_VERSION: ${missing[*]}"
  check_wrapper_pin "$MODULES_DIR/kubernetes" k8s.io/kubernetes "$KUBERNETES_VERSION"
  # An unstamped build reports v0.0.0-master, and clients that gate features on the
  # server version (pulumi-kubernetes among them) then misjudge the cluster. Both
  # packages carry the version, as in the upstream release build (hack/lib/version.sh).
  local -a stamp=()
  local key value package
  for key in gitVersion gitMajor gitMinor gitCommit gitTreeState buildDate; do
    case $key in
      gitVersion) value=$KUBERNETES_VERSION ;;
      gitMajor) value=${version%%.*} ;;
      gitMinor) value=$(cut -d. -f2 <<<"$version") ;;
      # Empty rather than the source default, an unexpanded git-archive placeholder:
      # the module proxy does not record which commit the tag points at.
      gitCommit) value= ;;
      gitTreeState) value=clean ;;
      buildDate) value=$KUBERNETES_BUILD_DATE ;;
    esac
    for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      stamp+=("-X=$package.$key=$value")
    done
  done
  # Same tags as the upstream release build: notest drops test-only code paths,
  # grpcnotrace drops x/net/trace from gRPC.
  for command in "${missing[@]}"; do
    go_build "$MODULES_DIR/kubernetes" "k8s.io/kubernetes/cmd/$command" "$KUBERNETES_DIR/$command" \
      "${stamp[*]}" -tags=selinux,notest,grpcnotrace
  done
}

build_kwok() {
  [[ -x "$KWOK_DIR/kwok" && -s "$KWOK_DIR/stages.yaml" ]] && return
  log "building kwok $KWOK_VERSION"
  check_wrapper_pin "$MODULES_DIR/kwok" sigs.k8s.io/kwok "$KWOK_VERSION"
  # kwok's version is a constant in its source, so nothing needs stamping.
  go_build "$MODULES_DIR/kwok" sigs.k8s.io/kwok/cmd/kwok "$KWOK_DIR/kwok" ''

  # The kwok binary ships no stages of its own (kwokctl injects them), and without
  # stages nodes never turn Ready and pods never run. Take the "fast" set that kwokctl
  # uses from the same module version, so stages and controller always match.
  local source
  source=$(cd "$MODULES_DIR/kwok" && go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)/kustomize/stage
  local -a stages=(
    node/fast/node-initialize.yaml
    node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
    pod/fast/pod-ready.yaml
    pod/fast/pod-complete.yaml
    pod/fast/pod-delete.yaml
  )
  local stage
  {
    for stage in "${stages[@]}"; do
      [[ -f "$source/$stage" ]] || die "kwok $KWOK_VERSION has no stage $stage"
      printf -- '---\n'
      cat "$source/$stage"
    done
  } >"$KWOK_DIR/stages.yaml.partial"
  mv -f "$KWOK_DIR/stages.yaml.partial" "$KWOK_DIR/stages.yaml"
}

fetch_gateway_api() {
  [[ -d "$GATEWAY_API_DIR/standard" ]] && return
  log "fetching Gateway API $GATEWAY_API_VERSION CRDs"
  local info dir sum
  # Outside any module, so the download is not recorded in (or limited by) a go.mod.
  info=$(cd "$CP_ROOT" && GOFLAGS='' go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION")
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")
  sum=$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' <<<"$info")
  [[ "$sum" == "$GATEWAY_API_SUM" ]] ||
    die "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION has checksum '$sum', versions.env pins '$GATEWAY_API_SUM'"
  local staging="$GATEWAY_API_DIR/standard.partial"
  rm -rf "$staging"
  mkdir -p "$staging"
  cp "$dir"/config/crd/standard/*.yaml "$staging/"
  # Module cache files are read-only; the copies need not be.
  chmod u+w "$staging"/*.yaml
  mv "$staging" "$GATEWAY_API_DIR/standard"
}

link_bin_dir() {
  mkdir -p "$BIN_DIR"
  ln -sfn "$ETCD_DIR/etcd" "$BIN_DIR/etcd"
  local command
  for command in "${KUBERNETES_COMMANDS[@]}"; do
    ln -sfn "$KUBERNETES_DIR/$command" "$BIN_DIR/$command"
  done
  ln -sfn "$KWOK_DIR/kwok" "$BIN_DIR/kwok"
  ln -sfn "$KWOK_DIR/stages.yaml" "$BIN_DIR/kwok-stages.yaml"
  ln -sfn "$GATEWAY_API_DIR/standard" "$BIN_DIR/gateway-api-crds"
}

main() {
  mkdir -p "$CP_ROOT"
  # Two concurrent set-ups (a developer and an IDE test run) must not race on the outputs.
  exec 9>"$CP_ROOT/.lock"
  flock 9
  build_etcd
  build_kubernetes
  build_kwok
  fetch_gateway_api
  link_bin_dir
  printf '%s\n' "$BIN_DIR"
}

# On one line, so bash has read the exit before main runs: a script edited while a
# long build is under way must not resume reading at a shifted offset.
main "$@"; exit
