"""Where the platform runs: a GKE cluster this stack creates (Standard or Autopilot),
an existing cluster reached through a kubeconfig, or no cluster at all (render)."""

from __future__ import annotations

import ipaddress
import re
from itertools import combinations
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import ConfigModel, DnsLabel, FieldProblem, check

_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
_KMS_KEY = re.compile(r"^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,-]+$")

# GKE's published SLA for a zonal Standard cluster requires this many nodes.
ZONAL_SLA_MIN_NODES = 3


def is_zone(location: str) -> bool:
    return bool(_ZONE.fullmatch(location))


def region_of(location: str) -> str:
    """The region of a region or zone (europe-west1-b -> europe-west1)."""
    return location.rsplit("-", 1)[0] if is_zone(location) else location


def _location(value: str) -> str:
    if not (_REGION.fullmatch(value) or _ZONE.fullmatch(value)):
        raise ValueError(f"{value!r} is neither a GCP region (europe-west1) nor a zone (europe-west1-b)")
    return value


def _region(value: str) -> str:
    if not _REGION.fullmatch(value):
        raise ValueError(f"{value!r} is not a GCP region like europe-west1")
    return value


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        network = None
    if not isinstance(network, ipaddress.IPv4Network) or "/" not in value:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block like 10.0.0.0/24 (no host bits set)")
    return value


def _kms_key(value: str) -> str:
    if not _KMS_KEY.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a Cloud KMS key name "
            "(projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>)"
        )
    return value


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5 or not all(_CRON_FIELD.fullmatch(field) for field in fields):
        raise ValueError(f"{value!r} is not a five-field cron schedule like '0 3 * * *'")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
Location = Annotated[str, AfterValidator(_location)]
Region = Annotated[str, AfterValidator(_region)]
KmsKey = Annotated[str, AfterValidator(_kms_key)]
Cron = Annotated[str, AfterValidator(_cron)]
# A google.protobuf.Duration in seconds, as the GKE API takes it ("300s", "1.5s").
Duration = Annotated[str, Field(pattern=r"^[0-9]+(\.[0-9]{1,9})?s$")]
# GKE names (clusters, node pools) are DNS labels of at most 40 characters that start with a letter.
GkeName = Annotated[DnsLabel, Field(max_length=40, pattern=r"^[a-z]")]


class AuthorizedNetwork(ConfigModel):
    cidr: Cidr
    name: str = Field(min_length=1)


class NetworkConfig(ConfigModel):
    """VPC-native networking. With `create` the stack makes the VPC and subnet with
    secondary ranges; otherwise it uses existing ones by name (or self link, for a
    Shared VPC)."""

    create: bool = True
    network: str = "delivery-platform"
    subnetwork: str = "delivery-platform-nodes"
    nodes_cidr: Cidr = "10.10.0.0/20"
    pods_range_name: str = "pods"
    pods_cidr: Cidr = "10.20.0.0/14"
    services_range_name: str = "services"
    services_cidr: Cidr = "10.24.0.0/20"
    # Control-plane peering range for private clusters; must be a /28.
    master_cidr: Cidr = "172.16.0.32/28"
    # With `create`: a Cloud Router and Cloud NAT, because private nodes have no
    # external address and could not pull images from registries outside Google.
    cloud_nat: bool = True

    @model_validator(mode="after")
    def _ranges(self) -> NetworkConfig:
        problems = []
        if not self.master_cidr.endswith("/28"):
            problems.append(FieldProblem("masterCidr", f"must be a /28 block, got {self.master_cidr}"))
        ranges = {
            "nodesCidr": self.nodes_cidr,
            "podsCidr": self.pods_cidr,
            "servicesCidr": self.services_cidr,
            "masterCidr": self.master_cidr,
        }
        for (key_a, cidr_a), (key_b, cidr_b) in combinations(ranges.items(), 2):
            if ipaddress.ip_network(cidr_a).overlaps(ipaddress.ip_network(cidr_b)):
                problems.append(FieldProblem(key_b, f"{cidr_b} overlaps {key_a} {cidr_a}"))
        if self.pods_range_name == self.services_range_name:
            problems.append(FieldProblem("servicesRangeName", "must differ from podsRangeName"))
        check(problems)
        return self


class Taint(ConfigModel):
    key: str = Field(min_length=1)
    value: str = ""
    effect: Literal["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"] = "NO_SCHEDULE"


