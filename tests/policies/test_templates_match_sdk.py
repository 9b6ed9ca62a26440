"""The GKE templates of the corpus are exactly what pulumi-gcp registers for the same
settings given as typed args, so the camelCase property names the GKE rules read
(and the corpus exercises) are the engine's, not guesses."""

from __future__ import annotations

from typing import Any

import pulumi_gcp as gcp
import pytest

from tests.conftest import ProgramRunner
from tests.policies.corpus import templates
from tests.policies.harness import to_wire

PROJECT = "acme-delivery-prod"
NODE_SERVICE_ACCOUNT = "gke-nodes@acme-delivery-prod.iam.gserviceaccount.com"
SECRETS_KEY = "projects/acme-delivery-prod/locations/europe-west1/keyRings/gke/cryptoKeys/secrets"


def _common() -> dict[str, Any]:
    return {
        "name": "delivery-prod",
        "project": PROJECT,
        "location": "europe-west1",
        "deletion_protection": True,
        "release_channel": gcp.container.ClusterReleaseChannelArgs(channel="REGULAR"),
        "master_authorized_networks_config": gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
            cidr_blocks=[
                gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(
                    cidr_block="10.100.0.0/16", display_name="corporate-vpn"
                )
            ]
        ),
        "binary_authorization": gcp.container.ClusterBinaryAuthorizationArgs(
            evaluation_mode="PROJECT_SINGLETON_POLICY_ENFORCE"
        ),
        "database_encryption": gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=SECRETS_KEY),
    }


def standard_cluster() -> None:
    gcp.container.Cluster(
        "cluster",
        **_common(),
        remove_default_node_pool=True,
        initial_node_count=1,
        networking_mode="VPC_NATIVE",
        ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
            cluster_secondary_range_name="pods", services_secondary_range_name="services"
        ),
        private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True, enable_private_endpoint=False
        ),
        workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(
            workload_pool=f"{PROJECT}.svc.id.goog"
        ),
        enable_shielded_nodes=True,
        datapath_provider="ADVANCED_DATAPATH",
        enable_legacy_abac=False,
        master_auth=gcp.container.ClusterMasterAuthArgs(
            client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(
                issue_client_certificate=False
            )
        ),
    )


def autopilot_cluster() -> None:
    gcp.container.Cluster(
        "cluster",
        **_common(),
        enable_autopilot=True,
        private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(enable_private_nodes=True),
        cluster_autoscaling=gcp.container.ClusterClusterAutoscalingArgs(
            auto_provisioning_defaults=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsArgs(
                service_account=NODE_SERVICE_ACCOUNT
            )
        ),
    )


def node_pool() -> None:
    gcp.container.NodePool(
        "general",
        name="general",
        cluster="delivery-prod",
        project=PROJECT,
        location="europe-west1",
        autoscaling=gcp.container.NodePoolAutoscalingArgs(min_node_count=1, max_node_count=3),
        management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
        node_config=gcp.container.NodePoolNodeConfigArgs(
            machine_type="e2-standard-4",
            image_type="COS_CONTAINERD",
            service_account=NODE_SERVICE_ACCOUNT,
            oauth_scopes=["https://www.googleapis.com/auth/cloud-platform"],
            workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
            shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_integrity_monitoring=True
            ),
        ),
    )


@pytest.mark.parametrize(
    ("template", "program"),
    [
        ("gke-standard-cluster", standard_cluster),
        ("gke-autopilot-cluster", autopilot_cluster),
        ("gke-node-pool", node_pool),
    ],
)
def test_template_is_what_the_sdk_registers(run_program: ProgramRunner, template: str, program: Any) -> None:
    expected = templates()[template]

    [registered] = run_program(program).resources

    assert registered.type == expected["type"]
    assert to_wire(registered.inputs) == to_wire(expected["props"])
