"""Recreate: a Deployment with strategy Recreate and its Service; with a migration,
scale to 0 -> migration Job with the new image -> scale back, ordered by dependencies."""

from __future__ import annotations

from typing import Any

from tests.conftest import ProgramRunner
from tests.graph import Graph
from tests.workload_graph import (
    DEPLOYMENT,
    DEPLOYMENT_PATCH,
    JOB,
    RENDER,
    SERVICE,
    container,
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

NEW = image("orders", "2.0.0-b88")
MIGRATION: dict[str, Any] = {"command": ["/app/migrate", "--up"], "backoffLimit": 2, "activeDeadlineSeconds": 900}


def orders(**overrides: Any) -> dict[str, Any]:
    strategy = {"type": "recreate", "migration": MIGRATION}
    return {"name": "orders", "environment": "test", "image": NEW, "replicas": 3, "strategy": strategy} | overrides


def component_children(graph: Graph) -> list[str]:
    component = graph.one("delivery-platform:workloads:RecreateApp")
    return sorted(r.type for r in graph.children(component))


def test_plain_recreate_is_a_deployment_and_its_service(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders(strategy={"type": "recreate"})))
    assert component_children(graph) == sorted([DEPLOYMENT, SERVICE, "kubernetes:core/v1:ServiceAccount"])
    deployment = obj(graph, DEPLOYMENT, "orders")
    assert deployment.input("spec.strategy") == {"type": "Recreate"}
    assert deployment.input("spec.replicas") == 3
    assert deployment.input("metadata.namespace") == "test"
    assert container(deployment)["image"] == NEW
    assert selected_deployments(graph, obj(graph, SERVICE, "orders")) == [deployment]


def test_migration_runs_between_scale_to_zero_and_scale_back(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders()))
    deployment = obj(graph, DEPLOYMENT, "orders")
    (job,) = ours(graph, JOB)
    (scale_back,) = ours(graph, DEPLOYMENT_PATCH)

    # 1. The new template goes out at 0 replicas: Recreate stops every old pod first.
    assert deployment.input("spec.strategy") == {"type": "Recreate"}
    assert deployment.input("spec.replicas") == 0
    assert container(deployment)["image"] == NEW

    # 2. The Job waits for that rollout and migrates with the new image.
    assert depends_on(job, deployment)
    assert job.input("metadata.namespace") == "test"
    assert container(job)["image"] == NEW
    assert container(job)["command"] == MIGRATION["command"]
    assert job.input("spec.backoffLimit") == MIGRATION["backoffLimit"]
    assert job.input("spec.activeDeadlineSeconds") == MIGRATION["activeDeadlineSeconds"]
    assert job.input("spec.template.spec.restartPolicy") == "Never"
    # Migration pods are the app's, but no Service sends them requests.
    assert pod_labels(job)["app.kubernetes.io/name"] == "orders"
    assert pod_labels(job)["app.kubernetes.io/component"] != pod_labels(deployment)["app.kubernetes.io/component"]
    assert not selects(obj(graph, SERVICE, "orders").input("spec.selector"), pod_labels(job))
    # A failed migration runs again on the next `pulumi up` instead of blocking it.
    assert job.input("metadata.annotations")["pulumi.com/replaceUnready"] == "true"
    # Pulumi keeps waiting at least as long as the Job may run.
    await_seconds = int(job.input("metadata.annotations")["pulumi.com/timeoutSeconds"])
    assert await_seconds > MIGRATION["activeDeadlineSeconds"]
    assert job.input("spec.template.spec.serviceAccountName") == deployment.input(
        "spec.template.spec.serviceAccountName"
    )

    # 3. Only after the Job succeeded is the same Deployment scaled back.
    assert scale_back.input("metadata.name") == "orders"
    assert scale_back.input("metadata.namespace") == "test"
    assert scale_back.input("spec.replicas") == 3
    assert depends_on(scale_back, job)
    assert depends_on(scale_back, deployment)  # keyed on its generation: re-applied after each change
    assert job.input("metadata.name") in scale_back.input("metadata.annotations").values()

    # Both writers of spec.replicas take the field over from each other.
    for writer in (deployment, scale_back):
        assert writer.input("metadata.annotations")["pulumi.com/patchForce"] == "true"


def test_migration_job_name_changes_exactly_when_the_image_or_command_does(run_program: ProgramRunner) -> None:
    def job_name(**overrides: Any) -> str:
        (job,) = ours(run_stack(run_program, stack(orders(**overrides))), JOB)
        name: str = job.input("metadata.name")
        return name

    first = job_name()
    assert first.startswith("orders-migrate-")
    assert len(first) <= 63
    assert job_name() == first
    assert job_name(replicas=5) == first
    assert job_name(image=image("orders", "2.0.1-b90")) != first
    changed_command = {"type": "recreate", "migration": MIGRATION | {"command": ["/app/migrate", "--up", "--v2"]}}
    assert job_name(strategy=changed_command) != first


def test_rendered_manifests_get_the_final_replica_count_and_no_patch(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders(), cluster=RENDER))
    deployment = obj(graph, DEPLOYMENT, "orders")
    assert deployment.input("spec.replicas") == 3
    # Nothing takes replicas over from it, so it claims no field by force.
    assert "pulumi.com/patchForce" not in deployment.inputs["metadata"].get("annotations", {})
    assert ours(graph, DEPLOYMENT_PATCH) == []
    (job,) = ours(graph, JOB)
    assert container(job)["image"] == NEW


def test_every_object_is_a_child_of_the_component_in_the_apps_namespace(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders()))
    component = graph.one("delivery-platform:workloads:RecreateApp")
    provider = graph.one("pulumi:providers:kubernetes")
    assert graph.by_urn(component.parent).type == "delivery-platform:platform:Platform"
    children = graph.children(component)
    assert {r.type for r in children} == {
        DEPLOYMENT,
        SERVICE,
        JOB,
        DEPLOYMENT_PATCH,
        "kubernetes:core/v1:ServiceAccount",
    }
    for child in children:
        assert child.name.startswith(f"{component.name}-")
        assert child.input("metadata.namespace") == "test"
        assert child.provider_urn == provider.urn