class SurgeUpgrade(ConfigModel):
    """Nodes are replaced in place: up to maxSurge extra nodes are added and up to
    maxUnavailable are drained at a time. Cheap; a bad upgrade is only undone by
    another upgrade."""

    strategy: Literal["surge"] = "surge"
    max_surge: int = Field(default=1, ge=0, le=100)
    max_unavailable: int = Field(default=0, ge=0, le=100)

    @model_validator(mode="after")
    def _progresses(self) -> SurgeUpgrade:
        check(
            [FieldProblem("maxSurge", "maxSurge and maxUnavailable cannot both be 0: the upgrade could never progress")]
            if self.max_surge == 0 and self.max_unavailable == 0
            else []
        )
        return self


class BlueGreenUpgrade(ConfigModel):
    """A whole new (green) set of nodes is created, the old (blue) nodes are drained
    in batches, and blue is kept for poolSoak so a bad upgrade is rolled back by
    moving the pods back. Needs quota for twice the pool while it runs."""

    strategy: Literal["blue-green"]
    # Share of the blue nodes drained per batch.
    batch_percentage: float = Field(default=0.25, gt=0, le=1)
    batch_soak: Duration = "300s"
    pool_soak: Duration = "3600s"


NodeUpgrade = Annotated[SurgeUpgrade | BlueGreenUpgrade, Field(discriminator="strategy")]


class NodePoolConfig(ConfigModel):
    """A separately managed node pool; its nodes are always hardened (COS_CONTAINERD,
    shielded with secure boot, GKE metadata server, auto-repair and auto-upgrade)."""

    name: GkeName
    machine_type: str = "e2-standard-4"
    # Per zone, as the GKE API counts them.
    min_nodes: int = Field(default=1, ge=0, le=1000)
    max_nodes: int = Field(default=3, ge=1, le=1000)
    # Nodes per zone when the pool is created (default: minNodes); later the autoscaler decides.
    initial_nodes: int | None = Field(default=None, ge=0, le=1000)
    spot: bool = False
    disk_size_gb: int = Field(default=100, ge=10, le=65536)
    disk_type: Literal["pd-standard", "pd-balanced", "pd-ssd"] = "pd-balanced"
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    upgrade: NodeUpgrade = Field(default_factory=SurgeUpgrade)

    @model_validator(mode="after")
    def _sizes(self) -> NodePoolConfig:
        problems = []
        if self.min_nodes > self.max_nodes:
            problems.append(FieldProblem("minNodes", f"{self.min_nodes} is greater than maxNodes {self.max_nodes}"))
        if self.initial_nodes is not None and not self.min_nodes <= self.initial_nodes <= self.max_nodes:
            problems.append(FieldProblem("initialNodes", "must lie between minNodes and maxNodes"))
        check(problems)
        return self

    @property
    def initial_node_count(self) -> int:
        return self.min_nodes if self.initial_nodes is None else self.initial_nodes


class BackupConfig(ConfigModel):
    """Backup for GKE: one BackupPlan and a RestorePlan for the selected namespaces."""

    enabled: bool = True
    location: Region | None = None  # defaults to the cluster's region
    # Exactly one of schedule (cron) or rpoMinutes drives the backups.
    schedule: Cron | None = "0 3 * * *"
    rpo_minutes: int | None = Field(default=None, ge=60, le=86400)
    retention_days: int = Field(default=30, ge=1, le=365)
    delete_lock_days: int = Field(default=0, ge=0, le=90)
    namespaces: list[DnsLabel] = Field(default_factory=list)  # empty: every namespace
    include_secrets: bool = True
    include_volume_data: bool = True
    # Cloud KMS key for the backed-up Kubernetes objects (they include Secrets); default: Google-managed.
    encryption_key: KmsKey | None = None
    # What a restore does with namespaced objects that already exist in the cluster;
    # the default never overwrites live objects (DELETE_AND_RESTORE rolls a namespace back).
    restore_mode: Literal[
        "FAIL_ON_CONFLICT",
        "DELETE_AND_RESTORE",
        "MERGE_SKIP_ON_CONFLICT",
        "MERGE_REPLACE_VOLUME_ON_CONFLICT",
        "MERGE_REPLACE_ON_CONFLICT",
    ] = "FAIL_ON_CONFLICT"

    @model_validator(mode="after")
    def _one_trigger(self) -> BackupConfig:
        problems = []
        if (self.schedule is None) == (self.rpo_minutes is None):
            problems.append(FieldProblem("schedule", "set exactly one of schedule (cron) or rpoMinutes"))
        if self.delete_lock_days > self.retention_days:
            problems.append(FieldProblem("deleteLockDays", "cannot exceed retentionDays"))
        # Backup for GKE keeps at most 360 RPO intervals.
        if self.rpo_minutes is not None and self.retention_days * 1440 > 360 * self.rpo_minutes:
            problems.append(
                FieldProblem(
                    "retentionDays",
                    f"{self.retention_days} days is more than 360 backups of rpoMinutes {self.rpo_minutes}",
                )
            )
        check(problems)
        return self


