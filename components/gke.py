"""A hardened GKE cluster, Standard or Autopilot: its network, a dedicated node
identity, separately managed node pools (Standard), the project's Binary
Authorization policy, maintenance windows and upgrade notifications, Backup for GKE,
and the Kubernetes provider that every other component deploys through."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import yaml

from .backup import GkeBackup
from .binary_authorization import admission_policy
from .config import GkeAutopilotConfig, GkeConfig, GkeStandardConfig, MaintenanceConfig, NodePoolConfig
from .config.maintenance import rfc3339
from .config.nodes import BlueGreenUpgrade

# The nodes' own identity only writes logs and metrics and pulls images; workloads
# get their own Google identities through Workload Identity, never the node's.
NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
# Google's recommendation: the broad scope, with access decided by the IAM roles above.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
# GKE takes enableComponents as the complete set, so a list must repeat what GKE turns
# on by default or it switches that off. Logging: system components and workloads are
# the default; the control plane's logs are added.
LOGGING_COMPONENTS = ("SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER", "SCHEDULER", "CONTROLLER_MANAGER")
# Monitoring: GKE's default packages for new clusters (read in the GKE docs, 2026-11:
# system metrics; kube state metrics since 1.29.2 on Standard and 1.27.4 on Autopilot;
# cAdvisor/Kubelet since 1.29.3-gke.1093000; JobSet since 1.32.1-gke.1357001; DCGM,
# which only collects on GPU nodes) plus the control plane's metrics.
MONITORING_COMPONENTS = (
    "SYSTEM_COMPONENTS",
    "STORAGE",
    "HPA",
    "POD",
    "DAEMONSET",
    "DEPLOYMENT",
    "STATEFULSET",
    "JOBSET",
    "KUBELET",
    "CADVISOR",
    "DCGM",
    "APISERVER",
    "SCHEDULER",
    "CONTROLLER_MANAGER",
)
# kubectl and the Kubernetes provider get short-lived tokens through this plugin, so no
# long-lived credential is ever written into the kubeconfig. With application default
# credentials it needs no gcloud login: it uses the identity the GCP provider uses
# (GOOGLE_APPLICATION_CREDENTIALS, Workload Identity Federation, the metadata server).
AUTH_PLUGIN = "gke-gcloud-auth-plugin"
AUTH_PLUGIN_ARGS = ("--use_application_default_credentials",)
AUTH_PLUGIN_INSTALL_HINT = (
    "Install gke-gcloud-auth-plugin: "
    "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin"
)


class GkeCluster(pulumi.ComponentResource):
    """A private, VPC-native GKE cluster with Workload Identity, Dataplane V2, Binary
    Authorization under a policy the stack manages, and shielded COS nodes, reached
    through its DNS control-plane endpoint. `provider` is the Kubernetes provider for
    it (its kubeconfig authenticates with application default credentials); it waits
    for the node pools, so nothing is deployed to a cluster without nodes. `protect`
    sets Pulumi protect on the resources whose loss loses data (the cluster and the
    backup plan)."""

    cluster: gcp.container.Cluster
    admission_policy: gcp.binaryauthorization.Policy | None
    notification_topic: pulumi.Input[str] | None
    node_service_account: gcp.serviceaccount.Account
    node_pools: list[gcp.container.NodePool]
    backup: GkeBackup | None
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    # The control plane's private endpoint, for egress policies of in-cluster API clients.
    api_server_cidrs: pulumi.Output[list[str]]
    ca_certificate: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(
        self,
        name: str,
        config: GkeConfig,
        protect: bool = False,
        admitted_images: Sequence[str] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`admitted_images`: image name patterns the Binary Authorization policy admits
        besides the config's own (the stack's registry)."""
        super().__init__("delivery-platform:gke:GkeCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        network, subnetwork, egress = self._network(name, config)
        self.node_service_account, node_roles = self._node_identity(name, config)
        email = self.node_service_account.email
        admission = config.binary_authorization
        self.admission_policy = (
            admission_policy(
                f"{name}-admission", admission, project=config.project, admitted=admitted_images, opts=child
            )
            if admission.evaluates and admission.manage_policy
            else None
        )
        self.notification_topic = self._notification_topic(name, config)

        autopilot = isinstance(config, GkeAutopilotConfig)
        mode_args = (
            _autopilot_args(email, config.node_boot_disk_kms_key)
            if autopilot
            else _standard_args(email, config.node_boot_disk_kms_key)
        )
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
            control_plane_endpoints_config={
                "dns_endpoint_config": {"allow_external_traffic": config.dns_endpoint},
                "ip_endpoints_config": {"enabled": config.ip_endpoints},
            },
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=config.private_endpoint if config.ip_endpoints else None,
                master_ipv4_cidr_block=config.network.master_cidr,
            ),
            master_authorized_networks_config=(
                gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                    cidr_blocks=[
                        gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                            cidr_block=entry.cidr, display_name=entry.name
                        )
                        for entry in config.master_authorized_networks
                    ],
                    gcp_public_cidrs_access_enabled=False,
                )
                if config.ip_endpoints
                else None
            ),
            master_auth={"client_certificate_config": {"issue_client_certificate": False}},
            enable_legacy_abac=False,
            workload_identity_config={"workload_pool": config.workload_pool},
            release_channel={"channel": config.release_channel},
            maintenance_policy=_maintenance_policy(config.maintenance),
            notification_config=_notifications(self.notification_topic, config.maintenance),
            binary_authorization={
                "evaluation_mode": "PROJECT_SINGLETON_POLICY_ENFORCE" if admission.evaluates else "DISABLED"
            },
            database_encryption=(
                {"state": "ENCRYPTED", "key_name": config.database_encryption_key}
                if config.database_encryption_key
                else None
            ),
            authenticator_groups_config=(
                gcp.container.ClusterAuthenticatorGroupsConfigArgs(security_group=config.rbac_security_group)
                if config.rbac_security_group
                else None
            ),
            # Workload configuration auditing; GKE's workload vulnerability scanning was
            # removed (standard tier July 2025, advanced June 2026): images are scanned
            # in Artifact Registry instead.
            security_posture_config={"mode": "BASIC", "vulnerability_mode": "VULNERABILITY_DISABLED"},
            # Dataplane V2 enforces NetworkPolicy itself; the Calico addon is neither needed nor allowed with it.
            datapath_provider="ADVANCED_DATAPATH",
            gateway_api_config={"channel": "CHANNEL_STANDARD"},
            logging_config={"enable_components": list(LOGGING_COMPONENTS)},
            monitoring_config={
                "enable_components": list(MONITORING_COMPONENTS),
                "managed_prometheus": {"enabled": True},
            },
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gke_backup_agent_config=gcp.container.ClusterAddonsConfigGkeBackupAgentConfigArgs(
                    enabled=config.backup.enabled
                ),
                # Autopilot runs NodeLocal DNSCache itself (and refuses the field).
                dns_cache_config=None
                if autopilot
                else gcp.container.ClusterAddonsConfigDnsCacheConfigArgs(enabled=True),
            ),
            deletion_protection=config.deletion_protection,
            **mode_args,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=protect,
                # The nodes need their roles before they register, or they cannot log or
                # pull, and the policy the cluster enforces must exist before its pods.
                depends_on=[*node_roles, *([self.admission_policy] if self.admission_policy else [])],
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
        # Where pods reach the control plane (the `kubernetes` Service forwards to it).
        self.api_server_cidrs = self.cluster.private_cluster_config.apply(
            lambda private: [f"{private.private_endpoint}/32"] if private and private.private_endpoint else []
        )
        self.ca_certificate = self.cluster.master_auth.apply(lambda auth: auth.cluster_ca_certificate or "")
        if config.dns_endpoint:
            # Served with a publicly trusted certificate: the kubeconfig needs no CA.
            self.endpoint = self.cluster.control_plane_endpoints_config.apply(_dns_endpoint)
            ca_data: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        else:
            self.endpoint = self.cluster.endpoint
            ca_data = self.ca_certificate
        context = f"gke_{config.project}_{config.location}_{config.name}"
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.endpoint, ca_data).apply(
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

    def _notification_topic(self, name: str, config: GkeConfig) -> pulumi.Input[str] | None:
        """Where GKE publishes upgrade notifications: the configured topic, or one the
        stack creates in the cluster's project."""
        notifications = config.maintenance.notifications
        if not notifications.enabled:
            return None
        if notifications.topic:
            return notifications.topic
        topic = gcp.pubsub.Topic(
            f"{name}-notifications",
            name=f"{config.name}-gke-notifications",
            project=config.project,
            # Undelivered notifications are kept a week, time enough to attach a subscriber.
            message_retention_duration="604800s",
            opts=pulumi.ResourceOptions(parent=self),
        )
        return topic.id

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
                **_hardened_node_settings(email, config.node_boot_disk_kms_key),
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


def _hardened_node_settings(service_account: pulumi.Input[str], boot_disk_key: str | None) -> dict[str, Any]:
    """Node settings every Standard node gets, including the short-lived default pool."""
    return {
        "service_account": service_account,
        **({"boot_disk_kms_key": boot_disk_key} if boot_disk_key else {}),
        "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
        "image_type": "COS_CONTAINERD",
        "shielded_instance_config": {"enable_secure_boot": True, "enable_integrity_monitoring": True},
        # Pods see the GKE metadata server (Workload Identity), never the node's credentials.
        "workload_metadata_config": {"mode": "GKE_METADATA"},
        "metadata": {"disable-legacy-endpoints": "true"},
    }


def _standard_args(service_account: pulumi.Output[str], boot_disk_key: str | None) -> dict[str, Any]:
    return {
        "enable_shielded_nodes": True,
        "enable_intranode_visibility": True,
        # Internal passthrough load balancers only target nodes that run their pods.
        "enable_l4_ilb_subsetting": True,
        # Node pools are separate resources so they can change without touching the
        # cluster; GKE still needs one node to create it, in a pool removed right away.
        "remove_default_node_pool": True,
        "initial_node_count": 1,
        "node_config": gcp.container.ClusterNodeConfigArgs(**_hardened_node_settings(service_account, boot_disk_key)),
    }


def _autopilot_args(service_account: pulumi.Output[str], boot_disk_key: str | None) -> dict[str, Any]:
    """Autopilot manages nodes, shielded nodes and intranode visibility itself (the API
    rejects those fields); only the identity of its nodes is ours to choose."""
    return {
        "enable_autopilot": True,
        "cluster_autoscaling": {
            "auto_provisioning_defaults": {
                "service_account": service_account,
                "oauth_scopes": [CLOUD_PLATFORM_SCOPE],
                **({"boot_disk_kms_key": boot_disk_key} if boot_disk_key else {}),
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


def _maintenance_policy(config: MaintenanceConfig) -> gcp.container.ClusterMaintenancePolicyArgs | None:
    window = config.window
    if window is None and not config.exclusions:
        return None
    recurring = None
    if window is not None:
        start, end = window.first
        recurring = gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
            start_time=start, end_time=end, recurrence=window.recurrence
        )
    return gcp.container.ClusterMaintenancePolicyArgs(
        recurring_window=recurring,
        maintenance_exclusions=[
            gcp.container.ClusterMaintenancePolicyMaintenanceExclusionArgs(
                exclusion_name=exclusion.name,
                start_time=rfc3339(exclusion.start),
                end_time=rfc3339(exclusion.end),
                exclusion_options=gcp.container.ClusterMaintenancePolicyMaintenanceExclusionExclusionOptionsArgs(
                    scope=exclusion.scope
                ),
            )
            for exclusion in config.exclusions
        ]
        or None,
    )


def _notifications(
    topic: pulumi.Input[str] | None, config: MaintenanceConfig
) -> gcp.container.ClusterNotificationConfigArgs | None:
    if topic is None:
        return None
    event_types = config.notifications.event_types
    return gcp.container.ClusterNotificationConfigArgs(
        pubsub=gcp.container.ClusterNotificationConfigPubsubArgs(
            enabled=True,
            topic=topic,
            filter=(
                gcp.container.ClusterNotificationConfigPubsubFilterArgs(event_types=list(event_types))
                if event_types
                else None
            ),
        )
    )


def _dns_endpoint(endpoints: gcp.container.outputs.ClusterControlPlaneEndpointsConfig | None) -> str:
    endpoint = endpoints.dns_endpoint_config.endpoint if endpoints and endpoints.dns_endpoint_config else None
    return endpoint or ""


def render_kubeconfig(context: str, endpoint: str, ca_certificate: str | None) -> str:
    """A kubeconfig for one cluster whose user runs gke-gcloud-auth-plugin with
    application default credentials. Without a CA the server's certificate is checked
    against the system's trusted roots (the DNS endpoint's)."""
    cluster: dict[str, str] = {"server": f"https://{endpoint}"}
    if ca_certificate:
        cluster["certificate-authority-data"] = ca_certificate
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": cluster}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
            "current-context": context,
            "users": [
                {
                    "name": context,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": AUTH_PLUGIN,
                            "args": list(AUTH_PLUGIN_ARGS),
                            "installHint": AUTH_PLUGIN_INSTALL_HINT,
                            "provideClusterInfo": True,
                        }
                    },
                }
            ],
        },
        sort_keys=False,
    )
