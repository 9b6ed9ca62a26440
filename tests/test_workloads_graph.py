"""Properties of the whole application graph of both stacks: every Service selects
exactly one Deployment's pods, tracks never overlap, every object sits explicitly in
its environment's namespace under its strategy component, through the platform's
Kubernetes provider."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import jsonpath_rfc9535
import pulumi
import pytest

from components.config import validate_stack_config
from components.workloads.rollout import ROLLED_OUT
from tests.conftest import ProgramRunner, stack_file_config
from tests.graph import Graph
from tests.workload_graph import (
    DEPLOYMENT,
    PDB,
    SERVICE,
    container,
    ours,
    pod_labels,
    run_stack,
    selected_deployments,
    selects,
)

COMPONENT = "delivery-platform:workloads:AppWorkload"
CLUSTER_SCOPED = {"kubernetes:core/v1:Namespace"}


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack_graph(request: pytest.FixtureRequest) -> tuple[str, Graph]:
    """Each stack's graph, built once for all the property tests below (the runner's
    own fixture is per test); the event loop lives only for the run."""
    name: str = request.param
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        config = stack_file_config(name)
        # Both stacks deliver apps through Git; the release tool renders them with these
        # very components, so their graph is checked here as Pulumi would apply it.
        config["apps"] = [{**app, "delivery": "pulumi"} for app in config["apps"]]
        graph = run_stack(ProgramRunner(), config, secrets={"registryPassword": "mock-password"}, stack_name=name)
    finally:
        pulumi.runtime.set_all_config({})
        loop.close()
        asyncio.set_event_loop(None)
    return name, graph


def test_every_service_and_budget_selects_exactly_one_deployment(stack_graph: tuple[str, Graph]) -> None:
    _, graph = stack_graph
    services = ours(graph, SERVICE)
    assert services
    for service in services:
        assert len(selected_deployments(graph, service)) == 1, service.name
    for budget in ours(graph, PDB):
        namespace = budget.input("metadata.namespace")
        matched = [
            d
            for d in ours(graph, DEPLOYMENT)
            if d.input("metadata.namespace") == namespace
            and selects(budget.input("spec.selector.matchLabels"), pod_labels(d))
        ]
        assert len(matched) == 1, budget.name


def test_deployments_select_their_own_pods_and_no_one_elses(stack_graph: tuple[str, Graph]) -> None:
    _, graph = stack_graph
    deployments = ours(graph, DEPLOYMENT)
    for deployment in deployments:
        selector = deployment.input("spec.selector.matchLabels")
        for other in deployments:
            same_namespace = other.input("metadata.namespace") == deployment.input("metadata.namespace")
            overlaps = same_namespace and selects(selector, pod_labels(other))
            assert overlaps == (other is deployment), (deployment.name, other.name)


def test_one_component_per_app_under_the_platform(stack_graph: tuple[str, Graph]) -> None:
    name, graph = stack_graph
    config = validate_stack_config(stack_file_config(name))
    platform = graph.one("delivery-platform:platform:Platform")
    for app in config.apps:
        component = graph.one(COMPONENT, f"{name}-{app.environment}-{app.name}")
        assert component.parent == platform.urn
        children = graph.children(component)
        assert children
        assert {child.input("metadata.namespace") for child in children} == {app.environment}


def test_every_namespaced_object_names_its_environment_and_uses_the_platform_provider(
    stack_graph: tuple[str, Graph],
) -> None:
    name, graph = stack_graph
    environments = {env.name for env in validate_stack_config(stack_file_config(name)).environments}
    provider_urns = {r.urn for r in graph.of_type("pulumi:providers:kubernetes")}
    workloads = [
        r
        for r in graph.kubernetes_objects()
        if any(
            a.type.startswith(("delivery-platform:workloads:", "delivery-platform:environment:"))
            for a in graph.ancestors(r)
        )
    ]
    assert workloads
    for resource in workloads:
        assert resource.provider_urn in provider_urns, resource.name
        if resource.type not in CLUSTER_SCOPED:
            assert resource.input("metadata.namespace") in environments, resource.name


def test_every_app_container_is_pinned_and_pulled_if_not_present(stack_graph: tuple[str, Graph]) -> None:
    _, graph = stack_graph
    for workload in ours(graph, DEPLOYMENT) + ours(graph, "kubernetes:batch/v1:Job"):
        main = container(workload)
        assert main["imagePullPolicy"] == "IfNotPresent"
        assert ":" in main["image"].rsplit("/", 1)[-1] or "@sha256:" in main["image"]


def test_every_deployment_is_awaited_by_the_one_rollout_condition(stack_graph: tuple[str, Graph]) -> None:
    """One condition serves every Deployment, whoever sets the count (the stack, an
    autoscaler, the Recreate scale-back): it compares the status with the live
    spec.replicas, so a count change does not change it (no extra diff in previews)."""
    _, graph = stack_graph
    deployments = ours(graph, DEPLOYMENT)
    assert len(deployments) > 1
    assert {d.input("metadata.annotations").get("pulumi.com/waitFor") for d in deployments} == {ROLLED_OUT}


def provider_condition_holds(condition: str, deployment: dict[str, Any]) -> bool:
    """What pulumi-kubernetes 4.25 does with a `pulumi.com/waitFor` JSONPath condition
    (provider/pkg/jsonpath and await/condition/jsonpath.go): strip `jsonpath=`, split
    the rest on a lone `=` (path=value; `==` survives), take the expression between
    braces, prefix `$`, select with an RFC 9535 implementation (theory/jsonpath there,
    jsonpath-rfc9535 here) and call it satisfied when anything is selected - but only
    once status.observedGeneration has caught up with metadata.generation."""
    assert condition.startswith("jsonpath=")
    path, *value = condition.removeprefix("jsonpath=").replace("==", "\0").split("=")
    assert value == [], "a lone '=' (as in <=, >=, !=) would make the provider compare with a value"
    (expression,) = re.fullmatch(r"\{\s*(.*?)\s*\}", path.replace("\0", "==")).groups()  # type: ignore[union-attr]
    status = deployment.get("status", {})
    if status.get("observedGeneration", 0) < deployment["metadata"]["generation"] and "observedGeneration" in status:
        return False
    return bool(jsonpath_rfc9535.find(expression, deployment).values())


def deployment_with(wanted: int, generation: int = 7, **status: int) -> dict[str, Any]:
    """A Deployment as the API server returns it: spec.replicas `wanted`, and a status
    that, like the server's, leaves zero counts out."""
    return {"metadata": {"generation": generation}, "spec": {"replicas": wanted}, "status": status}


