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
