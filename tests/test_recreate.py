"""Recreate: a Deployment with strategy Recreate and its Service; with a migration, the
Deployment is stopped (replaced) whenever what the migration runs changes, the Job runs
with no app pod left, and a scale-back patch brings the pods back, in that order."""

from __future__ import annotations

from typing import Any

from tests.conftest import ProgramRunner
from tests.graph import Graph, Registered
from tests.workload_graph import (
    DEPLOYMENT,
    DEPLOYMENT_PATCH,
    JOB,
    RENDER,
    SERVICE,
    annotations_of,
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
MIGRATION_JOB = "delivery-platform/migration-job"
COMPONENT = "delivery-platform:workloads:AppWorkload"


def orders(migration: dict[str, Any] | None = MIGRATION, **overrides: Any) -> dict[str, Any]:
    strategy: dict[str, Any] = {"type": "recreate"}
    if migration is not None:
        strategy["migration"] = migration
    return {"name": "orders", "environment": "test", "image": NEW, "replicas": 3, "strategy": strategy} | overrides


def migration_objects(graph: Graph) -> tuple[Registered, Registered, Registered, Registered]:
    (job,) = ours(graph, JOB)
    (scale_back,) = ours(graph, DEPLOYMENT_PATCH)
    return obj(graph, DEPLOYMENT, "orders"), job, scale_back, obj(graph, SERVICE, "orders")


def test_plain_recreate_is_a_deployment_and_its_service_which_waits_for_it(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders(migration=None)))
    deployment, service = obj(graph, DEPLOYMENT, "orders"), obj(graph, SERVICE, "orders")
    assert deployment.input("spec.strategy") == {"type": "Recreate"}
    assert deployment.input("spec.replicas") == 3
    assert deployment.input("metadata.namespace") == "test"
    assert container(deployment)["image"] == NEW
    assert selected_deployments(graph, service) == [deployment]
    # Switching to Recreate from a strategy with other Deployments: the Service moves
    # to this one only once it runs.
    assert depends_on(service, deployment)
    assert ours(graph, JOB) == ours(graph, DEPLOYMENT_PATCH) == []
    assert "ignoreChanges" not in deployment.options or deployment.options["ignoreChanges"] == []


def test_migration_runs_after_the_app_stopped_and_before_the_scale_back(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders()))
    deployment, job, scale_back, service = migration_objects(graph)

    # 1. The Deployment: created at 0 replicas and replaced (deleted first, which waits
    # for every old pod to be gone) whenever its migration Job changes.
    assert deployment.input("spec.replicas") == 0
    assert deployment.input("spec.strategy") == {"type": "Recreate"}
    assert container(deployment)["image"] == NEW
    assert annotations_of(deployment)[MIGRATION_JOB] == job.input("metadata.name")
    assert deployment.options["replaceOnChanges"] == [f'metadata.annotations["{MIGRATION_JOB}"]']
    assert deployment.options["deleteBeforeReplace"] is True
    # It never sets the count again: the scale-back owns it (no refresh takes the app to 0).
    assert deployment.options["ignoreChanges"] == ["spec.replicas"]
    assert annotations_of(deployment)["delivery-platform/replicas-owner"] == "scale-back"

    # 2. The Job waits for that Deployment and migrates with the new image.
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
    assert not selects(service.input("spec.selector"), pod_labels(job))
    # A failed migration runs again on the next `pulumi up` instead of blocking it.
    assert annotations_of(job)["pulumi.com/replaceUnready"] == "true"
    # Pulumi keeps waiting at least as long as the Job may run.
    assert int(annotations_of(job)["pulumi.com/timeoutSeconds"]) > MIGRATION["activeDeadlineSeconds"]
    assert job.input("spec.template.spec.serviceAccountName") == deployment.input(
        "spec.template.spec.serviceAccountName"
    )

    # 3. Only after the Job succeeded is the same Deployment scaled back, awaited rolled out.
    assert (scale_back.input("metadata.name"), scale_back.input("metadata.namespace")) == ("orders", "test")
    assert scale_back.input("spec.replicas") == 3
    assert depends_on(scale_back, job)
    assert annotations_of(scale_back)["pulumi.com/waitFor"] == annotations_of(deployment)["pulumi.com/waitFor"]
    # Both writers of spec.replicas take the field over from each other.
    for writer in (deployment, scale_back):
        assert annotations_of(writer)["pulumi.com/patchForce"] == "true"

    # 4. The Service (new to this app after a strategy change) waits for the pods.
    assert depends_on(service, scale_back)


def test_scale_back_is_applied_again_exactly_when_a_new_migration_ran(run_program: ProgramRunner) -> None:
    """Replaces a test of a key that was the string "None" under mocks: the scale-back
    names the Job it follows, so it changes with every new migration and only then."""

    def scale_back_key(**overrides: Any) -> str:
        deployment, job, scale_back, _ = migration_objects(run_stack(run_program, stack(orders(**overrides))))
        key = annotations_of(scale_back)[MIGRATION_JOB]
        assert key == job.input("metadata.name") == annotations_of(deployment)[MIGRATION_JOB]
        return key

    first = scale_back_key()
    assert scale_back_key(replicas=5) == first
    assert scale_back_key(migration=MIGRATION | {"command": ["/app/migrate", "--up", "--v2"]}) != first
    assert scale_back_key(image=image("orders", "2.0.1-b90")) != first


def test_anything_the_migration_runs_with_makes_a_new_job_and_stops_the_app_first(run_program: ProgramRunner) -> None:
    """A command-only change (or new env, or resources) must not run against the live
    app: it is a new Job name, hence a new annotation on the Deployment, which replaces
    it (stops every pod) before the Job runs."""

    def job_name(**overrides: Any) -> str:
        deployment, job, _, _ = migration_objects(run_stack(run_program, stack(orders(**overrides))))
        name: str = job.input("metadata.name")
        assert annotations_of(deployment)[MIGRATION_JOB] == name
        return name

    first = job_name()
    assert first.startswith("orders-migrate-")
    assert len(first) <= 63
    assert job_name() == first
    unchanged: list[dict[str, Any]] = [
        {"replicas": 5},
        {"probes": {"readiness": {"path": "/ready"}}},
        {"port": 9090},
        {"maxUnavailable": 2},
    ]
    for overrides in unchanged:
        assert job_name(**overrides) == first, overrides
    changed: list[dict[str, Any]] = [
        {"image": image("orders", "2.0.1-b90")},
        {"migration": MIGRATION | {"command": ["/app/migrate", "--up", "--v2"]}},
        {"env": [{"name": "DB_HOST", "value": "orders-db"}]},
        {"resources": {"memoryLimit": "1Gi"}},
        {"secrets": ["orders-db"]},
    ]
    names = [job_name(**overrides) for overrides in changed]
    assert len({first, *names}) == len(changed) + 1, names


def test_rendered_manifests_get_the_final_replica_count_and_no_patch(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders(), cluster=RENDER))
    deployment = obj(graph, DEPLOYMENT, "orders")
    assert deployment.input("spec.replicas") == 3
    assert ours(graph, DEPLOYMENT_PATCH) == []
    # Nothing else owns the count, so nothing is ignored or replaced.
    assert deployment.options["ignoreChanges"] == []
    assert deployment.options["replaceOnChanges"] == []
    assert annotations_of(deployment)["delivery-platform/replicas-owner"] == "pulumi"
    (job,) = ours(graph, JOB)
    assert container(job)["image"] == NEW
    assert depends_on(job, deployment)


def test_every_object_is_a_child_of_the_component_in_the_apps_namespace(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(orders()))
    component = graph.one(COMPONENT)
    provider = graph.one("pulumi:providers:kubernetes")
    assert graph.by_urn(component.parent).type == "delivery-platform:platform:Platform"
    children = graph.children(component)
    assert sorted(r.type for r in children) == sorted(
        [
            DEPLOYMENT,
            SERVICE,
            JOB,
            DEPLOYMENT_PATCH,
            "kubernetes:core/v1:ServiceAccount",
            "kubernetes:policy/v1:PodDisruptionBudget",
        ]
    )
    for child in children:
        assert child.name.startswith(f"{component.name}-")
        assert child.input("metadata.namespace") == "test"
        assert child.provider_urn == provider.urn
