"""RollingUpdate: maxSurge/maxUnavailable, a PodDisruptionBudget over exactly the
Deployment's pods, and an optional HorizontalPodAutoscaler that owns the replica count
from the moment it exists, without the Deployment ever resetting or fighting over it."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, validate_stack_config
from tests.conftest import ProgramRunner
from tests.graph import Graph
from tests.workload_graph import (
    DEPLOYMENT,
    HPA,
    PDB,
    SERVICE,
    annotations_of,
    depends_on,
    image,
    obj,
    ours,
    pod_labels,
    run_stack,
    selected_deployments,
    selects,
    stack,
)

REPLICAS_OWNER = "delivery-platform/replicas-owner"
AUTOSCALING = {"minReplicas": 3, "maxReplicas": 12, "targetCpuUtilization": 60}


def catalog(strategy: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    return {
        "name": "catalog",
        "environment": "uat",
        "image": image("catalog", "2.3.1-b77"),
        "strategy": {"type": "rolling"} | (strategy or {}),
    } | overrides


def run(run_program: ProgramRunner, app: dict[str, Any]) -> Graph:
    return run_stack(run_program, stack(app))


def test_rollout_parameters_budget_and_service(run_program: ProgramRunner) -> None:
    strategy = {"maxSurge": "50%", "maxUnavailable": 1, "minReadySeconds": 10}
    graph = run(run_program, catalog(strategy, replicas=4, maxUnavailable="25%"))
    deployment = obj(graph, DEPLOYMENT, "catalog")
    assert deployment.input("spec.strategy") == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "50%", "maxUnavailable": 1},
    }
    assert deployment.input("spec.minReadySeconds") == 10
    assert deployment.input("spec.replicas") == 4
    service = obj(graph, SERVICE, "catalog")
    assert selected_deployments(graph, service) == [deployment]
    assert depends_on(service, deployment)

    budget = obj(graph, PDB, "catalog")
    assert budget.input("metadata.namespace") == "uat"
    assert budget.input("spec.maxUnavailable") == "25%"
    assert "minAvailable" not in budget.inputs["spec"]
    assert budget.input("spec.selector.matchLabels") == deployment.input("spec.selector.matchLabels")
    assert selects(budget.input("spec.selector.matchLabels"), pod_labels(deployment))
    assert budget.input("spec.unhealthyPodEvictionPolicy") == "AlwaysAllow"
    assert ours(graph, HPA) == []
    # Pulumi owns the count and takes it back from anyone who changed it.
    assert annotations_of(deployment)[REPLICAS_OWNER] == "pulumi"
    assert annotations_of(deployment)["pulumi.com/patchForce"] == "true"
    assert deployment.options["ignoreChanges"] == []


def test_safe_defaults_surge_without_losing_capacity(run_program: ProgramRunner) -> None:
    deployment = obj(run(run_program, catalog()), DEPLOYMENT, "catalog")
    rolling = deployment.input("spec.strategy.rollingUpdate")
    assert rolling["maxUnavailable"] in (0, "0%")
    assert rolling["maxSurge"] not in (0, "0%")


@pytest.mark.parametrize(("overrides", "budget"), [({"maxUnavailable": None}, False), ({"replicas": 1}, False)])
def test_no_budget_when_disabled_or_for_a_single_pod(
    run_program: ProgramRunner, overrides: dict[str, Any], budget: bool
) -> None:
    assert bool(ours(run(run_program, catalog(**overrides)), PDB)) is budget


def test_the_autoscaler_owns_the_count_and_the_deployment_only_starts_it(run_program: ProgramRunner) -> None:
    graph = run(run_program, catalog({"autoscaling": AUTOSCALING}))
    deployment = obj(graph, DEPLOYMENT, "catalog")
    # Created at minReplicas (never at the API default of 1), and never set again: with
    # changes ignored, pulumi-kubernetes sends the live count while the Deployment still
    # owns the field and leaves it out once the autoscaler has taken it.
    assert deployment.input("spec.replicas") == AUTOSCALING["minReplicas"]
    assert deployment.options["ignoreChanges"] == ["spec.replicas"]
    assert annotations_of(deployment)[REPLICAS_OWNER] == "autoscaler"
    hpa = obj(graph, HPA, "catalog")
    assert hpa.input("metadata.namespace") == "uat"
    assert hpa.input("spec.scaleTargetRef") == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "catalog"}
    assert depends_on(hpa, deployment)
    assert (hpa.input("spec.minReplicas"), hpa.input("spec.maxReplicas")) == (3, 12)
    (metric,) = hpa.input("spec.metrics")
    assert metric == {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}},
    }
    assert obj(graph, PDB, "catalog").input("spec.maxUnavailable") == 1


def test_switching_autoscaling_changes_the_deployment_so_the_owner_changes_hands(run_program: ProgramRunner) -> None:
    """Off -> on: the Deployment keeps its running count (an update with the count
    ignored). On -> off: the owner annotation changes, so the Deployment is updated
    even when apps[].replicas equals the last count Pulumi saw, and takes the count back
    from the autoscaler by force instead of leaving whatever it last scaled to."""
    fixed = obj(run(run_program, catalog(replicas=3)), DEPLOYMENT, "catalog")
    scaled = obj(run(run_program, catalog({"autoscaling": AUTOSCALING})), DEPLOYMENT, "catalog")
    assert fixed.input("spec.replicas") == scaled.input("spec.replicas")
    assert annotations_of(fixed)[REPLICAS_OWNER] != annotations_of(scaled)[REPLICAS_OWNER]
    assert fixed.input("spec.template") == scaled.input("spec.template")
    assert fixed.urn == scaled.urn


def test_one_component_type_for_every_strategy_with_the_former_types_as_aliases(run_program: ProgramRunner) -> None:
    graph = run(run_program, catalog({"autoscaling": {}}))
    component = graph.one("delivery-platform:workloads:AppWorkload")
    assert sorted(component.options["aliases"]) == sorted(
        f"delivery-platform:workloads:{name}" for name in ("RecreateApp", "RollingApp", "BlueGreenApp", "CanaryApp")
    )
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
            catalog(maxUnavailable=0),
            "delivery-platform:apps[0].maxUnavailable: 0 allows no voluntary eviction",
            id="budget-blocks-drains",
        ),
        pytest.param(
            catalog(maxUnavailable="0%"),
            "delivery-platform:apps[0].maxUnavailable: 0 allows no voluntary eviction",
            id="budget-percent-blocks-drains",
        ),
        pytest.param(
            catalog({"minAvailable": 1}),
            "delivery-platform:apps[0].strategy: strategy.minAvailable is gone",
            id="moved-budget",
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