class _GkeCommon(ConfigModel):
    project: str = Field(min_length=6, max_length=30, pattern=r"^[a-z][-a-z0-9]*[a-z0-9]$")
    # A region (europe-west1) makes a regional cluster, a zone (europe-west1-b) a zonal one.
    location: Location
    name: GkeName = "delivery-platform"
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    # The control plane only gets a private endpoint: Pulumi must then run inside the VPC.
    private_endpoint: bool = False
    # Who may reach the control plane; empty: nobody outside the VPC.
    master_authorized_networks: list[AuthorizedNetwork] = Field(default_factory=list)
    # Cloud KMS key for application-layer Secrets encryption; the GKE service agent
    # (service-<project number>@container-engine-robot) needs encrypter/decrypter on it.
    database_encryption_key: KmsKey | None = None
    binary_authorization: bool = True
    deletion_protection: bool = True
    backup: BackupConfig = Field(default_factory=BackupConfig)

    @property
    def region(self) -> str:
        return region_of(self.location)

    @property
    def workload_pool(self) -> str:
        return f"{self.project}.svc.id.goog"

    @property
    def backup_location(self) -> str:
        return self.backup.location or self.region


class GkeStandardConfig(_GkeCommon):
    kind: Literal["gke-standard"]
    node_pools: list[NodePoolConfig] = Field(default_factory=lambda: [NodePoolConfig(name="general")], min_length=1)

    def sla_warning(self) -> str | None:
        if not is_zone(self.location):
            return None
        smallest = sum(pool.min_nodes for pool in self.node_pools)
        if smallest >= ZONAL_SLA_MIN_NODES:
            return None
        return (
            f"cluster.location {self.location} is a zone and the node pools can shrink to "
            f"{smallest} node(s): GKE's 99.5% zonal SLA needs at least {ZONAL_SLA_MIN_NODES} nodes"
        )

    @model_validator(mode="after")
    def _unique_pools(self) -> GkeStandardConfig:
        names = [pool.name for pool in self.node_pools]
        check(
            [
                FieldProblem(f"nodePools[{i}].name", f"duplicate node pool name {name!r}")
                for i, name in enumerate(names)
                if name in names[:i]
            ]
        )
        return self


class GkeAutopilotConfig(_GkeCommon):
    kind: Literal["gke-autopilot"]
    # Accepted only to explain why it is wrong, together with every other problem.
    node_pools: Any = None

    @model_validator(mode="after")
    def _autopilot_rules(self) -> GkeAutopilotConfig:
        problems = []
        if is_zone(self.location):
            problems.append(
                FieldProblem("location", f"Autopilot clusters are regional only; {self.location!r} is a zone")
            )
        if self.node_pools is not None:
            problems.append(
                FieldProblem(
                    "nodePools",
                    "Autopilot clusters have no node pools (Google manages the nodes); "
                    "remove nodePools or use kind gke-standard",
                )
            )
        check(problems)
        return self


class KubeconfigCluster(ConfigModel):
    """An existing cluster; credentials come from the kubeconfig file."""

    kind: Literal["kubeconfig"]
    path: str | None = None  # default: $KUBECONFIG / ~/.kube/config
    context: str | None = None


class RenderCluster(ConfigModel):
    """No cluster: every Kubernetes object is written as YAML under outputDir."""

    kind: Literal["render"]
    output_dir: str = "build/manifests"


ClusterConfig = Annotated[
    GkeStandardConfig | GkeAutopilotConfig | KubeconfigCluster | RenderCluster,
    Field(discriminator="kind"),
]
