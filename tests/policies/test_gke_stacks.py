"""The prod stack (GKE Autopilot) and its Standard alternative, as the GKE component
registers them under mocks, pass the pack's GKE and Kubernetes rules; a zonal Standard
cluster gets the zonal-SLA advisory exactly when the config loader warns about it."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy import EnforcementLevel

from components.config import GkeStandardConfig, validate_stack_config
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config
from tests.policies.harness import Finding, Pack, from_graph

SECRETS = {"registryPassword": "not-a-real-password"}


def _standard(location: str, min_nodes: int) -> dict[str, Any]:
    config = stack_file_config("prod")
    config["cluster"] = {
        **config["cluster"],
        "kind": "gke-standard",
        "location": location,
        "nodePools": [{"name": "general", "minNodes": min_nodes, "maxNodes": max(min_nodes, 3)}],
    }
    return config


def _findings(run_program: ProgramRunner, config: dict[str, Any]) -> list[Finding]:
    graph = run_program(main, config=config, secrets=SECRETS, stack="prod")
    assert graph.of_type("gcp:container/cluster:Cluster"), "no GKE cluster registered"
    return Pack().check(from_graph(graph))


@pytest.mark.parametrize(
    "config",
    [stack_file_config("prod"), _standard("europe-west1", 1)],
    ids=["prod-autopilot", "standard-regional"],
)
def test_gke_stack_has_no_mandatory_violations(run_program: ProgramRunner, config: dict[str, Any]) -> None:
    findings = _findings(run_program, config)

    blocking = [f for f in findings if f.enforcement is EnforcementLevel.MANDATORY]
    assert not blocking, "\n".join(f"{f.policy} on {f.urn}: {f.message}" for f in blocking)
    # The prod stack's cluster (and its Standard twin) meets the advisory GKE rules too:
    # maintenance window, boot-disk CMEK, Google Groups, DNS cache, ILB subsetting, ...
    gke_advice = [f for f in findings if f.policy.startswith("gke-")]
    assert not gke_advice, "\n".join(f"{f.policy} on {f.urn}: {f.message}" for f in gke_advice)


@pytest.mark.parametrize("min_nodes", [1, 3])
def test_zonal_sla_advisory_matches_the_config_warning(run_program: ProgramRunner, min_nodes: int) -> None:
    config = _standard("europe-west1-b", min_nodes)
    cluster = validate_stack_config(config).cluster
    assert isinstance(cluster, GkeStandardConfig)
    warned = cluster.warnings()

    policies = {f.policy for f in _findings(run_program, config)}

    assert ("gke-zonal-sla" in policies) is any("99.5%" in warning for warning in warned)
    # Whatever its size, a zonal cluster has one control-plane replica and single-zone pools.
    assert policies >= {"gke-regional-control-plane", "gke-node-pool-zones"}
    assert all(f.startswith("gke-") for f in policies), policies
