"""The strategy components rendered for Argo CD (ordering "argocd"): the order each
strategy needs is carried by sync waves and hooks, nothing Pulumi-specific is rendered,
and the fields another controller owns are left out of Git. Each test names the order
the strategy's guarantee depends on, not the numbers the code happens to use."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest

from components.config import AppConfig
from components.workloads import AppWorkload, ReleaseHooks
from tests.conftest import ProgramRunner
from tests.graph import Graph, Registered

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
JOB = "kubernetes:batch/v1:Job"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
SYNC_WAVE = "argocd.argoproj.io/sync-wave"
HOOK = "argocd.argoproj.io/hook"
HOOKS = ReleaseHooks(image="registry.k8s.io/kubectl:v1.34.2", service_account="orders-release-hooks")


def app(**fields: Any) -> AppConfig:
    return AppConfig.model_validate({"environment": "shop", "delivery": "gitops", **fields})


BLUE_GREEN = app(
    name="checkout",
    strategy={
        "type": "blue-green",
        "active": "green",
        "blue": {"image": "registry.example.com/shop/checkout:4.0.2-b301"},
        "green": {"image": "registry.example.com/shop/checkout:4.1.0-b318"},
    },
)
CANARY = app(
    name="storefront",
    image="registry.example.com/shop/storefront:7.2.0-b903",
    replicas=4,
    strategy={"type": "canary", "canaryImage": "registry.example.com/shop/storefront:7.3.0-b921", "weight": 25},
)
RECREATE = app(
    name="orders",
    image="registry.example.com/shop/orders:1.8.0-b412",
    strategy={"type": "recreate", "migration": {"command": ["/app/migrate"]}},
)
AUTOSCALED = app(
    name="catalog",
    image="registry.example.com/shop/catalog:2.3.1-b77",
    strategy={"type": "rolling", "autoscaling": {"minReplicas": 2, "maxReplicas": 6}},
)


def render(run_program: ProgramRunner, config: AppConfig, ordering: str = "argocd") -> Graph:
    def program() -> None:
        provider = k8s.Provider("render", render_yaml_to_directory="/nonexistent")
        AppWorkload(
            "app",
            config,
            namespace="shop",
            ordering=ordering,  # type: ignore[arg-type]
            release_hooks=HOOKS,
            opts=pulumi.ResourceOptions(provider=provider),
        )

    return run_program(program)


def annotations_of(resource: Registered) -> dict[str, str]:
    return dict(resource.inputs["metadata"].get("annotations") or {})


def wave(graph: Graph, type_: str, name: str) -> int:
    (resource,) = [r for r in graph.of_type(type_) if r.inputs["metadata"]["name"] == name]
    return int(annotations_of(resource)[SYNC_WAVE])


def kubernetes_objects(graph: Graph) -> list[Registered]:
    return [r for r in graph if r.type.startswith("kubernetes:") and not r.type.startswith("kubernetes:helm")]


@pytest.mark.parametrize("config", [BLUE_GREEN, CANARY, RECREATE, AUTOSCALED], ids=lambda c: c.name)
def test_every_object_has_a_sync_wave_and_nothing_for_pulumi(run_program: ProgramRunner, config: AppConfig) -> None:
    graph = render(run_program, config)
    objects = kubernetes_objects(graph)
    assert objects
    for resource in objects:
        found = annotations_of(resource)
        assert SYNC_WAVE in found, resource.name
        assert not [key for key in found if key.startswith("pulumi.com/")], resource.name
        assert resource.inputs["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "argocd"


def test_pulumi_delivery_renders_no_argo_annotations(run_program: ProgramRunner) -> None:
    graph = render(run_program, BLUE_GREEN.model_copy(update={"delivery": "pulumi"}), ordering="pulumi")
    for resource in kubernetes_objects(graph):
        assert not [key for key in annotations_of(resource) if key.startswith("argocd.argoproj.io/")], resource.name


def test_blue_green_switches_after_the_new_colour_and_scales_the_old_one_after_the_switch(
    run_program: ProgramRunner,
) -> None:
    graph = render(run_program, BLUE_GREEN)
    active = wave(graph, DEPLOYMENT, "checkout-green")
    switch = wave(graph, SERVICE, "checkout")
    idle = wave(graph, DEPLOYMENT, "checkout-blue")
    assert active < switch < idle


def test_canary_route_moves_after_both_tracks(run_program: ProgramRunner) -> None:
    graph = render(run_program, CANARY)
    route = wave(graph, ROUTE, "storefront")
    assert wave(graph, DEPLOYMENT, "storefront") < route
    assert wave(graph, DEPLOYMENT, "storefront-canary") < route
    assert wave(graph, SERVICE, "storefront-canary") < route


def test_recreate_migration_runs_as_sync_hooks_between_stop_and_start(run_program: ProgramRunner) -> None:
    graph = render(run_program, RECREATE)
    jobs = {r.inputs["metadata"]["name"]: r for r in graph.of_type(JOB)}
    assert set(jobs) == {"orders-stop", "orders-migrate"}
    for job in jobs.values():
        assert annotations_of(job)[HOOK] == "Sync"
    account = wave(graph, SERVICE_ACCOUNT, "orders")
    stop = wave(graph, JOB, "orders-stop")
    migrate = wave(graph, JOB, "orders-migrate")
    start = wave(graph, DEPLOYMENT, "orders")
    serve = wave(graph, SERVICE, "orders")
    # The hooks run as the app's account; the old pods are gone before the migration,
    # which succeeds before the new pods start and before traffic is sent.
    assert account < stop < migrate < start < serve
    # No Pulumi scale-back patch: the Deployment is rendered at its full size.
    assert not graph.of_type("kubernetes:apps/v1:DeploymentPatch")
    (deployment,) = graph.of_type(DEPLOYMENT)
    assert deployment.inputs["spec"]["replicas"] == RECREATE.replicas


def test_the_stop_hook_deletes_only_the_apps_deployment_in_the_foreground(run_program: ProgramRunner) -> None:
    graph = render(run_program, RECREATE)
    (stop,) = [r for r in graph.of_type(JOB) if r.inputs["metadata"]["name"] == "orders-stop"]
    pod = stop.inputs["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == HOOKS.service_account
    (container,) = pod["containers"]
    assert container["image"] == HOOKS.image
    args = container["args"]
    assert args[:3] == ["delete", "deployment", "orders"]
    assert "--cascade=foreground" in args
    assert "--wait=true" in args
    # A first release has no Deployment yet; that must not fail the sync.
    assert "--ignore-not-found=true" in args
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True


def test_a_migration_for_argo_cd_without_release_hooks_is_refused(run_program: ProgramRunner) -> None:
    def program() -> None:
        AppWorkload("app", RECREATE, namespace="shop", ordering="argocd")

    with pytest.raises(ValueError, match="release hooks"):
        run_program(program)


def test_an_autoscaled_deployment_leaves_replicas_to_the_autoscaler(run_program: ProgramRunner) -> None:
    rendered = render(run_program, AUTOSCALED)
    (deployment,) = rendered.of_type(DEPLOYMENT)
    assert "replicas" not in deployment.inputs["spec"]
    # Applied by Pulumi, the Deployment declares the count it is created with.
    applied = render(run_program, AUTOSCALED.model_copy(update={"delivery": "pulumi"}), ordering="pulumi")
    (deployment,) = applied.of_type(DEPLOYMENT)
    assert deployment.inputs["spec"]["replicas"] == 2
