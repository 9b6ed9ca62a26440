"""A hardened GKE cluster, Standard or Autopilot: its network, a dedicated node
identity, separately managed node pools (Standard), Backup for GKE, and the
Kubernetes provider that every other component deploys through."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import yaml

from .backup import GkeBackup
from .config import GkeAutopilotConfig, GkeStandardConfig, NodePoolConfig
from .config.cluster import BlueGreenUpgrade

GkeConfig = GkeStandardConfig | GkeAutopilotConfig

# The nodes' own identity only writes logs and metrics and pulls images; workloads
# get their own Google identities through Workload Identity, never the node's.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
# Google's recommendation: the broad scope, with access decided by the IAM roles above.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
LOGGING_COMPONENTS = ("SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER")
MONITORING_COMPONENTS = ("SYSTEM_COMPONENTS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER")
# kubectl and the Kubernetes provider get short-lived tokens from gcloud's credentials
# through this plugin, so no long-lived credential is ever written into the kubeconfig.
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
AUTH_PLUGIN_INSTALL_HINT = (
    "Install gke-gcloud-auth-plugin: "
    "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin"
)


class GkeCluster(pulumi.ComponentResource):
    """A private, VPC-native GKE cluster with Workload Identity, Dataplane V2, Binary
    Authorization and shielded COS nodes. `provider` is the Kubernetes provider for it;
    it waits for the node pools, so nothing is deployed to a cluster without nodes.
    `protect` sets Pulumi protect on the resources whose loss loses data (the cluster
    and the backup plan)."""

    cluster: gcp.container.Cluster
    node_service_account: gcp.serviceaccount.Account
    node_pools: list[gcp.container.NodePool]
    backup: GkeBackup | None
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ca_certificate: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self,
        name: str,
        config: GkeConfig,
        protect: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("delivery-platform:gke:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        network, subnetwork, egress = self._network(name, config)
        self.node_service_account, node_roles = self._node_identity(name, config)
        email = self.node_service_account.email

        autopilot = isinstance(config, GkeAutopilotConfig)
        mode_args = _autopilot_args(email) if autopilot else _standard_args(email)
        self.cluster = gcp.container.Cluster(
            f"{name}-cluster",
            name=config.name,
            project=config.project,
            location=config.location,
            network=network,
            subnetwork=subnetwork,
            networking_mode="VPC_NATIVE",
            ip_allocation_policy={
                "cluster_secondary_range_name": config.network.pods_range_name,
                "services_secondary_range_name": config.network.services_range_name,
            },
            private_cluster_config={
                "enable_private_nodes": True,
                "enable_private_endpoint": config.private_endpoint,
                "master_ipv4_cidr_block": config.network.master_cidr,
            },
            master_authorized_networks_config={
                "cidr_blocks": [
                    {"cidr_block": entry.cidr, "display_name": entry.name}
                    for entry in config.master_authorized_networks
                ],
                "gcp_public_cidrs_access_enabled": False,
            },
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            enable_legacy_abac=False,
            workload_identity_config={"workload_pool": config.workload_pool},
            release_channel={"channel": config.release_channel},
            binary_authorization={
                "evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE" if config.binary_authorization else "DISABLED"
            },
            database_encryption=(
                {"state": "ENCRYPTED", "key_name": config.database_encryption_key}
                if config.database_encryption_key
                else None
            ),
            # Dataplane V2 enforces NetworkPolicy itself; the Calico addon is neither needed nor allowed with it.
            datapath_provider="ADVANCED_DATAPATH",
            gateway_api_config={"channel": "CHANNEL_STANDARD"},
            logging_config={"enable_components": list(LOGGING_COMPONENTS)},
            monitoring_config={
                "enable_components": list(MONITORING_COMPONENTS),
                "managed_prometheus": {"enabled": True},
            },
            addons_config={"gke_backup_agent_config": {"enabled": config.backup.enabled}},
            deletion_protection=config.deletion_protection,
            **mode_args,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=protect,
                # The nodes need their roles before they register, or they cannot log or pull.
                depends_on=node_roles,
                # Standard: nodeConfig only shapes the default pool, which is removed at
                # creation; GKE later reports another pool's config there, and a diff on
                # it would replace the whole cluster.
                ignore_changes=[] if autopilot else ["nodeConfig", "initialNodeCount"],
            ),
        )
        self.node_pools = (
            [self._node_pool(name, config, pool, email) for pool in config.node_pools]
            if isinstance(config, GkeStandardConfig)
            else []
        )
        self.backup = (
            GkeBackup(
                f"{name}-backup",
                config.backup,
                cluster_id=self.cluster.id,
                cluster_name=config.name,
                project=config.project,
                location=config.backup_location,
                protect=protect,
                opts=child,
            )
            if config.backup.enabled
            else None
        )

        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.ca_certificate = self.cluster.master_auth.apply(lambda auth: auth.cluster_ca_certificate or "")
        context = f"gke_{config.project}_{config.location}_{config.name}"
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.endpoint, self.ca_certificate).apply(
                lambda parts: render_kubeconfig(context, parts[0], parts[1])
            )
        )
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.node_pools, *egress]),
        )
        self.register_outputs(
            {
                "clusterName": self.cluster_name,
                "endpoint": self.endpoint,
                "caCertificate": self.ca_certificate,
                "kubeconfig": self.kubeconfig,
                "nodeServiceAccount": email,
                "provider": self.provider,
            }
        )

    def _network(
        self, name: str, config: GkeConfig
    ) -> tuple[pulumi.Input[str], pulumi.Input[str], list[pulumi.Resource]]:
        """The network and subnetwork for the cluster, and what gives private nodes
        egress (empty when the network already exists and is managed elsewhere)."""
        net = config.network
        if not net.create:
            return net.network, net.subnetwork, []
        child = pulumi.ResourceOptions(parent=self)
        vpc = gcp.compute.Network(
            f"{name}-vpc",
            name=net.network,
            project=config.project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=child,
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            name=net.subnetwork,
            project=config.project,
            region=config.region,
            network=vpc.id,
            ip_cidr_range=net.nodes_cidr,
            secondary_ip_ranges=[
                {"range_name": net.pods_range_name, "ip_cidr_range": net.pods_cidr},
                {"range_name": net.services_range_name, "ip_cidr_range": net.services_cidr},
            ],
            # Private nodes reach Google APIs (Artifact Registry, logging) without NAT.
            private_ip_google_access=True,
            log_config={
                "aggregation_interval": "INTERVAL_10_MIN",
                "flow_sampling": 0.5,
                "metadata": "INCLUDE_ALL_METADATA",
            },
            opts=child,
        )
        if not net.cloud_nat:
            return vpc.name, subnet.name, []
        router = gcp.compute.Router(
            f"{name}-router",
            name=f"{net.network}-router",
            project=config.project,
            region=config.region,
            network=vpc.id,
            opts=child,
        )
        nat = gcp.compute.RouterNat(
            f"{name}-nat",
            name=f"{net.network}-nat",
            project=config.project,
            region=config.region,
            router=router.name,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            subnetworks=[{"name": subnet.id, "source_ip_ranges_to_nats": ["ALL_IP_RANGES"]}],
            log_config={"enable": True, "filter": "ERRORS_ONLY"},
            opts=child,
        )
        return vpc.name, subnet.name, [nat]

    def _node_identity(self, name: str, config: GkeConfig) -> tuple[gcp.serviceaccount.Account, list[pulumi.Resource]]:
        """A dedicated service account for the nodes instead of the Compute Engine
        default one, which holds Editor on the project."""
        child = pulumi.ResourceOptions(parent=self)
        account = gcp.serviceaccount.Account(
            f"{name}-nodes",
            # Service account ids are at most 30 characters.
            account_id=f"{config.name[:24].rstrip('-')}-nodes",
            project=config.project,
            display_name=f"GKE nodes of {config.name}",
            opts=child,
        )
        roles: list[pulumi.Resource] = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.removeprefix('roles/').replace('.', '-').lower()}",
                project=config.project,
                role=role,
                member=account.member,
                opts=child,
            )
            for role in NODE_ROLES
        ]
        return account, roles

    def _node_pool(
        self, name: str, config: GkeStandardConfig, pool: NodePoolConfig, email: pulumi.Output[str]
    ) -> gcp.container.NodePool:
        return gcp.container.NodePool(
            f"{name}-{pool.name}",
            name=pool.name,
            project=config.project,
            location=config.location,
            cluster=self.cluster.name,
            initial_node_count=pool.initial_node_count,
            autoscaling={
                "min_node_count": pool.min_nodes,
                "max_node_count": pool.max_nodes,
                # Spot capacity is wherever it is free; balancing zones would mean more preemptions.
                "location_policy": "ANY" if pool.spot else "BALANCED",
            },
            management={"auto_repair": True, "auto_upgrade": True},
            upgrade_settings=_upgrade_settings(pool),
            node_config=gcp.container.NodePoolNodeConfigArgs(
                **_hardened_node_settings(email),
                machine_type=pool.machine_type,
                disk_size_gb=pool.disk_size_gb,
                disk_type=pool.disk_type,
                spot=pool.spot,
                labels=pool.labels,
                taints=[
                    gcp.container.NodePoolNodeConfigTaintArgs(key=taint.key, value=taint.value, effect=taint.effect)
                    for taint in pool.taints
                ],
            ),
            # Only the size at creation; afterwards the autoscaler owns the node count,
            # and a change here would otherwise replace the pool.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["initialNodeCount"]),
        )


def _hardened_node_settings(service_account: pulumi.Input[str]) -> dict[str, Any]:
    """Node settings every Standard node gets, including the short-lived default pool."""
    return {
        "service_account": service_account,
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        "image_type": "COS_CONTAINERD",
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        # Pods see the GKE metadata server (Workload Identity), never the node's credentials.
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "metadata": {"disable-legacy-endpoints": "true"},
    }


def _standard_args(service_account: pulumi.Output[str]) -> dict[str, Any]:
    return {
        "enable_shielded_nodes": True,
        "enable_intranode_visibility": True,
        # Node pools are separate resources so they can change without touching the
        # cluster; GKE still needs one node to create it, in a pool removed right away.
        "remove_default_node_pool": True,
        "initial_node_count": 1,
        "node_config": gcp.container.ClusterNodeConfigArgs(**_hardened_node_settings(service_account)),
    }


def _autopilot_args(service_account: pulumi.Output[str]) -> dict[str, Any]:
    """Autopilot manages nodes, shielded nodes and intranode visibility itself (the API
    rejects those fields); only the identity of its nodes is ours to choose."""
    return {
        "enable_autopilot": True,
        "cluster_autoscaling": {
            "auto_provisioning_defaults": {
                "service_account": service_account,
                "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
            }
        },
    }


def _upgrade_settings(pool: NodePoolConfig) -> gcp.container.NodePoolUpgradeSettingsArgs:
    upgrade = pool.upgrade
    if isinstance(upgrade, BlueGreenUpgrade):
        return gcp.container.NodePoolUpgradeSettingsArgs(
            strategy="BLUE_GREEN",
            blue_green_settings=gcp.container.NodePoolUpgradeSettingsBlueGreenSettingsArgs(
                node_pool_soak_duration=upgrade.pool_soak,
                standard_rollout_policy=gcp.container.NodePoolUpgradeSettingsBlueGreenSettingsStandardRolloutPolicyArgs(
                    batch_percentage=upgrade.batch_percentage,
                    batch_soak_duration=upgrade.batch_soak,
                ),
            ),
        )
    return gcp.container.NodePoolUpgradeSettingsArgs(
        strategy="SURGE", max_surge=upgrade.max_surge, max_unavailable=upgrade.max_unavailable
    )


def render_kubeconfig(context: str, endpoint: str, ca_certificate: str) -> str:
    """A kubeconfig for one cluster whose user runs gke-gcloud-auth-plugin."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": context,
                    "cluster": {"server": f"https://{endpoint}", "certificate-authority-data": ca_certificate},
                }
            ],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "users": [
                {
                    "name": context,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": AUTH_PLUGIN,
                            "installHint": AUTH_PLUGIN_INSTALL_HINT,
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )
