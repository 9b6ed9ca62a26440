"""Running a GKE cluster: maintenance windows, Cloud Logging and Monitoring, a
regional control plane, nodes spread over zones, node versions within GKE's skew,
NodeLocal DNSCache and internal load balancer subsetting.

Most are choices rather than defects and ship as advisory; a prod policy config can
make them mandatory. The pool and version checks need the cluster together with its
node pools, so they are stack rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pulumi_policy import EnforcementLevel, Policy, Severity

from .framework import Config, Resource, Rule, Violation, resource_policy, stack_policy
from .gke import CLUSTER, Gke, GkeCheck, attached_pools, gke_rule, is_zone
from .props import UNKNOWN, Unknown, flag, get, items, strings, text

UPGRADES_URL = "https://cloud.google.com/kubernetes-engine/docs/concepts/maintenance-windows-and-exclusions"
MAINTENANCE_WINDOWS = ("recurringWindow", "dailyMaintenanceWindow", "recurringMaintenanceWindow")
# GKE supports nodes at most this many minor versions behind the control plane, and
# never ahead of it.
MAX_NODE_MINOR_SKEW = 2
_VERSION = re.compile(r"^v?(\d+)\.(\d+)")


def _check_maintenance_window(gke: Gke, config: Config) -> Iterator[str]:
    policy = get(gke.props, "maintenancePolicy")
    if policy is UNKNOWN:
        return
    windows = [get(policy, key) for key in MAINTENANCE_WINDOWS]
    if all(window is None for window in windows):
        yield (
            f"{gke.describe()} has no maintenance window: GKE may upgrade the control plane and nodes at any time; "
            "set maintenancePolicy.recurringWindow"
        )


def _check_logging_monitoring(gke: Gke, config: Config) -> Iterator[str]:
    for key, what in (("loggingService", "Cloud Logging"), ("monitoringService", "Cloud Monitoring")):
        if text(gke.props, key) == "none":
            yield f"{gke.describe()} turns {what} off ({key}: none)"
    for key, what in (("loggingConfig", "logs"), ("monitoringConfig", "metrics")):
        listed = get(gke.props, key, "enableComponents")
        components = strings(gke.props, key, "enableComponents")
        if isinstance(listed, list) and components is not UNKNOWN and "SYSTEM_COMPONENTS" not in components:
            yield (
                f"{gke.describe()} collects no system {what} ({key}.enableComponents lacks SYSTEM_COMPONENTS); "
                "GKE takes the list as the complete set"
            )


def _standard_cluster(gke: Gke) -> bool:
    return gke.is_cluster and gke.autopilot is False


def _check_regional_control_plane(gke: Gke, config: Config) -> Iterator[str]:
    location = text(gke.props, "location")
    if _standard_cluster(gke) and is_zone(location):
        yield (
            f"{gke.describe()} has one control-plane replica in {location}: the API is down during its upgrades and "
            "zone outages; a regional location runs three"
        )


def _check_node_local_dns_cache(gke: Gke, config: Config) -> Iterator[str]:
    enabled = flag(gke.props, "addonsConfig", "dnsCacheConfig", "enabled")
    if _standard_cluster(gke) and enabled is not UNKNOWN and enabled is not True:
        yield (
            f"{gke.describe()} sends every DNS query to kube-dns; enable NodeLocal DNSCache "
            "(addonsConfig.dnsCacheConfig.enabled)"
        )


def _check_ilb_subsetting(gke: Gke, config: Config) -> Iterator[str]:
    enabled = flag(gke.props, "enableL4IlbSubsetting")
    if _standard_cluster(gke) and enabled is not UNKNOWN and enabled is not True:
        yield (
            f"{gke.describe()} puts every node behind each internal passthrough load balancer; set "
            "enableL4IlbSubsetting (it cannot be turned off again)"
        )


def _clusters(resources: Sequence[Resource]) -> list[Gke]:
    return [Gke(resource) for resource in resources if resource.type == CLUSTER]


def _pool_name(pool: dict[str, object], index: int) -> str:
    name = text(pool, "name")
    return name if isinstance(name, str) else f"#{index}"


def _check_pool_zones(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    for cluster in _clusters(resources):
        if cluster.autopilot is not False:
            continue
        pools = attached_pools(resources, cluster)
        cluster_zones = items(cluster.props, "nodeLocations")
        location = text(cluster.props, "location")
        if pools is UNKNOWN or cluster_zones is UNKNOWN or location is UNKNOWN:
            continue
        assert isinstance(pools, list)
        for index, pool in enumerate(pools):
            zones = items(pool, "nodeLocations")
            if zones is UNKNOWN:
                continue
            effective = zones or cluster_zones or ([location] if is_zone(location) else [])
            if len(effective) == 1:
                yield Violation(
                    f"node pool {_pool_name(pool, index)} of {cluster.describe()} runs in one zone only "
                    f"({effective[0]}): a zone outage takes all its nodes; list several zones in nodeLocations",
                    cluster.resource.urn,
                )


def _minor(version: object) -> int | Unknown | None:
    if isinstance(version, Unknown):
        return version
    match = _VERSION.match(version) if isinstance(version, str) else None
    return int(match[2]) if match else None


def _check_version_skew(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    for cluster in _clusters(resources):
        control_plane = _minor(get(cluster.props, "minMasterVersion"))
        pools = attached_pools(resources, cluster)
        if not isinstance(control_plane, int) or pools is UNKNOWN:
            continue
        assert isinstance(pools, list)
        pinned = [("the default node pool", get(cluster.props, "nodeVersion"))]
        pinned += [(f"node pool {_pool_name(pool, i)}", get(pool, "version")) for i, pool in enumerate(pools)]
        for where, version in pinned:
            nodes = _minor(version)
            if not isinstance(nodes, int):
                continue
            if nodes > control_plane:
                problem = "is newer than the control plane"
            elif control_plane - nodes > MAX_NODE_MINOR_SKEW:
                problem = f"is more than {MAX_NODE_MINOR_SKEW} minor versions behind the control plane"
            else:
                continue
            yield Violation(
                f"{where} of {cluster.describe()} pins {version}, which {problem} "
                f"({get(cluster.props, 'minMasterVersion')}); GKE does not support that skew",
                cluster.resource.urn,
            )


def _rule(
    name: str,
    description: str,
    steps: str,
    *,
    severity: Severity = Severity.LOW,
    enforcement: EnforcementLevel = EnforcementLevel.ADVISORY,
    tags: tuple[str, ...] = ("gke", "operations"),
) -> Rule:
    return Rule(
        name=name,
        description=description,
        enforcement=enforcement,
        severity=severity,
        remediation_steps=steps,
        url=UPGRADES_URL,
        tags=tags,
    )


RESOURCE_RULES: list[tuple[Rule, GkeCheck]] = [
    (
        _rule(
            "gke-maintenance-window",
            "The cluster has a maintenance window, so upgrades happen when the team expects them.",
            "Set maintenancePolicy.recurringWindow (and exclusions for freezes).",
            severity=Severity.MEDIUM,
        ),
        _check_maintenance_window,
    ),
    (
        _rule(
            "gke-logging-monitoring",
            "Cloud Logging and Cloud Monitoring stay on, with system components.",
            "Remove loggingService/monitoringService none; keep SYSTEM_COMPONENTS in enableComponents.",
            severity=Severity.MEDIUM,
            enforcement=EnforcementLevel.MANDATORY,
        ),
        _check_logging_monitoring,
    ),
    (
        _rule(
            "gke-regional-control-plane",
            "Standard clusters have a regional (replicated) control plane.",
            "Use a region as location; keep zonal clusters for non-production.",
            severity=Severity.MEDIUM,
            tags=("gke", "reliability"),
        ),
        _check_regional_control_plane,
    ),
    (
        _rule(
            "gke-node-local-dns-cache",
            "Standard clusters run NodeLocal DNSCache.",
            "Set addonsConfig.dnsCacheConfig.enabled: true.",
        ),
        _check_node_local_dns_cache,
    ),
    (
        _rule(
            "gke-ilb-subsetting",
            "Standard clusters use GKE subsetting for internal passthrough load balancers.",
            "Set enableL4IlbSubsetting: true.",
        ),
        _check_ilb_subsetting,
    ),
]


def policies() -> list[Policy]:
    governed = frozenset({CLUSTER})
    return [
        *(resource_policy(rule, gke_rule(governed, check), resource_types=governed) for rule, check in RESOURCE_RULES),
        stack_policy(
            _rule(
                "gke-node-pool-zones",
                "Standard clusters' node pools spread over more than one zone.",
                "List several zones in the pool's (or the cluster's) nodeLocations, or use a regional cluster.",
                tags=("gke", "reliability"),
            ),
            _check_pool_zones,
        ),
        stack_policy(
            _rule(
                "gke-node-version-skew",
                (
                    f"Pinned node versions are not newer than the control plane's minMasterVersion and at most "
                    f"{MAX_NODE_MINOR_SKEW} minor versions behind it."
                ),
                "Unpin node versions (auto-upgrade follows the control plane) or upgrade them.",
                severity=Severity.MEDIUM,
                enforcement=EnforcementLevel.MANDATORY,
            ),
            _check_version_skew,
        ),
    ]
