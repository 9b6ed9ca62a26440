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
DISKS_KEY = "projects/acme-delivery-prod/locations/europe-west1/keyRings/gke/cryptoKeys/disks"


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
        "private_cluster_config": gcp.container.ClusterPrivateClusterConfigArgs(
            enable_private_nodes=True, enable_private_endpoint=True
        ),
        "control_plane_endpoints_config": gcp.container.ClusterControlPlaneEndpointsConfigArgs(
            dns_endpoint_config=gcp.container.ClusterControlPlaneEndpointsConfigDnsEndpointConfigArgs(
                allow_external_traffic=True
            )
        ),
        "maintenance_policy": gcp.container.ClusterMaintenancePolicyArgs(
            recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(
                start_time="2025-01-04T01:00:00Z", end_time="2025-01-04T09:00:00Z", recurrence="FREQ=WEEKLY;BYDAY=SA,SU"
            )
        ),
        "authenticator_groups_config": gcp.container.ClusterAuthenticatorGroupsConfigArgs(
            security_group="gke-security-groups@acme.example.com"
        ),
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
        enable_intranode_visibility=True,
        enable_l4_ilb_subsetting=True,
        addons_config=gcp.container.ClusterAddonsConfigArgs(
            dns_cache_config=gcp.container.ClusterAddonsConfigDnsCacheConfigArgs(enabled=True)
        ),
    )


def autopilot_cluster() -> None:
    gcp.container.Cluster(
        "cluster",
        **_common(),
        enable_autopilot=True,
        cluster_autoscaling=gcp.container.ClusterClusterAutoscalingArgs(
            auto_provisioning_defaults=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsArgs(
                service_account=NODE_SERVICE_ACCOUNT, boot_disk_kms_key=DISKS_KEY
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
            boot_disk_kms_key=DISKS_KEY,
        ),
    )


def binary_authorization_policy() -> None:
    gcp.binaryauthorization.Policy(
        "admission",
        project=PROJECT,
        global_policy_evaluation_mode="ENABLE",
        admission_whitelist_patterns=[
            gcp.binaryauthorization.PolicyAdmissionWhitelistPatternArgs(name_pattern=pattern)
            for pattern in ("europe-docker.pkg.dev/acme-delivery-prod/apps/**", "docker.io/jenkins/*")
        ],
        default_admission_rule=gcp.binaryauthorization.PolicyDefaultAdmissionRuleArgs(
            evaluation_mode="ALWAYS_DENY", enforcement_mode="ENFORCED_BLOCK_AND_AUDIT_LOG"
        ),
    )


@pytest.mark.parametrize(
    ("template", "program"),
    [
        ("gke-standard-cluster", standard_cluster),
        ("gke-autopilot-cluster", autopilot_cluster),
        ("gke-node-pool", node_pool),
        ("gke-binauthz-policy", binary_authorization_policy),
    ],
)
def test_template_is_what_the_sdk_registers(run_program: ProgramRunner, template: str, program: Any) -> None:
    expected = templates()[template]

    [registered] = run_program(program).resources

    assert registered.type == expected["type"]
    assert to_wire(registered.inputs) == to_wire(expected["props"])
