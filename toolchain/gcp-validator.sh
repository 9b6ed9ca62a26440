#!/usr/bin/env bash
# Builds gcp-validator (toolchain/modules/gcp-validator): terraform-provider-google's own
# input validation for the GKE resources, which pulumi-gcp runs in its Check. The
# e2e test tests/e2e/test_gcp_provider_validation.py feeds it what the components
# register under mocks. Prints the binary's path on stdout; seconds when warm, about a
# minute of CPU cold.
#
# The module proxy serves neither pulumi-gcp's provider module nor
# terraform-provider-google-beta; the wrapper's go.mod names the GA provider version used.
# shellcheck source=toolchain/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

module_dir="$TOOLCHAIN_DIR/modules/gcp-validator"
# Keyed by the sources, so a changed pin or validator never reuses an old binary.
key=$(cat "$module_dir/go.mod" "$module_dir/go.sum" "$module_dir/main.go" | sha256sum | cut -c1-16)
dest="$CACHE_ROOT/gcp-validator/$key/gcp-validator"
if [[ ! -x "$dest" ]]; then
  mkdir -p "$(dirname "$dest")"
  log "building gcp-validator (terraform-provider-google's container, gkebackup, binaryauthorization, pubsub)"
  (cd "$module_dir" && nice -n 10 go build -ldflags "-s -w" -o "$dest.partial" .)
  mv -f "$dest.partial" "$dest"
fi
printf '%s\n' "$dest"
