"""The GKE resources the components register pass the provider's own input
validation: terraform-provider-google's schema checks and field validators (what
pulumi-gcp's Check runs), built from the Go module proxy by toolchain/gcp-validator.sh.
Mocks prove the wiring; this proves names, shapes, enums and formats are ones the
provider accepts. The module proxy serves only the GA provider (8.0.0), not the beta
one pulumi-gcp 10.2 wraps, so beta-only fields would be reported as unknown."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.config import GkeAutopilotConfig, GkeStandardConfig, validate_stack_config
from components.gke import GkeCluster
from components.program import main
from tests.conftest import REPO, ProgramRunner, stack_file_config
from tests.graph import Graph

VALIDATED_TYPES = (
    "gcp:container/cluster:Cluster",
    "gcp:container/nodePool:NodePool",
    "gcp:gkebackup/backupPlan:BackupPlan",
    "gcp:gkebackup/restorePlan:RestorePlan",
    "gcp:binaryauthorization/policy:Policy",
    "gcp:pubsub/topic:Topic",
)
PROJECT_ID = "acme-platform-test"
KEYS = "projects/acme-platform-test/locations/europe-west1/keyRings/gke/cryptoKeys"

# Every optional GKE setting switched on, on a Standard cluster with both node upgrade strategies.
EVERYTHING_STANDARD: dict[str, Any] = {
    "kind": "gke-standard",
    "project": PROJECT_ID,
    "location": "europe-west1-b",
    "privateEndpoint": False,
    "masterAuthorizedNetworks": [{"cidr": "198.51.100.0/24", "name": "office"}],
    "network": {"masterCidr": "172.16.0.32/28"},
    "databaseEncryptionKey": f"{KEYS}/secrets",
    "nodeBootDiskKmsKey": f"{KEYS}/disks",
    "rbacSecurityGroup": "gke-security-groups@acme.example.com",
    "binaryAuthorization": {
        "mode": "dry-run",
        "admit": ["gcr.io/acme-platform-test/**", "docker.io/library/busybox"],
        "attestors": ["projects/acme-platform-test/attestors/built-by-ci"],
    },
    "maintenance": {
        "window": {"days": ["TU", "WE", "TH"], "start": "03:30", "hours": 6},
        "exclusions": [
            {"name": "freeze", "start": "2026-12-20T00:00:00Z", "end": "2027-01-04T00:00:00Z"},
            {
                "name": "minor-hold",
                "start": "2026-12-01T00:00:00Z",
                "end": "2027-03-01T00:00:00Z",
                "scope": "NO_MINOR_OR_NODE_UPGRADES",
            },
        ],
        "notifications": {"eventTypes": ["UPGRADE_EVENT", "UPGRADE_INFO_EVENT"]},
    },
    "backup": {
        "schedule": None,
        "rpoMinutes": 240,
        "retentionDays": 30,
        "deleteLockDays": 3,
        "lockRetention": True,
        "namespaces": ["prod"],
        "encryptionKey": f"{KEYS}/backups",
        "restoreMode": "MERGE_SKIP_ON_CONFLICT",
    },
    "nodePools": [
        {"name": "general", "minNodes": 3, "taints": [{"key": "dedicated", "value": "ci", "effect": "NO_EXECUTE"}]},
        {"name": "spot", "spot": True, "minNodes": 0, "upgrade": {"strategy": "blue-green"}},
    ],
}
# Only the DNS endpoint, a topic of the stack's choosing, no managed policy, no backups.
DNS_ONLY_AUTOPILOT: dict[str, Any] = {
    "kind": "gke-autopilot",
    "project": PROJECT_ID,
    "location": "europe-west1",
    "ipEndpoints": False,
    "binaryAuthorization": {"managePolicy": False},
    "maintenance": {"window": {"days": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"], "hours": 4}},
    "backup": {"enabled": False},
}


@pytest.fixture(scope="session")
def validator() -> Path:
    built = subprocess.run(
        ["bash", str(REPO / "toolchain" / "gcp-validator.sh")], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        pytest.fail(f"toolchain/gcp-validator.sh failed:\n{built.stderr}", pytrace=False)
    return Path(built.stdout.strip())


def validate(validator: Path, batch: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(validator)], input=json.dumps(batch), capture_output=True, text=True, check=False)


def gcp_inputs(graph: Graph) -> list[dict[str, Any]]:
    return [
        {"type": resource.type, "name": resource.name, "inputs": resource.inputs}
        for resource in graph
        if resource.type in VALIDATED_TYPES
    ]


def prod_program(run_program: ProgramRunner) -> Graph:
    return run_program(main, stack_file_config("prod"), secrets={"registryPassword": "x"}, stack="prod")


def cluster_program(raw: dict[str, Any]) -> Callable[[ProgramRunner], Graph]:
    def run(run_program: ProgramRunner) -> Graph:
        cluster = validate_stack_config({"cluster": raw}).cluster
        assert isinstance(cluster, GkeStandardConfig | GkeAutopilotConfig)
        return run_program(lambda: GkeCluster("gke", cluster, admitted_images=["europe-docker.pkg.dev/x/apps/**"]))

    return run


@pytest.mark.parametrize(
    ("program", "expected_types"),
    [
        pytest.param(prod_program, set(VALIDATED_TYPES) - {"gcp:container/nodePool:NodePool"}, id="prod"),
        pytest.param(cluster_program(EVERYTHING_STANDARD), set(VALIDATED_TYPES), id="standard-everything-on"),
        pytest.param(
            cluster_program(DNS_ONLY_AUTOPILOT),
            {"gcp:container/cluster:Cluster", "gcp:pubsub/topic:Topic"},
            id="autopilot-dns-only",
        ),
    ],
)
def test_gke_inputs_pass_the_providers_validation(
    run_program: ProgramRunner,
    validator: Path,
    program: Callable[[ProgramRunner], Graph],
    expected_types: set[str],
) -> None:
    batch = gcp_inputs(program(run_program))
    assert {entry["type"] for entry in batch} == expected_types

    result = validate(validator, batch)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "error" not in result.stdout, result.stdout


def test_the_validator_rejects_what_the_provider_rejects(run_program: ProgramRunner, validator: Path) -> None:
    """The check above can fail: wrong enums, formats and argument names are reported."""
    batch = gcp_inputs(prod_program(run_program))
    broken = copy.deepcopy(batch)
    by_type = {entry["type"]: entry["inputs"] for entry in broken}
    by_type["gcp:container/cluster:Cluster"]["binaryAuthorization"]["evaluationMode"] = "ENFORCE"
    by_type["gcp:container/cluster:Cluster"]["maintenancePolicy"]["recurringWindow"]["startTime"] = "Saturday 01:00"
    by_type["gcp:container/cluster:Cluster"]["dnsEndpoint"] = True  # a config key, not a provider argument
    by_type["gcp:binaryauthorization/policy:Policy"]["defaultAdmissionRule"]["enforcementMode"] = "ENFORCED"

    result = validate(validator, broken)

    assert result.returncode == 1
    for needle in (
        "binary_authorization.0.evaluation_mode",
        "maintenance_policy.0.recurring_window.0.start_time",
        "dnsEndpoint: no such argument",
        "default_admission_rule.0.enforcement_mode",
    ):
        assert needle in result.stdout, result.stdout
