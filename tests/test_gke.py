"""The GKE cluster component under mocks: hardening on both modes, node pools, the
network, the node identity, the kubeconfig, protection in prod, the config rules,
and that the platform deploys every Kubernetes object through the cluster."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from components.config import ConfigError, GkeAutopilotConfig, GkeStandardConfig, validate_stack_config
from components.gke import GkeCluster
from components.program import load, main
from tests.conftest import ProgramRunner, mock_dns_endpoint, stack_file_config
from tests.graph import Graph

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
K8S_PROVIDER = "pulumi:providers:kubernetes"
COMPONENT = "delivery-platform:gke:GkeCluster"

BINAUTHZ_POLICY = "gcp:binaryauthorization/policy:Policy"
TOPIC = "gcp:pubsub/topic:Topic"

PROJECT_ID = "acme-platform-test"
KMS_KEY = "projects/acme-platform-test/locations/europe-west1/keyRings/gke/cryptoKeys/secrets"
BACKUP_KEY = "projects/acme-platform-test/locations/europe-west1/keyRings/gke/cryptoKeys/backups"
DISK_KEY = "projects/acme-platform-test/locations/europe-west1/keyRings/gke/cryptoKeys/disks"
# What GKE enables by default on new clusters, from the GKE docs (2026-11): system
# metrics; kube state metrics (Standard 1.29.2+, Autopilot 1.27.4+); cAdvisor/Kubelet
# (1.29.3-gke.1093000+); JobSet (1.32.1-gke.1357001+). Logs: system and workloads.
GKE_DEFAULT_METRICS = {
    "SYSTEM_COMPONENTS",
    "STORAGE",
    "HPA",
    "POD",
    "DAEMONSET",
    "DEPLOYMENT",
    "STATEFULSET",
    "CADVISOR",
    "KUBELET",
    "JOBSET",
}
GKE_DEFAULT_LOGS = {"SYSTEM_COMPONENTS", "WORKLOADS"}
CONTROL_PLANE_COMPONENTS = {"APISERVER", "SCHEDULER", "CONTROLLER_MANAGER"}
OFFICE = {"cidr": "198.51.100.0/24", "name": "office"}

# Fields the GKE API (and the provider's schema) reject when Autopilot is on: Google
# runs the nodes, shields them and turns intranode visibility on itself.
AUTOPILOT_REJECTED = (
    "enableShieldedNodes",
    "enableIntranodeVisibility",
    "removeDefaultNodePool",
    "nodeConfig",
    "nodePools",
    "networkPolicy",
    "defaultMaxPodsPerNode",
)
AUTOPILOT_REJECTED_ADDONS = ("networkPolicyConfig", "dnsCacheConfig", "statefulHaConfig")
# Roles that would give every pod on a node broad power over the project.
PRIMITIVE_ROLES = {"roles/owner", "roles/editor", "roles/viewer"}

GENERAL_POOL: dict[str, Any] = {
    "name": "general",
    "machineType": "e2-standard-8",
    "minNodes": 1,
    "maxNodes": 5,
    "initialNodes": 2,
    "diskSizeGb": 200,
    "labels": {"workload": "general"},
    "upgrade": {"strategy": "surge", "maxSurge": 2, "maxUnavailable": 1},
}
SPOT_POOL: dict[str, Any] = {
    "name": "spot-batch",
    "machineType": "n2-standard-4",
    "spot": True,
    "minNodes": 0,
    "maxNodes": 10,
    "diskType": "pd-ssd",
    "taints": [{"key": "dedicated", "value": "batch", "effect": "NO_EXECUTE"}],
    "upgrade": {"strategy": "blue-green", "batchPercentage": 0.5, "batchSoak": "120s", "poolSoak": "900s"},
}


def gke(kind: str, **overrides: Any) -> dict[str, Any]:
    """A cluster section as a stack file holds it."""
    raw: dict[str, Any] = {
        "kind": kind,
        "project": PROJECT_ID,
        "location": "europe-west1",
        "masterAuthorizedNetworks": [OFFICE],
    }
    if kind == "gke-standard":
        raw["nodePools"] = [GENERAL_POOL, SPOT_POOL]
    return raw | overrides


def cluster_config(raw: dict[str, Any]) -> GkeStandardConfig | GkeAutopilotConfig:
    cluster = validate_stack_config({"cluster": raw}).cluster
    assert isinstance(cluster, GkeStandardConfig | GkeAutopilotConfig)
    return cluster


def build(
    run_program: ProgramRunner, raw: dict[str, Any], protect: bool = False
) -> tuple[Graph, GkeStandardConfig | GkeAutopilotConfig, dict[str, str]]:
    """Runs a GkeCluster for the raw cluster section; also returns the component's
    kubeconfig, endpoint and CA outputs."""
    config = cluster_config(raw)
    outputs: dict[str, str] = {}

    def program() -> pulumi.Output[None]:
        cluster = GkeCluster("gke", config, protect=protect)
        return pulumi.Output.all(cluster.kubeconfig, cluster.endpoint, cluster.ca_certificate).apply(
            lambda values: outputs.update(kubeconfig=values[0], endpoint=values[1], ca=values[2])
        )

    return run_program(program), config, outputs


def has(inputs: dict[str, Any], dotted: str) -> bool:
    node: Any = inputs
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def node_email(graph: Graph) -> str:
    account = graph.one(SERVICE_ACCOUNT)
    return f"{account.inputs['accountId']}@{account.inputs['project']}.iam.gserviceaccount.com"


def assert_hardened_nodes(node_config: dict[str, Any], email: str) -> None:
    assert node_config["imageType"] == "COS_CONTAINERD"
    assert node_config["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
    assert node_config["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
    assert node_config["metadata"]["disable-legacy-endpoints"] == "true"
    assert node_config["serviceAccount"] == email


def secret_value(value: Any) -> Any:
    assert isinstance(value, dict), f"expected a secret, got {value!r}"
    assert value.get(rpc._special_sig_key) == rpc._special_secret_sig, f"expected a secret, got {value!r}"
    return value["value"]


def run_prod(run_program: ProgramRunner) -> Graph:
    """The whole program with the prod stack file and the secrets it names."""
    raw = stack_file_config("prod")
    registry = validate_stack_config(raw).registry
    secrets = {registry.password_key: "registry-token"} if registry and registry.create_pull_secret else {}
    return run_program(main, raw, secrets=secrets, stack="prod")


# --- hardening ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gke-standard", "gke-autopilot"])
def test_control_plane_and_cluster_hardening_on_both_modes(run_program: ProgramRunner, kind: str) -> None:
    graph, config, _ = build(
        run_program, gke(kind, databaseEncryptionKey=KMS_KEY, backup={"encryptionKey": BACKUP_KEY})
    )
    cluster = graph.one(CLUSTER).inputs

    assert cluster["name"] == config.name
    assert cluster["location"] == config.location
    assert cluster["project"] == config.project
    # Private nodes and a private IP endpoint; CI comes in through the DNS endpoint.
    assert cluster["privateClusterConfig"] == {"enablePrivateNodes": True, "enablePrivateEndpoint": True}
    assert cluster["controlPlaneEndpointsConfig"] == {
        "dnsEndpointConfig": {"allowExternalTraffic": True},
        "ipEndpointsConfig": {"enabled": True},
    }
    assert cluster["masterAuthorizedNetworksConfig"]["cidrBlocks"] == [
        {"cidrBlock": OFFICE["cidr"], "displayName": OFFICE["name"]}
    ]
    assert cluster["masterAuthorizedNetworksConfig"]["gcpPublicCidrsAccessEnabled"] is False
    assert cluster["workloadIdentityConfig"] == {"workloadPool": f"{PROJECT_ID}.svc.id.goog"}
    assert cluster["releaseChannel"] == {"channel": "REGULAR"}
    assert cluster["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    assert cluster["databaseEncryption"] == {"state": "ENCRYPTED", "keyName": KMS_KEY}
    assert cluster["datapathProvider"] == "ADVANCED_DATAPATH"
    assert cluster["enableLegacyAbac"] is False
    assert cluster["masterAuth"]["clientCertificateConfig"] == {"issueClientCertificate": False}
    assert cluster["networkingMode"] == "VPC_NATIVE"
    assert cluster["ipAllocationPolicy"] == {
        "clusterSecondaryRangeName": config.network.pods_range_name,
        "servicesSecondaryRangeName": config.network.services_range_name,
    }
    assert cluster["gatewayApiConfig"] == {"channel": "CHANNEL_STANDARD"}
    assert cluster["securityPostureConfig"]["mode"] == "BASIC"
    assert cluster["addonsConfig"]["gkeBackupAgentConfig"] == {"enabled": True}
    assert cluster["deletionProtection"] is True
    # Dataplane V2 enforces NetworkPolicy; the legacy Calico switches must stay off.
    assert not has(cluster, "networkPolicy")
    assert not has(cluster, "addonsConfig.networkPolicyConfig")


def test_standard_cluster_hardening_and_the_removed_default_pool(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-standard"))
    cluster = graph.one(CLUSTER)

    assert cluster.inputs["enableShieldedNodes"] is True
    assert cluster.inputs["enableIntranodeVisibility"] is True
    assert cluster.inputs["enableL4IlbSubsetting"] is True
    assert cluster.inputs["addonsConfig"]["dnsCacheConfig"] == {"enabled": True}
    assert cluster.inputs["removeDefaultNodePool"] is True
    assert cluster.inputs["initialNodeCount"] == 1
    # The short-lived default pool is as hardened as the real ones ...
    assert_hardened_nodes(cluster.inputs["nodeConfig"], node_email(graph))
    # ... and GKE's later report of another pool's config there never replaces the cluster.
    assert "nodeConfig" in cluster.options["ignoreChanges"]
    assert not has(cluster.inputs, "enableAutopilot")


def test_autopilot_sets_only_what_autopilot_accepts(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-autopilot"))
    cluster = graph.one(CLUSTER).inputs

    assert cluster["enableAutopilot"] is True
    for field in AUTOPILOT_REJECTED:
        assert not has(cluster, field), field
    for addon in AUTOPILOT_REJECTED_ADDONS:
        assert not has(cluster, f"addonsConfig.{addon}"), addon
    assert not has(cluster, "binaryAuthorization.enabled")
    assert not has(cluster, "clusterAutoscaling.enabled")
    assert not has(cluster, "clusterAutoscaling.resourceLimits")
    assert graph.of_type(NODE_POOL) == []
    # Autopilot's nodes run as the dedicated identity too.
    defaults = cluster["clusterAutoscaling"]["autoProvisioningDefaults"]
    assert defaults["serviceAccount"] == node_email(graph)
    assert defaults["oauthScopes"] == ["https://www.googleapis.com/auth/cloud-platform"]


def test_optional_hardening_follows_the_config(run_program: ProgramRunner) -> None:
    graph, _, _ = build(
        run_program,
        gke(
            "gke-autopilot",
            binaryAuthorization={"mode": "disabled"},
            releaseChannel="STABLE",
            privateEndpoint=False,
            nodeBootDiskKmsKey=DISK_KEY,
            rbacSecurityGroup="gke-security-groups@acme.example.com",
        ),
    )
    cluster = graph.one(CLUSTER).inputs
    assert cluster["binaryAuthorization"] == {"evaluationMode": "DISABLED"}
    assert graph.of_type(BINAUTHZ_POLICY) == []
    assert cluster["releaseChannel"] == {"channel": "STABLE"}
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is False
    assert cluster["clusterAutoscaling"]["autoProvisioningDefaults"]["bootDiskKmsKey"] == DISK_KEY
    assert cluster["authenticatorGroupsConfig"] == {"securityGroup": "gke-security-groups@acme.example.com"}


def test_defaults_leave_optional_identities_and_keys_unset(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-standard"))
    cluster = graph.one(CLUSTER).inputs
    assert not has(cluster, "authenticatorGroupsConfig")
    assert not has(cluster, "nodeConfig.bootDiskKmsKey")
    assert not any(has(pool.inputs, "nodeConfig.bootDiskKmsKey") for pool in graph.of_type(NODE_POOL))
    # New clusters get a Private Service Connect control plane, not the legacy peering range.
    assert not has(cluster, "privateClusterConfig.masterIpv4CidrBlock")


def test_boot_disks_of_every_standard_node_use_the_key(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-standard", nodeBootDiskKmsKey=DISK_KEY))
    assert graph.one(CLUSTER).inputs["nodeConfig"]["bootDiskKmsKey"] == DISK_KEY
    pools = graph.of_type(NODE_POOL)
    assert pools
    assert all(pool.inputs["nodeConfig"]["bootDiskKmsKey"] == DISK_KEY for pool in pools)


def test_legacy_peering_range_is_kept_for_existing_clusters(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-autopilot", network={"masterCidr": "172.16.0.32/28"}))
    assert graph.one(CLUSTER).inputs["privateClusterConfig"]["masterIpv4CidrBlock"] == "172.16.0.32/28"


def test_without_ip_endpoints_only_the_dns_endpoint_exists(run_program: ProgramRunner) -> None:
    graph, _, outputs = build(run_program, gke("gke-autopilot", ipEndpoints=False, masterAuthorizedNetworks=[]))
    cluster = graph.one(CLUSTER).inputs
    assert cluster["controlPlaneEndpointsConfig"]["ipEndpointsConfig"] == {"enabled": False}
    assert cluster["privateClusterConfig"] == {"enablePrivateNodes": True}
    assert not has(cluster, "masterAuthorizedNetworksConfig")
    assert yaml.safe_load(outputs["kubeconfig"])["clusters"][0]["cluster"]["server"] == (
        f"https://{mock_dns_endpoint('gke-cluster')}"
    )


# --- monitoring and logging ---------------------------------------------------------


@pytest.mark.parametrize("kind", ["gke-standard", "gke-autopilot"])
def test_monitoring_and_logging_keep_what_gke_turns_on_by_default(run_program: ProgramRunner, kind: str) -> None:
    graph, _, _ = build(run_program, gke(kind))
    cluster = graph.one(CLUSTER).inputs
    monitoring = set(cluster["monitoringConfig"]["enableComponents"])
    # GKE takes the list as the complete set: everything it enables by default must be in it.
    assert monitoring >= GKE_DEFAULT_METRICS, GKE_DEFAULT_METRICS - monitoring
    assert monitoring >= CONTROL_PLANE_COMPONENTS
    assert len(cluster["monitoringConfig"]["enableComponents"]) == len(monitoring), "no duplicates"
    assert cluster["monitoringConfig"]["managedPrometheus"] == {"enabled": True}
    logging_components = set(cluster["loggingConfig"]["enableComponents"])
    assert logging_components >= GKE_DEFAULT_LOGS | CONTROL_PLANE_COMPONENTS
    # Neither service is switched off the legacy way.
    assert not has(cluster, "loggingService")
    assert not has(cluster, "monitoringService")
    assert not has(cluster, "databaseEncryption")


@pytest.mark.parametrize("kind", ["gke-standard", "gke-autopilot"])
def test_nodes_run_as_a_dedicated_service_account_with_minimal_roles(run_program: ProgramRunner, kind: str) -> None:
    long_name = "a" * 30 + "-" + "b" * 9  # 40 characters, the GKE maximum
    graph, config, _ = build(run_program, gke(kind, name=long_name))
    account = graph.one(SERVICE_ACCOUNT)
    account_id = account.inputs["accountId"]
    assert re.fullmatch(r"[a-z][-a-z0-9]{4,28}[a-z0-9]", account_id), account_id
    assert account.inputs["project"] == config.project

    grants = graph.of_type(IAM_MEMBER)
    roles = {grant.inputs["role"] for grant in grants}
    # Logs, metrics and image pulls; nothing else.
    assert roles == {"roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader"}
    assert not roles & PRIMITIVE_ROLES
    assert all(grant.inputs["member"] == f"serviceAccount:{node_email(graph)}" for grant in grants)
    assert all(grant.inputs["project"] == config.project for grant in grants)
    # Nodes registering before their roles exist could neither log nor pull.
    assert {grant.urn for grant in grants} <= set(graph.one(CLUSTER).depends_on)


# --- node pools ---------------------------------------------------------------------


def test_node_pools_follow_their_config_and_are_hardened(run_program: ProgramRunner) -> None:
    graph, config, _ = build(run_program, gke("gke-standard"))
    cluster = graph.one(CLUSTER)
    pools = {pool.inputs["name"]: pool for pool in graph.of_type(NODE_POOL)}
    assert set(pools) == {GENERAL_POOL["name"], SPOT_POOL["name"]}

    for raw in (GENERAL_POOL, SPOT_POOL):
        pool = pools[raw["name"]]
        node_config = pool.inputs["nodeConfig"]
        assert pool.inputs["cluster"] == config.name
        assert pool.inputs["location"] == config.location
        assert cluster.urn in pool.depends_on
        autoscaling = pool.inputs["autoscaling"]
        assert (autoscaling["minNodeCount"], autoscaling["maxNodeCount"]) == (raw["minNodes"], raw["maxNodes"])
        # Spot VMs scale wherever capacity is free (Google's advice), other pools stay zone-balanced.
        assert autoscaling["locationPolicy"] == ("ANY" if raw.get("spot") else "BALANCED")
        assert pool.inputs["initialNodeCount"] == raw.get("initialNodes", raw["minNodes"])
        assert pool.inputs["management"] == {"autoRepair": True, "autoUpgrade": True}
        assert node_config["machineType"] == raw["machineType"]
        assert node_config["spot"] is raw.get("spot", False)
        assert node_config["labels"] == raw.get("labels", {})
        assert node_config["taints"] == raw.get("taints", [])
        assert_hardened_nodes(node_config, node_email(graph))
        # The autoscaler owns the size after creation.
        assert "initialNodeCount" in pool.options["ignoreChanges"]

    assert pools["general"].inputs["nodeConfig"]["diskSizeGb"] == GENERAL_POOL["diskSizeGb"]
    assert pools["spot-batch"].inputs["nodeConfig"]["diskType"] == SPOT_POOL["diskType"]
    surge, blue_green = GENERAL_POOL["upgrade"], SPOT_POOL["upgrade"]
    assert pools["general"].inputs["upgradeSettings"] == {
        "strategy": "SURGE",
        "maxSurge": surge["maxSurge"],
        "maxUnavailable": surge["maxUnavailable"],
    }
    assert pools["spot-batch"].inputs["upgradeSettings"] == {
        "strategy": "BLUE_GREEN",
        "blueGreenSettings": {
            "nodePoolSoakDuration": blue_green["poolSoak"],
            "standardRolloutPolicy": {
                "batchPercentage": blue_green["batchPercentage"],
                "batchSoakDuration": blue_green["batchSoak"],
            },
        },
    }


def test_kubernetes_provider_waits_for_nodes_and_their_egress(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-standard"))
    provider = graph.one(K8S_PROVIDER)
    waits_for = set(provider.depends_on)
    assert {pool.urn for pool in graph.of_type(NODE_POOL)} <= waits_for
    assert graph.one("gcp:compute/routerNat:RouterNat").urn in waits_for


# --- network ------------------------------------------------------------------------


def test_created_network_is_vpc_native_with_private_access_and_nat(run_program: ProgramRunner) -> None:
    graph, config, _ = build(run_program, gke("gke-standard", location="europe-west4-a"))
    net = config.network
    vpc = graph.one("gcp:compute/network:Network")
    subnet = graph.one("gcp:compute/subnetwork:Subnetwork")
    nat = graph.one("gcp:compute/routerNat:RouterNat")
    cluster = graph.one(CLUSTER)

    assert vpc.inputs["name"] == net.network
    assert vpc.inputs["autoCreateSubnetworks"] is False
    assert subnet.inputs["name"] == net.subnetwork
    assert subnet.inputs["region"] == "europe-west4"  # the zone's region
    assert subnet.inputs["ipCidrRange"] == net.nodes_cidr
    assert subnet.inputs["secondaryIpRanges"] == [
        {"rangeName": net.pods_range_name, "ipCidrRange": net.pods_cidr},
        {"rangeName": net.services_range_name, "ipCidrRange": net.services_cidr},
    ]
    assert subnet.inputs["privateIpGoogleAccess"] is True
    assert subnet.inputs["logConfig"]["flowSampling"] > 0
    assert nat.inputs["region"] == "europe-west4"
    assert nat.inputs["sourceSubnetworkIpRangesToNat"] == "LIST_OF_SUBNETWORKS"
    assert subnet.urn in nat.depends_on
    assert (cluster.inputs["network"], cluster.inputs["subnetwork"]) == (net.network, net.subnetwork)
    assert {vpc.urn, subnet.urn} <= set(cluster.depends_on)


def test_existing_network_is_used_by_name(run_program: ProgramRunner) -> None:
    existing = {"create": False, "network": "shared-vpc", "subnetwork": "gke-europe-west1"}
    graph, _, _ = build(run_program, gke("gke-autopilot", network=existing))
    assert [r for r in graph if r.type.startswith("gcp:compute/")] == []
    cluster = graph.one(CLUSTER).inputs
    assert (cluster["network"], cluster["subnetwork"]) == (existing["network"], existing["subnetwork"])


# --- outputs ------------------------------------------------------------------------


def kubeconfig_parts(text: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The current context's name, cluster entry and user entry."""
    kubeconfig = yaml.safe_load(text)
    assert (kubeconfig["apiVersion"], kubeconfig["kind"]) == ("v1", "Config")
    current = kubeconfig["current-context"]
    context = next(c["context"] for c in kubeconfig["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in kubeconfig["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in kubeconfig["users"] if u["name"] == context["user"])
    return current, cluster, user


@pytest.mark.parametrize("kind", ["gke-standard", "gke-autopilot"])
def test_kubeconfig_reaches_the_dns_endpoint_with_application_default_credentials(
    run_program: ProgramRunner, kind: str
) -> None:
    graph, config, outputs = build(run_program, gke(kind))
    provider = graph.one(K8S_PROVIDER)
    assert provider.parent == graph.one(COMPONENT).urn

    passed_to_provider = secret_value(provider.inputs["kubeconfig"])
    assert passed_to_provider == outputs["kubeconfig"]
    current, cluster, user = kubeconfig_parts(outputs["kubeconfig"])
    # gcloud's own naming, so the context matches `gcloud container clusters get-credentials`.
    assert current == f"gke_{config.project}_{config.location}_{config.name}"
    # The DNS endpoint serves a publicly trusted certificate: no CA of the cluster's own.
    assert cluster == {"server": f"https://{mock_dns_endpoint('gke-cluster')}"}
    assert outputs["endpoint"] == mock_dns_endpoint("gke-cluster")
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    # Without the flag the plugin needs a gcloud login, which CI never has.
    assert user["exec"]["args"] == ["--use_application_default_credentials"]
    assert user["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert user["exec"]["provideClusterInfo"] is True
    # Only the exec plugin: no static token, password or client key in the file.
    assert set(user) == {"exec"}


def test_without_the_dns_endpoint_the_kubeconfig_uses_the_ip_endpoint_and_its_ca(run_program: ProgramRunner) -> None:
    _, _, outputs = build(run_program, gke("gke-autopilot", dnsEndpoint=False))
    _, cluster, user = kubeconfig_parts(outputs["kubeconfig"])
    assert cluster == {"server": f"https://{outputs['endpoint']}", "certificate-authority-data": outputs["ca"]}
    assert outputs["endpoint"] == "203.0.113.10"  # the mocks' IP endpoint
    assert outputs["ca"]
    assert user["exec"]["args"] == ["--use_application_default_credentials"]


def test_prod_kubeconfig_points_at_the_dns_endpoint(run_program: ProgramRunner) -> None:
    graph = run_prod(run_program)
    cluster = graph.one(CLUSTER)
    assert cluster.inputs["controlPlaneEndpointsConfig"]["dnsEndpointConfig"] == {"allowExternalTraffic": True}
    # The public IP endpoint is off, so private authorized ranges (the VPN) are meaningful.
    assert cluster.inputs["privateClusterConfig"]["enablePrivateEndpoint"] is True
    _, kube_cluster, user = kubeconfig_parts(secret_value(graph.one(K8S_PROVIDER).inputs["kubeconfig"]))
    assert kube_cluster["server"] == f"https://{mock_dns_endpoint(cluster.name)}"
    assert "--use_application_default_credentials" in user["exec"]["args"]


# --- Binary Authorization -------------------------------------------------------------


def test_binary_authorization_policy_admits_only_the_registry_system_images_and_admit(
    run_program: ProgramRunner,
) -> None:
    raw = stack_file_config("prod")
    graph = run_prod(run_program)
    cluster = graph.one(CLUSTER)
    policy = graph.one(BINAUTHZ_POLICY)
    assert policy.inputs["project"] == raw["cluster"]["project"]
    patterns = [entry["namePattern"] for entry in policy.inputs["admissionWhitelistPatterns"]]
    assert patterns[0] == f"{raw['registry']['server']}/**"
    assert patterns[1:] == raw["cluster"]["binaryAuthorization"]["admit"]
    # Google's GKE system images, through the global policy.
    assert policy.inputs["globalPolicyEvaluationMode"] == "ENABLE"
    # Everything else is blocked, not just logged.
    assert policy.inputs["defaultAdmissionRule"] == {
        "evaluationMode": "ALWAYS_DENY",
        "enforcementMode": "ENFORCED_BLOCK_AND_AUDIT_LOG",
    }
    assert cluster.inputs["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}
    # The policy the cluster evaluates exists before the cluster's first pod.
    assert policy.urn in cluster.depends_on
    assert policy.parent == graph.one(COMPONENT).urn


def test_attestors_decide_on_images_outside_the_allow_list_and_dry_run_only_logs(run_program: ProgramRunner) -> None:
    attestor = f"projects/{PROJECT_ID}/attestors/built-by-ci"
    graph, _, _ = build(
        run_program,
        gke("gke-autopilot", binaryAuthorization={"mode": "dry-run", "attestors": [attestor], "admit": ["gcr.io/x/*"]}),
    )
    policy = graph.one(BINAUTHZ_POLICY).inputs
    assert policy["defaultAdmissionRule"] == {
        "evaluationMode": "REQUIRE_ATTESTATION",
        "enforcementMode": "DRYRUN_AUDIT_LOG_ONLY",
        "requireAttestationsBies": [attestor],
    }
    assert [entry["namePattern"] for entry in policy["admissionWhitelistPatterns"]] == ["gcr.io/x/*"]
    # Dry run still evaluates: the audit log shows what enforcing would block.
    assert graph.one(CLUSTER).inputs["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}


def test_a_policy_managed_elsewhere_is_evaluated_but_not_registered(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-autopilot", binaryAuthorization={"managePolicy": False}))
    assert graph.of_type(BINAUTHZ_POLICY) == []
    assert graph.one(CLUSTER).inputs["binaryAuthorization"] == {"evaluationMode": "PROJECT_SINGLETON_POLICY_ENFORCE"}


# --- maintenance and notifications ------------------------------------------------------


def test_default_maintenance_window_is_weekend_nights_with_notifications(run_program: ProgramRunner) -> None:
    graph, config, _ = build(run_program, gke("gke-standard"))
    cluster = graph.one(CLUSTER)
    window = cluster.inputs["maintenancePolicy"]["recurringWindow"]
    assert window["recurrence"] == "FREQ=WEEKLY;BYDAY=SA,SU"
    start = datetime.fromisoformat(window["startTime"])
    end = datetime.fromisoformat(window["endTime"])
    assert start.tzinfo is not None
    assert start.utcoffset() == timedelta(0)
    assert (start.hour, start.minute) == (1, 0)
    assert end - start == timedelta(hours=8)
    assert not has(cluster.inputs, "maintenancePolicy.maintenanceExclusions")

    topic = graph.one(TOPIC)
    assert topic.inputs["project"] == config.project
    assert topic.inputs["name"] == f"{config.name}-gke-notifications"
    assert cluster.inputs["notificationConfig"] == {"pubsub": {"enabled": True, "topic": f"{topic.name}-id"}}
    assert topic.urn in cluster.depends_on


def test_maintenance_window_exclusions_and_notifications_follow_the_config(run_program: ProgramRunner) -> None:
    topic = f"projects/{PROJECT_ID}/topics/platform-events"
    maintenance = {
        "window": {"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "start": "22:30", "hours": 4},
        "exclusions": [
            {"name": "black-friday", "start": "2026-11-26T00:00:00Z", "end": "2026-12-01T00:00:00+00:00"},
            {
                "name": "year-end",
                "start": "2026-12-15T00:00:00+01:00",
                "end": "2027-01-10T00:00:00Z",
                "scope": "NO_MINOR_UPGRADES",
            },
        ],
        "notifications": {"topic": topic, "eventTypes": ["SECURITY_BULLETIN_EVENT"]},
    }
    graph, _, _ = build(run_program, gke("gke-autopilot", maintenance=maintenance))
    policy = graph.one(CLUSTER).inputs["maintenancePolicy"]
    assert policy["recurringWindow"]["recurrence"] == "FREQ=DAILY"
    assert policy["recurringWindow"]["startTime"].endswith("T22:30:00Z")
    assert policy["recurringWindow"]["endTime"].endswith("T02:30:00Z")
    assert policy["maintenanceExclusions"] == [
        {
            "exclusionName": "black-friday",
            "startTime": "2026-11-26T00:00:00Z",
            "endTime": "2026-12-01T00:00:00Z",
            "exclusionOptions": {"scope": "NO_UPGRADES"},
        },
        {
            "exclusionName": "year-end",
            "startTime": "2026-12-14T23:00:00Z",
            "endTime": "2027-01-10T00:00:00Z",
            "exclusionOptions": {"scope": "NO_MINOR_UPGRADES"},
        },
    ]
    assert graph.of_type(TOPIC) == []
    assert graph.one(CLUSTER).inputs["notificationConfig"] == {
        "pubsub": {"enabled": True, "topic": topic, "filter": {"eventTypes": ["SECURITY_BULLETIN_EVENT"]}}
    }


def test_no_window_and_no_notifications_when_turned_off(run_program: ProgramRunner) -> None:
    graph, _, _ = build(
        run_program, gke("gke-autopilot", maintenance={"window": None, "notifications": {"enabled": False}})
    )
    cluster = graph.one(CLUSTER).inputs
    assert not has(cluster, "maintenancePolicy")
    assert not has(cluster, "notificationConfig")
    assert graph.of_type(TOPIC) == []


def test_component_shape(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-standard"))
    component = graph.one(COMPONENT)
    assert component.name == "gke"
    descendants = graph.descendants(component)
    assert len(descendants) == len(graph) - 1
    assert all(r.name.startswith("gke-") for r in descendants)
    assert all(r.parent == component.urn for r in descendants if r.type.startswith("gcp:container/"))


# --- protection ---------------------------------------------------------------------


def test_prod_cluster_and_backups_are_protected(run_program: ProgramRunner) -> None:
    graph = run_prod(run_program)
    cluster = graph.one(CLUSTER)
    plan = graph.one("gcp:gkebackup/backupPlan:BackupPlan")
    assert cluster.protect
    assert plan.protect
    assert cluster.inputs["deletionProtection"] is True
    assert cluster.inputs["enableAutopilot"] is True
    assert cluster.inputs["databaseEncryption"]["state"] == "ENCRYPTED"
    # Protect stays on what holds data: the provider and the IAM grants can be replaced freely.
    assert not graph.one(K8S_PROVIDER).protect
    assert not any(grant.protect for grant in graph.of_type(IAM_MEMBER))


def test_unprotected_stack_can_delete_its_cluster(run_program: ProgramRunner) -> None:
    graph, _, _ = build(run_program, gke("gke-standard", deletionProtection=False), protect=False)
    assert graph.one(CLUSTER).inputs["deletionProtection"] is False
    assert not any(r.protect for r in graph)


# --- the platform -------------------------------------------------------------------


def test_every_kubernetes_object_of_a_gke_stack_goes_through_the_cluster(run_program: ProgramRunner) -> None:
    graph = run_prod(run_program)
    platform = graph.one("delivery-platform:platform:Platform")
    gke_component = graph.one(COMPONENT)
    assert gke_component.parent == platform.urn
    providers = graph.of_type(K8S_PROVIDER)
    assert [p.parent for p in providers] == [gke_component.urn], "one Kubernetes provider, the cluster's"

    objects = graph.kubernetes_objects()
    assert objects, "the prod stack deploys Kubernetes objects"
    strays = [f"{r.type} {r.name}" for r in objects if r.provider_urn != providers[0].urn]
    assert strays == []


# --- config -------------------------------------------------------------------------


def test_zonal_cluster_below_three_nodes_warns_at_load(
    run_program: ProgramRunner, caplog: pytest.LogCaptureFixture
) -> None:
    small = gke("gke-standard", location="europe-west1-b", nodePools=[{"name": "general", "minNodes": 2}])
    with caplog.at_level(logging.WARNING):
        run_program(load, {"cluster": small})
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("europe-west1-b" in w and "99.5%" in w for w in warnings), warnings

    caplog.clear()
    three = gke("gke-standard", location="europe-west1-b", nodePools=[{"name": "a", "minNodes": 2}, {"name": "b"}])
    with caplog.at_level(logging.WARNING):
        run_program(load, {"cluster": three})
        run_program(load, {"cluster": gke("gke-standard", location="europe-west1", nodePools=[{"name": "a"}])})
    assert not any("99.5%" in r.getMessage() for r in caplog.records)


def problems_of(raw_cluster: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config({"cluster": raw_cluster})
    return caught.value.problems


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            gke("gke-autopilot", location="europe-west1-b"),
            "delivery-platform:cluster.location: Autopilot clusters are regional only",
            id="autopilot-zonal",
        ),
        pytest.param(
            gke("gke-autopilot", nodePools=[{"name": "general"}]),
            "delivery-platform:cluster.nodePools: Autopilot clusters have no node pools",
            id="autopilot-node-pools",
        ),
        pytest.param(
            gke("gke-standard", nodePools=[{"name": "general", "minNodes": 5, "maxNodes": 3}]),
            "delivery-platform:cluster.nodePools[0].minNodes: 5 is greater than maxNodes 3",
            id="min-above-max",
        ),
        pytest.param(
            gke("gke-standard", nodePools=[{"name": "general", "minNodes": 1, "maxNodes": 3, "initialNodes": 4}]),
            "delivery-platform:cluster.nodePools[0].initialNodes: must lie between minNodes and maxNodes",
            id="initial-outside-range",
        ),
        pytest.param(
            gke("gke-standard", nodePools=[{"name": "general"}, {"name": "general"}]),
            "delivery-platform:cluster.nodePools[1].name: duplicate node pool name 'general'",
            id="duplicate-pool",
        ),
        pytest.param(
            gke("gke-standard", nodePools=[{"name": "a", "upgrade": {"strategy": "surge", "maxSurge": 0}}]),
            "delivery-platform:cluster.nodePools[0].upgrade.maxSurge: maxSurge and maxUnavailable cannot both be 0",
            id="surge-cannot-progress",
        ),
        pytest.param(
            gke("gke-standard", nodePools=[{"name": "a", "upgrade": {"strategy": "blue-green", "poolSoak": "1h"}}]),
            "delivery-platform:cluster.nodePools[0].upgrade.poolSoak:",
            id="blue-green-duration",
        ),
        pytest.param(
            gke("gke-standard", nodePools=[{"name": "a", "upgrade": {"strategy": "surge", "batchSoak": "60s"}}]),
            "delivery-platform:cluster.nodePools[0].upgrade.batchSoak: unknown key",
            id="blue-green-field-on-surge",
        ),
        pytest.param(
            gke("gke-autopilot", name="x" * 41),
            "delivery-platform:cluster.name:",
            id="name-too-long-for-gke",
        ),
        pytest.param(
            gke("gke-autopilot", network={"podsCidr": "10.10.0.0/16"}),
            "delivery-platform:cluster.network.podsCidr: 10.10.0.0/16 overlaps nodesCidr 10.10.0.0/20",
            id="overlapping-ranges",
        ),
        pytest.param(
            gke("gke-autopilot", network={"masterCidr": "172.16.0.0/24"}),
            "delivery-platform:cluster.network.masterCidr: must be a /28 block",
            id="master-not-28",
        ),
        pytest.param(
            gke("gke-autopilot", masterAuthorizedNetworks=[{"cidr": "198.51.100.7/24", "name": "office"}]),
            "delivery-platform:cluster.masterAuthorizedNetworks[0].cidr: '198.51.100.7/24' is not an IPv4 CIDR block",
            id="host-bits-set",
        ),
        pytest.param(
            gke("gke-autopilot", databaseEncryptionKey="my-key"),
            "delivery-platform:cluster.databaseEncryptionKey: 'my-key' is not a Cloud KMS key name",
            id="kms-key-name",
        ),
        pytest.param(
            gke(
                "gke-autopilot",
                privateEndpoint=False,
                masterAuthorizedNetworks=[OFFICE, {"cidr": "10.100.0.0/16", "name": "vpn"}],
            ),
            "delivery-platform:cluster.masterAuthorizedNetworks[1].cidr: 10.100.0.0/16 is a private range",
            id="private-range-on-public-endpoint",
        ),
        pytest.param(
            gke(
                "gke-autopilot",
                privateEndpoint=False,
                masterAuthorizedNetworks=[{"cidr": "100.64.8.0/24", "name": "x"}],
            ),
            "delivery-platform:cluster.masterAuthorizedNetworks[0].cidr: 100.64.8.0/24 is a private range",
            id="shared-address-space-on-public-endpoint",
        ),
        pytest.param(
            gke("gke-autopilot", dnsEndpoint=False, ipEndpoints=False, masterAuthorizedNetworks=[]),
            "delivery-platform:cluster.ipEndpoints: with dnsEndpoint off too, nothing could reach the control plane",
            id="no-endpoint-at-all",
        ),
        pytest.param(
            gke("gke-autopilot", ipEndpoints=False),
            "delivery-platform:cluster.masterAuthorizedNetworks[0]: has no effect: ipEndpoints is off",
            id="authorized-networks-without-ip-endpoints",
        ),
        pytest.param(
            gke("gke-autopilot", rbacSecurityGroup="platform-admins@acme.example.com"),
            "delivery-platform:cluster.rbacSecurityGroup:",
            id="rbac-group-name",
        ),
        pytest.param(
            gke("gke-autopilot", nodeBootDiskKmsKey="disk-key"),
            "delivery-platform:cluster.nodeBootDiskKmsKey: 'disk-key' is not a Cloud KMS key name",
            id="boot-disk-key-name",
        ),
        pytest.param(
            gke("gke-autopilot", binaryAuthorization={"mode": "disabled", "admit": ["gcr.io/x/*"]}),
            "delivery-platform:cluster.binaryAuthorization.admit: only applies to a policy this stack manages",
            id="admit-without-policy",
        ),
        pytest.param(
            gke(
                "gke-autopilot",
                binaryAuthorization={"managePolicy": False, "attestors": ["projects/acme-prod/attestors/ci"]},
            ),
            "delivery-platform:cluster.binaryAuthorization.attestors: only applies to a policy this stack manages",
            id="attestors-without-policy",
        ),
        pytest.param(
            gke("gke-autopilot", binaryAuthorization={"attestors": ["ci-attestor"]}),
            "delivery-platform:cluster.binaryAuthorization.attestors[0]:",
            id="attestor-name",
        ),
        pytest.param(
            gke("gke-autopilot", binaryAuthorization={"admit": ["https://gcr.io/x"]}),
            "delivery-platform:cluster.binaryAuthorization.admit[0]:",
            id="image-pattern",
        ),
        pytest.param(
            gke("gke-autopilot", binaryAuthorization={"mode": "audit"}),
            "delivery-platform:cluster.binaryAuthorization.mode: must be one of",
            id="binauthz-mode",
        ),
        pytest.param(
            gke("gke-autopilot", maintenance={"window": {"days": ["SU"], "hours": 8}}),
            "delivery-platform:cluster.maintenance.window.hours: 1 day(s) a week x 8 hours leaves 32 hours",
            id="window-too-short-per-month",
        ),
        pytest.param(
            gke("gke-autopilot", maintenance={"window": {"hours": 3}}),
            "delivery-platform:cluster.maintenance.window.hours: must be >= 4",
            id="window-shorter-than-4-hours",
        ),
        pytest.param(
            gke("gke-autopilot", maintenance={"window": {"days": ["SA", "SA", "SU"]}}),
            "delivery-platform:cluster.maintenance.window.days: SA listed more than once",
            id="window-day-twice",
        ),
        pytest.param(
            gke("gke-autopilot", maintenance={"window": {"start": "25:00"}}),
            "delivery-platform:cluster.maintenance.window.start:",
            id="window-start-time",
        ),
        pytest.param(
            gke(
                "gke-autopilot",
                maintenance={
                    "exclusions": [{"name": "x", "start": "2026-12-10T00:00:00Z", "end": "2026-12-01T00:00:00Z"}]
                },
            ),
            "delivery-platform:cluster.maintenance.exclusions[0].end: must be after start",
            id="exclusion-ends-before-it-starts",
        ),
        pytest.param(
            gke(
                "gke-autopilot",
                maintenance={
                    "exclusions": [{"name": "x", "start": "2026-12-01T00:00:00Z", "end": "2027-01-05T00:00:00Z"}]
                },
            ),
            "delivery-platform:cluster.maintenance.exclusions[0].end: a NO_UPGRADES exclusion lasts at most 30 days",
            id="no-upgrades-longer-than-30-days",
        ),
        pytest.param(
            gke(
                "gke-autopilot",
                maintenance={
                    "exclusions": [{"name": "x", "start": "2026-12-01T00:00:00", "end": "2026-12-02T00:00:00Z"}]
                },
            ),
            "delivery-platform:cluster.maintenance.exclusions[0].start:",
            id="exclusion-without-time-zone",
        ),
        pytest.param(
            gke(
                "gke-autopilot",
                maintenance={
                    "exclusions": [
                        {"name": "freeze", "start": "2026-12-01T00:00:00Z", "end": "2026-12-02T00:00:00Z"},
                        {"name": "freeze", "start": "2026-12-03T00:00:00Z", "end": "2026-12-04T00:00:00Z"},
                    ]
                },
            ),
            "delivery-platform:cluster.maintenance.exclusions[1].name: duplicate exclusion name 'freeze'",
            id="exclusion-name-twice",
        ),
        pytest.param(
            gke("gke-autopilot", maintenance={"notifications": {"topic": "projects/other-project/topics/gke"}}),
            "delivery-platform:cluster.maintenance.notifications.topic: must be a topic of the cluster's project",
            id="topic-in-another-project",
        ),
        pytest.param(
            gke("gke-autopilot", maintenance={"notifications": {"eventTypes": ["UPGRADE_STARTED"]}}),
            "delivery-platform:cluster.maintenance.notifications.eventTypes[0]: must be one of",
            id="notification-event-type",
        ),
    ],
)
def test_impossible_clusters_are_rejected_naming_the_key(raw: dict[str, Any], expected: str) -> None:
    problems = problems_of(raw)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_autopilot_problems_are_reported_together() -> None:
    problems = problems_of(gke("gke-autopilot", location="europe-west1-b", nodePools=[{"name": "general"}]))
    assert {p.split(": ", 1)[0] for p in problems} == {
        "delivery-platform:cluster.location",
        "delivery-platform:cluster.nodePools",
    }


def test_accepted_control_plane_access() -> None:
    """The rules above reject only what cannot work: a private range with a private
    endpoint, and a public range with a public one, are fine."""
    private = cluster_config(gke("gke-autopilot", masterAuthorizedNetworks=[{"cidr": "10.100.0.0/16", "name": "vpn"}]))
    assert private.private_endpoint
    public = cluster_config(gke("gke-autopilot", privateEndpoint=False, masterAuthorizedNetworks=[OFFICE]))
    assert public.public_ip_endpoint


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [
        pytest.param({}, None, id="dns-endpoint"),
        pytest.param({"dnsEndpoint": False}, "must run inside the VPC", id="private-ip-only"),
        pytest.param(
            {"dnsEndpoint": False, "privateEndpoint": False, "masterAuthorizedNetworks": []},
            "masterAuthorizedNetworks is empty",
            id="public-ip-nobody-authorized",
        ),
        pytest.param({"dnsEndpoint": False, "privateEndpoint": False}, None, id="public-ip-office-authorized"),
    ],
)
def test_unreachable_control_plane_warns_at_load(overrides: dict[str, Any], warned: str | None) -> None:
    warnings = cluster_config(gke("gke-autopilot", **overrides)).warnings()
    if warned is None:
        assert warnings == []
    else:
        (warning,) = warnings
        assert warned in warning
