"""RollingUpdate: maxSurge/maxUnavailable, a PodDisruptionBudget over exactly the
Deployment's pods, and an optional HorizontalPodAutoscaler that owns the replica count."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, validate_stack_config
from tests.conftest import ProgramRunner
from tests.workload_graph import (
    DEPLOYMENT,
    HPA,
    PDB,
    SERVICE,
    image,
    obj,
    ours,
    pod_labels,
    run_stack,
    selected_deployments,
    selects,
    stack,
)


def catalog(strategy: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "catalog",
        "environment": "uat",
        "image": image("catalog", "2.3.1-b77"),
        "strategy": {"type": "rolling"} | (strategy or {}),
    } | overrides


def test_rollout_parameters_budget_and_service(run_program: ProgramRunner) -> None:
    strategy = {"maxSurge": "50%", "maxUnavailable": 1, "minReadySeconds": 10, "minAvailable": "50%"}
    graph = run_stack(run_program, stack(catalog(strategy, replicas=4)))
    deployment = obj(graph, DEPLOYMENT, "catalog")
    assert deployment.input("spec.strategy") == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 1},
    }
    assert deployment.input("spec.minReadySeconds") == 10
    assert deployment.input("spec.replicas") == 4
    assert selected_deployments(graph, obj(graph, SERVICE, "catalog")) == [deployment]

    budget = obj(graph, PDB, "catalog")
    assert budget.input("metadata.namespace") == "uat"
    assert budget.input("spec.minAvailable") == "50%"
    assert budget.input("spec.selector.matchLabels") == deployment.input("spec.selector.matchLabels")
    assert selects(budget.input("spec.selector.matchLabels"), pod_labels(deployment))
    assert budget.input("spec.unhealthyPodEvictionPolicy") == "AlwaysAllow"
    assert ours(graph, HPA) == []


def test_safe_defaults_surge_without_losing_capacity(run_program: ProgramRunner) -> None:
    deployment = obj(run_stack(run_program, stack(catalog())), DEPLOYMENT, "catalog")
    rolling = deployment.input("spec.strategy.rollingUpdate")
    assert rolling["maxUnavailable"] in (0, "0%")
    assert rolling["maxSurge"] not in (0, "0%")


def test_no_budget_when_min_available_is_null(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(catalog({"minAvailable": None})))
    assert ours(graph, PDB) == []


def test_autoscaler_targets_the_deployment_which_leaves_replicas_to_it(run_program: ProgramRunner) -> None:
    autoscaling = {"minReplicas": 3, "maxReplicas": 12, "targetCpuUtilization": 60}
    graph = run_stack(run_program, stack(catalog({"autoscaling": autoscaling})))
    deployment = obj(graph, DEPLOYMENT, "catalog")
    assert "replicas" not in deployment.inputs["spec"]
    hpa = obj(graph, HPA, "catalog")
    assert hpa.input("metadata.namespace") == "uat"
    assert hpa.input("spec.scaleTargetRef") == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "catalog"}
    assert deployment.urn in hpa.depends_on
    assert (hpa.input("spec.minReplicas"), hpa.input("spec.maxReplicas")) == (3, 12)
    (metric,) = hpa.input("spec.metrics")
    assert metric == {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}},
    }


def test_component_type_and_parents(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(catalog({"autoscaling": {}})))
    component = graph.one("delivery-platform:workloads:RollingApp")
    assert {r.type for r in graph.children(component)} == {
        DEPLOYMENT,
        SERVICE,
        PDB,
        HPA,
        "kubernetes:core/v1:ServiceAccount",
    }
    assert all(child.input("metadata.namespace") == "uat" for child in graph.children(component))


@pytest.mark.parametrize(
    ("app", "expected"),
    [
        pytest.param(
            catalog({"maxSurge": 0, "maxUnavailable": 0}),
            "delivery-platform:apps[0].strategy.maxSurge: maxSurge and maxUnavailable cannot both be 0",
            id="cannot-progress",
        ),
        pytest.param(
            catalog({"maxSurge": "150%"}),
            "delivery-platform:apps[0].strategy.maxSurge: '150%' is neither a whole number nor a percentage",
            id="percent-over-100",
        ),
        pytest.param(
            catalog({"autoscaling": {"minReplicas": 2}}, replicas=3),
            "delivery-platform:apps[0].replicas: remove it",
            id="replicas-with-autoscaler",
        ),
        pytest.param(
            catalog({"minAvailable": 2}, replicas=2),
            "delivery-platform:apps[0].strategy.minAvailable: 2 with 2 replica(s) allows no voluntary eviction",
            id="budget-blocks-drains",
        ),
        pytest.param(
            catalog({"minAvailable": "60%"}, replicas=2),
            "delivery-platform:apps[0].strategy.minAvailable: 60% with 2 replica(s) allows no voluntary eviction",
            id="budget-percent-rounds-up",
        ),
        pytest.param(
            catalog({"autoscaling": {"minReplicas": 5, "maxReplicas": 4}}),
            "delivery-platform:apps[0].strategy.autoscaling.minReplicas: 5 is greater than maxReplicas 4",
            id="autoscaling-bounds",
        ),
    ],
)
def test_bad_rolling_settings_are_rejected_naming_the_key(app: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config(stack(app))
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems


def test_a_budget_that_leaves_room_to_evict_is_accepted() -> None:
    config = validate_stack_config(stack(catalog({"minAvailable": "50%"}, replicas=2)))
    assert config.apps[0].replicas == 2
