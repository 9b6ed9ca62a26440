"""Where the platform runs: a GKE cluster this stack creates (Standard or Autopilot),
an existing cluster reached through a kubeconfig, or no cluster at all (render)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from .admission import BinaryAuthorizationConfig
from .backup import BackupConfig
from .base import ConfigModel, FieldProblem, check, repeated
from .gcp import (
    Cidr,
    GkeName,
    KmsKey,
    Location,
    ProjectId,
    is_non_internet_range,
    is_zone,
    kms_key_location,
    region_of,
)
from .maintenance import MaintenanceConfig
from .network import NetworkConfig
from .nodes import NodePoolConfig

# GKE's published SLA for a zonal Standard cluster requires this many nodes.
ZONAL_SLA_MIN_NODES = 3
# Kubernetes RBAC can name Google Groups that are members of this group of the domain.
RbacSecurityGroup = Annotated[str, Field(pattern=r"^gke-security-groups@[a-z0-9][a-z0-9.-]*\.[a-z]{2,}$")]


class AuthorizedNetwork(ConfigModel):
    cidr: Cidr
    name: str = Field(min_length=1)


class _GkeCommon(ConfigModel):
    project: ProjectId
    # A region (europe-west1) makes a regional cluster, a zone (europe-west1-b) a zonal one.
    location: Location
    name: GkeName = "delivery-platform"
    release_channel: Literal["RAPID", "REGULAR", "STABLE", "EXTENDED"] = "REGULAR"
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    # The DNS-based control-plane endpoint accepts requests from anywhere and lets
    # IAM decide (container.clusters.connect): CI runners and Jenkins agents reach it
    # without a VPN or an authorized range. The kubeconfig and the stack's Kubernetes
    # provider use it.
    dns_endpoint: bool = True
    # The IP-based endpoints; without them only the DNS endpoint exists.
    ip_endpoints: bool = True
    # The IP-based endpoint has no public address: only the VPC and networks connected
    # to it (VPN, Interconnect, peering) reach it.
    private_endpoint: bool = True
    # Who may use the IP-based endpoints besides the cluster's own nodes.
    master_authorized_networks: list[AuthorizedNetwork] = Field(default_factory=list)
    # Cloud KMS key for application-layer Secrets encryption; the GKE service agent
    # (service-<project number>@container-engine-robot) needs encrypter/decrypter on it.
    database_encryption_key: KmsKey | None = None
    # Cloud KMS key for the nodes' boot disks (default: Google-managed encryption); the
    # Compute Engine service agent needs encrypter/decrypter on it.
    node_boot_disk_kms_key: KmsKey | None = None
    # Google Groups for RBAC: RoleBindings may then name members of this group's groups.
    rbac_security_group: RbacSecurityGroup | None = None
    binary_authorization: BinaryAuthorizationConfig = Field(default_factory=BinaryAuthorizationConfig)
    maintenance: MaintenanceConfig = Field(default_factory=MaintenanceConfig)
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

    @property
    def public_ip_endpoint(self) -> bool:
        return self.ip_endpoints and not self.private_endpoint

    @model_validator(mode="after")
    def _access_and_keys(self) -> _GkeCommon:
        check(self._access_problems() + self._key_problems() + self._notification_problems())
        return self

    def _access_problems(self) -> list[FieldProblem]:
        problems = []
        if not self.dns_endpoint and not self.ip_endpoints:
            problems.append(
                FieldProblem("ipEndpoints", "with dnsEndpoint off too, nothing could reach the control plane")
            )
        for i, network in enumerate(self.master_authorized_networks):
            if not self.ip_endpoints:
                problems.append(FieldProblem(f"masterAuthorizedNetworks[{i}]", "has no effect: ipEndpoints is off"))
            elif self.public_ip_endpoint and is_non_internet_range(network.cidr):
                problems.append(
                    FieldProblem(
                        f"masterAuthorizedNetworks[{i}].cidr",
                        f"{network.cidr} is a private range, whose clients never reach the control plane's public "
                        "address; set privateEndpoint (they then use the private one through the VPC) or list the "
                        "public address they leave from",
                    )
                )
        return problems

    def _key_problems(self) -> list[FieldProblem]:
        backup = self.backup
        problems = []
        if self.database_encryption_key and backup.enabled and backup.include_secrets and backup.encryption_key is None:
            problems.append(
                FieldProblem(
                    "backup.encryptionKey",
                    "is required: the cluster encrypts Secrets with databaseEncryptionKey and backups include "
                    "them, so backups need a Cloud KMS key too (or set includeSecrets: false)",
                )
            )
        if backup.encryption_key and kms_key_location(backup.encryption_key) != self.backup_location:
            problems.append(
                FieldProblem(
                    "backup.encryptionKey",
                    f"is in {kms_key_location(backup.encryption_key)}; it must be in the backup location "
                    f"{self.backup_location}",
                )
            )
        return problems

    def _notification_problems(self) -> list[FieldProblem]:
        topic = self.maintenance.notifications.topic
        if topic and topic.split("/")[1] != self.project:
            return [
                FieldProblem(
                    "maintenance.notifications.topic",
                    f"must be a topic of the cluster's project {self.project} (GKE publishes only there)",
                )
            ]
        return []

    def warnings(self) -> list[str]:
        """Allowed but risky settings."""
        if self.dns_endpoint:
            return []
        if self.private_endpoint:
            return [
                "cluster.dnsEndpoint is off and the control plane has only a private address: `pulumi up` must run "
                "inside the VPC (or a network connected to it) to deploy the Kubernetes objects"
            ]
        if not self.master_authorized_networks:
            return [
                "cluster.dnsEndpoint is off and masterAuthorizedNetworks is empty: only the cluster's nodes reach "
                "the control plane, so `pulumi up` cannot deploy the Kubernetes objects"
            ]
        return []


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

    def warnings(self) -> list[str]:
        sla = self.sla_warning()
        return [*([sla] if sla else []), *super().warnings()]

    @model_validator(mode="after")
    def _unique_pools(self) -> GkeStandardConfig:
        names = [pool.name for pool in self.node_pools]
        check(repeated("nodePools[{}].name", names, lambda name: f"duplicate node pool name {name!r}"))
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


GkeConfig = GkeStandardConfig | GkeAutopilotConfig
ClusterConfig = Annotated[
    GkeStandardConfig | GkeAutopilotConfig | KubeconfigCluster | RenderCluster,
    Field(discriminator="kind"),
]
