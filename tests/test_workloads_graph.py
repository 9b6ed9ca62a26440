"""Properties of the whole application graph of both stacks: every Service selects
exactly one Deployment's pods, tracks never overlap, every object sits explicitly in
its environment's namespace under its strategy component, through the platform's
Kubernetes provider."""

from __future__ import annotations

import asyncio

import pulumi
import pytest

from components.config import validate_stack_config
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

COMPONENTS = {
    "recreate": "delivery-platform:workloads:RecreateApp",
    "rolling": "delivery-platform:workloads:RollingApp",
    "blue-green": "delivery-platform:workloads:BlueGreenApp",
    "canary": "delivery-platform:workloads:CanaryApp",
}
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
        # Prod delivers its apps through Git; the release tool renders them with these very
        # components, so their graph is checked here as Pulumi would apply it.
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


def test_one_component_per_app_of_its_strategy_under_the_platform(stack_graph: tuple[str, Graph]) -> None:
    name, graph = stack_graph
    config = validate_stack_config(stack_file_config(name))
    platform = graph.one("delivery-platform:platform:Platform")
    for app in config.apps:
        component = graph.one(COMPONENTS[app.strategy.type], f"{name}-{app.environment}-{app.name}")
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


def test_every_deployment_is_awaited_by_one_condition_on_its_live_replica_count(stack_graph: tuple[str, Graph]) -> None:
    """What depends on a Deployment (a Blue/Green selector switch, a canary route, a
    migration Job) must not start while old pods still serve, and pulumi-kubernetes' own
    Deployment await can take a stale status for a finished rollout. Its replacement
    compares the status with the live spec.replicas, so one condition serves every
    Deployment, whoever sets the count (the stack, an autoscaler, the Recreate patch),
    and a replica change does not change it (no extra diff in previews)."""
    _, graph = stack_graph
    deployments = ours(graph, DEPLOYMENT)
    conditions = {d.input("metadata.annotations").get("pulumi.com/waitFor") for d in deployments}
    assert len(deployments) > 1
    (condition,) = conditions
    assert condition.startswith("jsonpath=")
    for status_field in (
        "observedGeneration",
        "updatedReplicas",
        "availableReplicas",
        "replicas",
        "terminatingReplicas",
    ):
        assert f"@.{status_field}" in condition
    assert "$.spec.replicas" in condition
