"""Where the platform runs: a GKE cluster this stack creates (Standard or Autopilot),
an existing cluster reached through a kubeconfig, or no cluster at all (render)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import ConfigModel, CrossFieldError, DnsLabel, FieldProblem, check

_REGION = re.compile(r"^[a-z]+-[a-z]+[0-9]+$")
_ZONE = re.compile(r"^[a-z]+-[a-z]+[0-9]+-[a-z]$")
_CIDR = re.compile(r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$")

# GKE's published SLA for a zonal Standard cluster requires this many nodes.
ZONAL_SLA_MIN_NODES = 3


def is_zone(location: str) -> bool:
    return bool(_ZONE.fullmatch(location))


def _location(value: str) -> str:
    if not (_REGION.fullmatch(value) or _ZONE.fullmatch(value)):
        raise ValueError(f"{value!r} is neither a GCP region (europe-west1) nor a zone (europe-west1-b)")
    return value


def _cidr(value: str) -> str:
    if not _CIDR.fullmatch(value):
        raise ValueError(f"{value!r} is not an IPv4 CIDR block like 10.0.0.0/24")
    return value


Cidr = Annotated[str, AfterValidator(_cidr)]
Location = Annotated[str, AfterValidator(_location)]


class AuthorizedNetwork(ConfigModel):
    cidr: Cidr
    name: str = Field(min_length=1)


class NetworkConfig(ConfigModel):
    """VPC-native networking. With `create` the stack makes the VPC and subnet with
    secondary ranges; otherwise it uses existing ones by name."""

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

    @model_validator(mode="after")
    def _master_is_28(self) -> NetworkConfig:
        check(
            [FieldProblem("masterCidr", f"must be a /28 block, got {self.master_cidr}")]
            if not self.master_cidr.endswith("/28")
            else []
        )
        return self


class Taint(ConfigModel):
    key: str = Field(min_length=1)
    value: str = ""
    effect: Literal["NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"] = "NO_SCHEDULE"


class NodePoolConfig(ConfigModel):
    name: DnsLabel
    machine_type: str = "e2-standard-4"
    # Per zone, as the GKE API counts them.
    min_nodes: int = Field(default=1, ge=0, le=1000)
    max_nodes: int = Field(default=3, ge=1, le=1000)
    initial_nodes: int | None = Field(default=None, ge=0, le=1000)
    spot: bool = False
    disk_size_gb: int = Field(default=100, ge=10, le=65536)
    disk_type: Literal["pd-standard", "pd-balanced", "pd-ssd"] = "pd-balanced"
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    upgrade_strategy: Literal["surge", "blue-green"] = "surge"
    max_surge: int = Field(default=1, ge=0)
    max_unavailable: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _sizes(self) -> NodePoolConfig:
        problems = []
        if self.min_nodes > self.max_nodes:
            problems.append(FieldProblem("minNodes", f"{self.min_nodes} is greater than maxNodes {self.max_nodes}"))
        if self.initial_nodes is not None and not self.min_nodes <= self.initial_nodes <= self.max_nodes:
            problems.append(FieldProblem("initialNodes", "must lie between minNodes and maxNodes"))
        if self.upgrade_strategy == "surge" and self.max_surge == 0 and self.max_unavailable == 0:
            problems.append(FieldProblem("maxSurge", "maxSurge and maxUnavailable cannot both be 0"))
        check(problems)
        return self


class BackupConfig(ConfigModel):
    """Backup for GKE: one BackupPlan and a RestorePlan for the selected namespaces."""

    enabled: bool = True
    location: str | None = None  # defaults to the cluster's region
    # Exactly one of schedule (cron) or rpoMinutes drives the backups.
    schedule: str | None = "0 3 * * *"
    rpo_minutes: int | None = Field(default=None, ge=60, le=86400)
    retention_days: int = Field(default=30, ge=1, le=365)
    delete_lock_days: int = Field(default=0, ge=0, le=90)
    namespaces: list[DnsLabel] = Field(default_factory=list)  # empty: every namespace
    include_secrets: bool = True
    include_volume_data: bool = True

    @model_validator(mode="after")
    def _one_trigger(self) -> BackupConfig:
        problems = []
        if (self.schedule is None) == (self.rpo_minutes is None):
            problems.append(FieldProblem("schedule", "set exactly one of schedule (cron) or rpoMinutes"))
        if self.delete_lock_days > self.retention_days:
            problems.append(FieldProblem("deleteLockDays", "cannot exceed retentionDays"))
        check(problems)
        return self


class _GkeCommon(ConfigModel):
    project: str = Field(min_length=6, max_length=30)
    # A region (europe-west1) makes a regional cluster, a zone (europe-west1-b) a zonal one.
    location: Location
    name: DnsLabel = "delivery-platform"
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    private_endpoint: bool = False
    master_authorized_networks: list[AuthorizedNetwork] = Field(default_factory=list)
    # Cloud KMS key for application-layer Secrets encryption.
    database_encryption_key: str | None = None
    binary_authorization: bool = True
    deletion_protection: bool = True
    backup: BackupConfig = Field(default_factory=BackupConfig)


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
    node_pools: None = None

    @model_validator(mode="before")
    @classmethod
    def _no_node_pools(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("nodePools", data.get("node_pools")) is not None:
            raise CrossFieldError(
                [
                    FieldProblem(
                        "nodePools",
                        "Autopilot clusters have no node pools (Google manages the nodes); "
                        "remove nodePools or use kind gke-standard",
                    )
                ]
            )
        return data

    @model_validator(mode="after")
    def _regional(self) -> GkeAutopilotConfig:
        check(
            [FieldProblem("location", f"Autopilot clusters are regional only; {self.location!r} is a zone")]
            if is_zone(self.location)
            else []
        )
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
