# shellcheck shell=bash
# Shared helpers for the toolchain scripts. Sourced, never executed.
# Everything built here lives in a cache outside the repository, keyed by version,
# so a warm set-up only checks that the binaries are present.
set -euo pipefail

TOOLCHAIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck disable=SC2034 # for the scripts that source this file
REPO_ROOT="$(cd "$TOOLCHAIN_DIR/.." && pwd)"
# shellcheck source=toolchain/versions.env
source "$TOOLCHAIN_DIR/versions.env"

CACHE_ROOT="${DELIVERY_PLATFORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/delivery-platform}"
export GOMODCACHE="$CACHE_ROOT/go/mod"
export GOCACHE="$CACHE_ROOT/go/build"
# A go.mod asking for a newer Go must fail loudly instead of downloading a toolchain.
export GOTOOLCHAIN=local
# The checksum database is not reachable from registry-only networks; integrity comes
# from the go.sum files committed next to each wrapper module, enforced by -mod=readonly.
export GOSUMDB=off
export GOFLAGS="-mod=readonly -trimpath"
export CGO_ENABLED=0

log() { printf '[toolchain] %s\n' "$*" >&2; }
die() { printf '[toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

# The wrapper's go.mod is what actually gets built; a version bumped in versions.env but
# not there would otherwise be cached under a key that lies about its contents.
check_wrapper_pin() {
  local module_dir=$1 module=$2 want=$3 got
  got=$(cd "$module_dir" && go list -m -f '{{.Version}}' "$module")
  [[ "$got" == "$want" ]] ||
    die "$module_dir/go.mod pins $module $got but versions.env says $want; update the wrapper (go get $module@$want && go mod tidy)"
}

# Records how long a build step took, on stderr and in $CACHE_ROOT/build-times.log.
record_timing() {
  local what=$1 seconds=$2
  log "built $what in ${seconds}s"
  mkdir -p "$CACHE_ROOT"
  printf '%s\t%s\t%ss\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$what" "$seconds" >>"$CACHE_ROOT/build-times.log"
}

# go_build MODULE_DIR PACKAGE DEST LDFLAGS [GO BUILD FLAGS...]
# Builds one package of a wrapper module into DEST, stripped, with LDFLAGS added (-X
# stamps). Writing to a temporary name and renaming keeps an interrupted build from
# looking like a finished one.
go_build() {
  local dir=$1 package=$2 dest=$3 ldflags=$4 started=$SECONDS
  shift 4
  mkdir -p "$(dirname "$dest")"
  log "building $(basename "$dest") (cold builds take minutes; later ones reuse GOCACHE)"
  (cd "$dir" && go build "$@" -ldflags "all=-s -w $ldflags" -o "$dest.partial" "$package")
  mv -f "$dest.partial" "$dest"
  record_timing "$(basename "$dest")" $((SECONDS - started))
}
