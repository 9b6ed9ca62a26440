"""One owner per app: an app is applied by this stack's `pulumi up` or delivered through
Git by the Argo CD this stack runs, never both, and a config in which the owner could
not reach the app (or a second controller would also manage it) is an error naming it."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.config import ConfigError, validate_stack_config
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config

APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application"
WORKLOAD_KINDS = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:core/v1:Service",
    "kubernetes:core/v1:ServiceAccount",
    "kubernetes:batch/v1:Job",
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    "kubernetes:policy/v1:PodDisruptionBudget",
)


def base_config(**argocd: Any) -> dict[str, Any]:
    return {
        "cluster": {"kind": "render", "outputDir": "build/test-manifests"},
        # prod admits the Gateway its canary's HTTPRoute attaches to.
        "environments": [{"name": "test"}, {"name": "prod", "allowFromNamespaces": ["gateway"]}],
        "jenkins": {"enabled": False},
        "argocd": {"chart": {"skip": True}, **argocd},
        "apps": [
            {
                "name": "catalog",
                "environment": "test",
                "image": "registry.example.com/shop/catalog:2.3.1-b77",
                "strategy": {"type": "rolling"},
            },
            {
                "name": "storefront",
                "environment": "prod",
                "delivery": "gitops",
                "image": "registry.example.com/shop/storefront:7.2.0-b903",
                "strategy": {"type": "canary", "canaryImage": "registry.example.com/shop/storefront:7.3.0-b921"},
            },
        ],
    }


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as error:
        validate_stack_config(config)
    return error.value.problems


def test_default_delivery_is_pulumi() -> None:
    config = validate_stack_config(base_config())
    assert [app.delivery for app in config.apps] == ["pulumi", "gitops"]


def test_gitops_app_without_an_argocd_in_the_stack_is_an_error_naming_it() -> None:
    config = base_config(enabled=False)
    found = problems(config)
    assert len(found) == 1
    assert found[0].startswith("delivery-platform:apps[1].delivery: app 'storefront' is delivered through Git")


def test_pulumi_app_on_a_spoke_only_the_hub_reaches_is_an_error_naming_it() -> None:
    hub = {
        "topology": "1:N",
        "workloadIdentityServiceAccount": "argocd-hub@acme.iam.gserviceaccount.com",
        "managedClusters": [
            {"name": "eu", "server": "https://203.0.113.20", "caData": "Q0E=", "environments": ["test"]},
        ],
    }
    found = problems(base_config(**hub))
    assert len(found) == 1
    assert found[0].startswith("delivery-platform:apps[0].delivery: app 'catalog' runs in environment 'test'")
    assert "['eu']" in found[0]


def test_an_unknown_delivery_is_reported_under_its_key() -> None:
    config = base_config()
    config["apps"][0]["delivery"] = "helm"
    assert problems(config) == ["delivery-platform:apps[0].delivery: must be one of 'pulumi' or 'gitops'"]


def _app_objects(graph: Any, app: str) -> list[Any]:
    return [
        resource
        for kind in WORKLOAD_KINDS
        for resource in graph.of_type(kind)
        if (resource.inputs.get("metadata") or {}).get("name", "").startswith(app)
        and (resource.inputs.get("metadata") or {}).get("namespace") in ("test", "prod")
    ]


def test_pulumi_applies_only_its_own_apps_and_argocd_gets_an_application_only_for_gitops_ones(
    run_program: ProgramRunner,
) -> None:
    graph = run_program(main, base_config())
    assert _app_objects(graph, "catalog"), "the Pulumi-delivered app must still be applied"
    assert _app_objects(graph, "storefront") == []
    applications = {r.inputs["metadata"]["name"]: r for r in graph.of_type(APPLICATION)}
    assert list(applications) == ["prod-storefront"]


def test_moving_an_app_to_gitops_hands_it_from_pulumi_to_argocd(run_program: ProgramRunner) -> None:
    config = base_config()
    before = run_program(main, copy.deepcopy(config))
    config["apps"][0]["delivery"] = "gitops"
    after = run_program(main, config)
    assert _app_objects(before, "catalog")
    assert not _app_objects(after, "catalog")
    assert {r.inputs["metadata"]["name"] for r in after.of_type(APPLICATION)} == {"test-catalog", "prod-storefront"}


def test_prod_stack_delivers_its_apps_through_git_only(run_program: ProgramRunner) -> None:
    config = stack_file_config("prod")
    apps = [app["name"] for app in config["apps"]]
    assert {app.get("delivery") for app in config["apps"]} == {"gitops"}
    graph = run_program(main, config, secrets={"registryPassword": "not-a-real-password"}, stack="prod")
    for app in apps:
        assert _app_objects(graph, app) == [], f"{app} is applied by Pulumi although Argo CD delivers it"
    applications = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in graph.of_type(APPLICATION)}
    assert sorted(applications) == sorted(f"prod-{app}" for app in apps)
    for app in apps:
        assert applications[f"prod-{app}"]["source"]["path"] == f"prod/{app}"
