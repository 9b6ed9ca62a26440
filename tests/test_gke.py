"""The GKE cluster component under mocks: hardening on both modes, node pools, the
network, the node identity, the kubeconfig, protection in prod, the config rules,
and that the platform deploys every Kubernetes object through the cluster."""

from __future__ import annotations

import logging
import re
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc

from components.config import ConfigError, GkeAutopilotConfig, GkeStandardConfig, validate_stack_config
from components.gke import GkeCluster
from components.program import load, main
from tests.conftest import ProgramRunner, stack_file_config
from tests.graph import Graph

CLUSTER = "gcp:container/cluster:Cluster"
NODE_POOL = "gcp:container/nodePool:NodePool"
SERVICE_ACCOUNT = "gcp:serviceaccount/account:Account"
IAM_MEMBER = "gcp:projects/iAMMember:IAMMember"
K8S_PROVIDER = "pulumi:providers:kubernetes"
COMPONENT = "delivery-platform:gke:GkeCluster"

PROJECT_ID = "acme-platform-test"
KMS_KEY = "projects/acme-platform-test/locations/europe-west1/keyRings/gke/cryptoKeys/secrets"
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
    graph, config, _ = build(run_program, gke(kind, databaseEncryptionKey=KMS_KEY))
    cluster = graph.one(CLUSTER).inputs

    assert cluster["name"] == config.name
    assert cluster["location"] == config.location
    assert cluster["project"] == config.project
    assert cluster["privateClusterConfig"]["enablePrivateNodes"] is True
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is False
    assert cluster["privateClusterConfig"]["masterIpv4CidrBlock"] == config.network.master_cidr
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
    assert {"SYSTEM_COMPONENTS", "WORKLOADS", "APISERVER"} <= set(cluster["loggingConfig"]["enableComponents"])
    assert {"SYSTEM_COMPONENTS", "APISERVER"} <= set(cluster["monitoringConfig"]["enableComponents"])
    assert cluster["monitoringConfig"]["managedPrometheus"] == {"enabled": True}
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
        gke("gke-autopilot", binaryAuthorization=False, releaseChannel="STABLE", privateEndpoint=True),
    )
    cluster = graph.one(CLUSTER).inputs
    assert cluster["binaryAuthorization"] == {"evaluationMode": "DISABLED"}
    assert cluster["releaseChannel"] == {"channel": "STABLE"}
    assert cluster["privateClusterConfig"]["enablePrivateEndpoint"] is True
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


@pytest.mark.parametrize("kind", ["gke-standard", "gke-autopilot"])
def test_kubeconfig_uses_the_auth_plugin_and_is_secret(run_program: ProgramRunner, kind: str) -> None:
    graph, config, outputs = build(run_program, gke(kind))
    provider = graph.one(K8S_PROVIDER)
    assert provider.parent == graph.one(COMPONENT).urn

    passed_to_provider = secret_value(provider.inputs["kubeconfig"])
    assert passed_to_provider == outputs["kubeconfig"]
    kubeconfig = yaml.safe_load(outputs["kubeconfig"])
    assert (kubeconfig["apiVersion"], kubeconfig["kind"]) == ("v1", "Config")
    current = kubeconfig["current-context"]
    # gcloud's own naming, so the context matches `gcloud container clusters get-credentials`.
    assert current == f"gke_{config.project}_{config.location}_{config.name}"
    context = next(c["context"] for c in kubeconfig["contexts"] if c["name"] == current)
    cluster = next(c["cluster"] for c in kubeconfig["clusters"] if c["name"] == context["cluster"])
    user = next(u["user"] for u in kubeconfig["users"] if u["name"] == context["user"])
    assert cluster == {"server": f"https://{outputs['endpoint']}", "certificate-authority-data": outputs["ca"]}
    assert user["exec"]["command"] == "gke-gcloud-auth-plugin"
    assert user["exec"]["apiVersion"] == "client.authentication.k8s.io/v1beta1"
    assert user["exec"]["provideClusterInfo"] is True
    # Only the exec plugin: no static token, password or client key in the file.
    assert set(user) == {"exec"}


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