ROLLOUT_SAMPLES = [
    pytest.param(
        deployment_with(3, observedGeneration=7, replicas=3, updatedReplicas=3, availableReplicas=3, readyReplicas=3),
        True,
        id="rolled-out",
    ),
    pytest.param(
        deployment_with(3, observedGeneration=6, replicas=3, updatedReplicas=3, availableReplicas=3),
        False,
        id="status-of-the-previous-generation",
    ),
    pytest.param(deployment_with(3, replicas=3, updatedReplicas=3, availableReplicas=3), False, id="never-observed"),
    pytest.param(
        deployment_with(3, observedGeneration=7, replicas=3, updatedReplicas=2, availableReplicas=3),
        False,
        id="an-old-pod-left",
    ),
    pytest.param(
        deployment_with(3, observedGeneration=7, replicas=3, updatedReplicas=3, availableReplicas=2),
        False,
        id="a-new-pod-not-available",
    ),
    pytest.param(
        deployment_with(3, observedGeneration=7, replicas=4, updatedReplicas=3, availableReplicas=3),
        False,
        id="surge-pod-still-running",
    ),
    pytest.param(
        deployment_with(5, observedGeneration=7, replicas=3, updatedReplicas=3, availableReplicas=3),
        False,
        id="autoscaler-raised-the-live-count",
    ),
    pytest.param(deployment_with(3, observedGeneration=7), False, id="no-pod-yet"),
    pytest.param(deployment_with(0, observedGeneration=7, terminatingReplicas=0), True, id="at-zero"),
    pytest.param(deployment_with(0, observedGeneration=7), True, id="at-zero-cluster-without-terminating-count"),
    pytest.param(deployment_with(0, observedGeneration=7, terminatingReplicas=2), False, id="at-zero-pods-terminating"),
    pytest.param(
        deployment_with(0, observedGeneration=7, replicas=1, availableReplicas=1), False, id="at-zero-pod-still-running"
    ),
]


@pytest.mark.parametrize(("deployment", "rolled_out"), ROLLOUT_SAMPLES)
def test_the_rollout_condition_holds_exactly_for_a_finished_rollout(
    deployment: dict[str, Any], rolled_out: bool
) -> None:
    """Evaluated, not substring-matched: turning an `&&` into `||`, `== 0` into `>= 0`,
    or dropping a clause makes one of these samples come out the other way."""
    assert provider_condition_holds(ROLLED_OUT, deployment) is rolled_out
