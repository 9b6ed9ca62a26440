"""The delivery-platform CrossGuard pack: `pulumi preview --policy-pack policies`.

Serves the policies over gRPC to the engine; the rules live in rules/ so tests can
import them without starting a server.
"""

import gc

from pulumi_policy import EnforcementLevel, PolicyPack
from rules import PACK_NAME, all_policies, cache

# Each resource's properties are converted once, not once per policy (rules/cache.py).
cache.install()
gc.set_threshold(*cache.COLLECTOR_THRESHOLDS)
PolicyPack(
    name=PACK_NAME,
    policies=all_policies(),
    # Each policy sets its own level; this only applies to one that does not.
    enforcement_level=EnforcementLevel.ADVISORY,
    description=(
        "Kubernetes and GKE rules for the container delivery platform: pinned images, namespace isolation, "
        "Pod Security Standards, zero-downtime workloads, GKE hardening, and whole-stack consistency checks."
    ),
    provider="kubernetes",
    tags=["kubernetes", "gke", "pod-security", "isolation"],
)
