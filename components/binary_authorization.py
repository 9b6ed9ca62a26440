"""The project's Binary Authorization policy, which decides the images a cluster that
evaluates it admits. A project has exactly one; the stack that owns the project's
clusters manages it."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_gcp as gcp

from .config import BinaryAuthorizationConfig

ENFORCEMENT = {"enforce": "ENFORCED_BLOCK_AND_AUDIT_LOG", "dry-run": "DRYRUN_AUDIT_LOG_ONLY"}


def admission_policy(
    name: str,
    config: BinaryAuthorizationConfig,
    *,
    project: str,
    admitted: Sequence[str],
    opts: pulumi.ResourceOptions,
) -> gcp.binaryauthorization.Policy:
    """Images matching `admitted` and the config's `admit` patterns run; Google's GKE
    system images run through the global policy; any other image needs an attestation
    by the configured attestors, or is denied when there are none."""
    patterns = list(dict.fromkeys([*admitted, *config.admit]))
    attested = bool(config.attestors)
    return gcp.binaryauthorization.Policy(
        name,
        project=project,
        description="Managed by delivery-platform: the stack's registries, GKE system images, attested images.",
        global_policy_evaluation_mode="ENABLE",
        admission_whitelist_patterns=[
            gcp.binaryauthorization.PolicyAdmissionWhitelistPatternArgs(name_pattern=pattern) for pattern in patterns
        ],
        default_admission_rule=gcp.binaryauthorization.PolicyDefaultAdmissionRuleArgs(
            evaluation_mode="REQUIRE_ATTESTATION" if attested else "ALWAYS_DENY",
            enforcement_mode=ENFORCEMENT[config.mode],
            require_attestations_bies=list(config.attestors) if attested else None,
        ),
        opts=opts,
    )
