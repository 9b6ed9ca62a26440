#!/usr/bin/env bash
# Builds Argo CD for the GitOps end-to-end tests (tests/e2e/argocd.py): the `argocd`
# multi-call binary (it runs as argocd-application-controller or argocd-repo-server when
# invoked under those names) and the CRDs of the same module version, from the Go module
# proxy at the version pinned in toolchain/versions.env. The tests also need redis-server
# and git, which scripts/setup.sh installs from Debian's packages.
#
# Usage: toolchain/argocd.sh
#   Prints the directory holding the binaries and crds/ on stdout (progress on stderr).
#   Warm runs only check that the versioned outputs exist.
# shellcheck source=toolchain/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ARGOCD_ROOT="$CACHE_ROOT/argocd"
MODULE_DIR="$TOOLCHAIN_DIR/modules/argocd"
ARGOCD_MODULE=github.com/argoproj/argo-cd/v3
# The layout below is mirrored by tests/e2e/argocd.py; keep the two in step.
OUT_DIR="$ARGOCD_ROOT/argocd-$ARGOCD_VERSION"
# The Argo CD components the tests run, each a name the multi-call binary answers to.
COMPONENTS=(argocd-application-controller argocd-repo-server)

build_argocd() {
  [[ -x "$OUT_DIR/argocd" ]] && return
  check_wrapper_pin "$MODULE_DIR" "$ARGOCD_MODULE" "$ARGOCD_VERSION"
  # Stamped as upstream's Makefile does (LDFLAGS on $(PACKAGE)=.../common); without it
  # every component reports v99.99.99 and the build date of nothing.
  local package=$ARGOCD_MODULE/common kubectl_version
  kubectl_version=$(cd "$MODULE_DIR" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' k8s.io/client-go)
  log "building Argo CD $ARGOCD_VERSION (cold: about 10 minutes on 2 cores)"
  local -a stamp=(
    "-X $package.version=${ARGOCD_VERSION#v}" "-X $package.buildDate=$ARGOCD_BUILD_DATE"
    "-X $package.gitTag=$ARGOCD_VERSION" "-X $package.gitTreeState=clean"
    "-X $package.kubectlVersion=$kubectl_version"
  )
  go_build "$MODULE_DIR" "$ARGOCD_MODULE/cmd" "$OUT_DIR/argocd" "${stamp[*]}"
}

copy_crds() {
  [[ -s "$OUT_DIR/crds/application-crd.yaml" ]] && return
  local source staging="$OUT_DIR/crds.partial"
  source=$(cd "$MODULE_DIR" && go list -m -f '{{.Dir}}' "$ARGOCD_MODULE")/manifests/crds
  rm -rf "$staging"
  mkdir -p "$staging"
  cp "$source"/*-crd.yaml "$staging/"
  # Module cache files are read-only; the copies need not be.
  chmod u+w "$staging"/*.yaml
  rm -rf "$OUT_DIR/crds"
  mv "$staging" "$OUT_DIR/crds"
}

link_components() {
  local component
  for component in "${COMPONENTS[@]}"; do
    ln -sfn argocd "$OUT_DIR/$component"
  done
}

main() {
  mkdir -p "$ARGOCD_ROOT"
  exec 9>"$ARGOCD_ROOT/.lock"
  flock 9
  (cd "$MODULE_DIR" && go mod download "$ARGOCD_MODULE")
  build_argocd
  copy_crds
  link_components
  printf '%s\n' "$OUT_DIR"
}

# On one line, so bash has read the exit before main runs (see controlplane.sh).
main "$@"; exit
