#!/usr/bin/env bash
# Builds gcp-validator (toolchain/modules/gcp-validator): terraform-provider-google's own
# input validation for the GKE resources, which pulumi-gcp runs in its Check. The e2e
# test tests/e2e/test_gcp_provider_validation.py feeds it what the components register
# under mocks. Prints the binary's path on stdout; warm runs only check that it exists,
# a cold build takes about a minute of CPU.
# shellcheck source=toolchain/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MODULE_DIR="$TOOLCHAIN_DIR/modules/gcp-validator"
PROVIDER_MODULE=github.com/hashicorp/terraform-provider-google
# Keyed by the provider version and the validator's own source.
source_key=$(sha256sum "$MODULE_DIR/main.go" | cut -c1-12)
dest="$CACHE_ROOT/gcp-validator/$TERRAFORM_PROVIDER_GOOGLE_VERSION-$source_key/gcp-validator"
if [[ ! -x "$dest" ]]; then
  check_wrapper_pin "$MODULE_DIR" "$PROVIDER_MODULE" "$TERRAFORM_PROVIDER_GOOGLE_MODULE_VERSION"
  go_build "$MODULE_DIR" . "$dest" ""
fi
printf '%s\n' "$dest"
