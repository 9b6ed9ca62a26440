"""The stack config model and loader: both stack files load through the real loader,
each documented rule rejects its bad example naming the key, and no invalid config
ever escapes as anything but the one clear ConfigError."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.config import (
    BlueGreenStrategy,
    CanaryStrategy,
    ConfigError,
    GkeAutopilotConfig,
    RenderCluster,
    StackConfig,
    load_stack_config,
    validate_stack_config,
)
from components.program import load
from tests.conftest import ProgramRunner, stack_file_config, stack_file_secrets

WEB = "registry.example.com/shop/web:1.4.2-b57"


def rolling_app(**overrides: Any) -> dict[str, Any]:
    return {"name": "web", "environment": "test", "image": WEB, "strategy": {"type": "rolling"}} | overrides


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config(data)
    return caught.value.problems


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_files_load_through_the_real_loader(run_program: ProgramRunner, stack: str) -> None:
    loaded: list[StackConfig] = []
    # The prod stack's registry pull secret needs its password as a config secret.
    secrets = {"registryPassword": "mock-password"} if stack == "prod" else None
    run_program(lambda: loaded.append(load()), stack_file_config(stack), secrets=secrets, stack=stack)
    assert len(loaded) == 1
    raw = stack_file_config(stack)
    assert loaded[0].cluster.kind == raw["cluster"]["kind"]
    assert [app.name for app in loaded[0].apps] == [app["name"] for app in raw.get("apps", [])]


def test_dev_stack_renders_without_a_cluster_and_uses_every_strategy() -> None:
    config = validate_stack_config(stack_file_config("dev"))
    assert isinstance(config.cluster, RenderCluster)
    assert {app.strategy.type for app in config.apps} == {"recreate", "rolling", "blue-green", "canary"}


def test_prod_stack_is_a_protected_regional_autopilot_cluster() -> None:
    config = validate_stack_config(stack_file_config("prod"))
    assert isinstance(config.cluster, GkeAutopilotConfig)
    assert config.protect
    assert config.cluster.deletion_protection


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            {"cluster": {"kind": "gke-autopilot", "project": "acme-prod", "location": "europe-west1-b"}},
            "delivery-platform:cluster.location: Autopilot clusters are regional only",
            id="autopilot-zonal",
        ),
        pytest.param(
            {
                "apps": [
                    rolling_app(name="web"),
                    {**rolling_app(name="shop"), "image": None, "strategy": {"type": "canary", "weight": 101}},
                ]
            },
            "delivery-platform:apps[1].strategy.weight: must be <= 100",
            id="canary-weight",
        ),
        pytest.param(
            {
                "apps": [
                    {
                        "name": "pay",
                        "environment": "test",
                        "strategy": {
                            "type": "blue-green",
                            "active": "purple",
                            "blue": {"image": WEB},
                            "green": {"image": WEB},
                        },
                    }
                ]
            },
            "delivery-platform:apps[0].strategy.active: must be one of 'blue' or 'green'",
            id="blue-green-colour",
        ),
        pytest.param(
            {"apps": [rolling_app(name="Web_1")]},
            "delivery-platform:apps[0].name: 'Web_1' is not a DNS label",
            id="app-name-dns-label",
        ),
        pytest.param(
            {"apps": [rolling_app(), rolling_app()]},
            "delivery-platform:apps[1].name: duplicate app 'web' in environment 'test'",
            id="app-name-unique",
        ),
        pytest.param(
            {"apps": [rolling_app(image="registry.example.com/shop/web:latest")]},
            "delivery-platform:apps[0].image: 'registry.example.com/shop/web:latest' uses the mutable tag 'latest'",
            id="mutable-tag",
        ),
        pytest.param(
            {"apps": [rolling_app(image="registry.example.com/shop/web")]},
            "delivery-platform:apps[0].image: 'registry.example.com/shop/web' has no tag or digest",
            id="untagged-image",
        ),
        pytest.param(
            {"apps": [rolling_app(environment="staging")]},
            "delivery-platform:apps[0].environment: 'staging' is not one of environments",
            id="unknown-environment",
        ),
        pytest.param(
            {"apps": [rolling_app(strategy={"type": "rolling", "maxSurge": 0, "maxUnavailable": "0%"})]},
            "delivery-platform:apps[0].strategy.maxSurge: maxSurge and maxUnavailable cannot both be 0",
            id="rolling-cannot-progress",
        ),
        pytest.param(
            {"apps": [rolling_app(strategy={"type": "rolling", "maxSurgee": 1})]},
            "delivery-platform:apps[0].strategy.maxSurgee: unknown key",
            id="typo",
        ),
    ],
)
def test_each_rule_rejects_its_bad_example_naming_the_key(data: dict[str, Any], expected: str) -> None:
    assert any(problem.startswith(expected) for problem in problems_of(data)), problems_of(data)


def test_every_problem_is_reported_at_once() -> None:
    data = {
        "cluster": {"kind": "gke-autopilot", "project": "acme-prod", "location": "europe-west1-b"},
        "apps": [rolling_app(), rolling_app(), {**rolling_app(name="x"), "replicas": -1}],
    }
    problems = problems_of(data)
    paths = {problem.split(": ", 1)[0] for problem in problems}
    assert paths == {
        "delivery-platform:cluster.location",
        "delivery-platform:apps[1].name",
        "delivery-platform:apps[2].replicas",
    }


def test_zonal_standard_cluster_under_three_nodes_is_allowed_with_an_sla_warning() -> None:
    config = validate_stack_config(
        {
            "cluster": {
                "kind": "gke-standard",
                "project": "acme-dev",
                "location": "europe-west1-b",
                "nodePools": [{"name": "general", "minNodes": 1, "maxNodes": 3}],
            }
        }
    )
    assert any("99.5%" in warning and "europe-west1-b" in warning for warning in config.warnings())
    regional = validate_stack_config(
        {
            "cluster": {
                "kind": "gke-standard",
                "project": "acme-dev",
                "location": "europe-west1",
                "nodePools": [{"name": "general", "minNodes": 1, "maxNodes": 3}],
            }
        }
    )
    assert not any("99.5%" in warning for warning in regional.warnings())


def test_strategy_is_a_value_object_picked_by_type() -> None:
    config = validate_stack_config(stack_file_config("dev"))
    by_name = {app.name: app.strategy for app in config.apps}
    assert isinstance(by_name["checkout"], BlueGreenStrategy)
    assert isinstance(by_name["storefront"], CanaryStrategy)
    with pytest.raises(ConfigError) as caught:
        validate_stack_config({"apps": [rolling_app(strategy={"type": "canary", "maxSurge": 1})]})
    assert "delivery-platform:apps[0].strategy.maxSurge: unknown key" in caught.value.problems[0]


def test_bad_config_fails_the_run_with_one_message_and_registers_nothing(run_program: ProgramRunner) -> None:
    from components.program import main

    bad = copy.deepcopy(stack_file_config("dev"))
    bad["apps"][3]["strategy"]["weight"] = 150
    with pytest.raises(pulumi.RunError) as caught:
        run_program(main, bad, stack="dev")
    assert "delivery-platform:apps[3].strategy.weight: must be <= 100" in str(caught.value)
    assert run_program.last_graph.resources == []


def test_apps_whose_derived_object_names_clash_are_rejected() -> None:
    environments = [{"name": name, "allowFromNamespaces": ["gateway"]} for name in ("test", "uat")]
    canary = rolling_app(name="shop", strategy={"type": "canary"})
    clash = rolling_app(name="shop-canary")
    problems = problems_of({"environments": environments, "apps": [canary, clash]})
    assert any(p.startswith("delivery-platform:apps[1].name:") and "'shop-canary'" in p for p in problems)
    elsewhere = rolling_app(name="shop-canary", environment="uat")
    assert validate_stack_config({"environments": environments, "apps": [canary, elsewhere]}).apps[1].name == (
        "shop-canary"
    )


def test_the_prod_stack_without_its_registry_password_ends_in_the_config_error(run_program: ProgramRunner) -> None:
    """Not a traceback from deep inside the Environment component: the one config
    error, naming the command that fixes it, before anything is registered."""
    from components.program import main

    with pytest.raises(pulumi.RunError) as caught:
        run_program(main, stack_file_config("prod"), stack="prod")
    message = str(caught.value)
    assert message.startswith("invalid stack configuration (1 problem(s)):")
    assert "delivery-platform:registry.passwordKey:" in message
    assert "pulumi config set --secret registryPassword" in message
    assert run_program.last_graph.resources == []
    # Set, as a secret: the stack registers its pull secrets.
    graph = run_program(main, stack_file_config("prod"), secrets={"registryPassword": "pw"}, stack="prod")
    assert graph.of_type("kubernetes:core/v1:Secret")


def canary_app(name: str, environment: str = "test", **strategy: Any) -> dict[str, Any]:
    return rolling_app(name=name, environment=environment, strategy={"type": "canary"} | strategy)


GKE_RANGES = ["35.191.0.0/16", "130.211.0.0/22"]


@pytest.mark.parametrize(
    ("environment", "admitted"),
    [
        pytest.param({}, False, id="default-deny"),
        pytest.param({"allowFromNamespaces": ["gateway"]}, True, id="in-cluster-gateway-namespace"),
        pytest.param({"allowFromNamespaces": ["monitoring"]}, False, id="another-namespace"),
        pytest.param({"allowFromCidrs": GKE_RANGES}, True, id="gke-load-balancer-ranges"),
        pytest.param({"allowFromCidrs": ["35.191.0.0/16"]}, False, id="health-checks-only-half"),
        pytest.param({"allowFromCidrs": ["35.0.0.0/8", "130.211.0.0/16"]}, True, id="wider-ranges"),
    ],
)
def test_a_routed_app_needs_an_environment_that_admits_its_gateway(environment: dict[str, Any], admitted: bool) -> None:
    data = {"environments": [{"name": "test"} | environment], "apps": [canary_app("shop")]}
    if admitted:
        assert validate_stack_config(data).apps[0].name == "shop"
    else:
        (problem,) = problems_of(data)
        assert problem.startswith("delivery-platform:apps[0].environment: environment 'test' denies ingress")


def test_apps_cannot_claim_the_same_host_names_on_one_gateway() -> None:
    environments = [{"name": "test", "allowFromNamespaces": ["gateway", "edge"]}]

    def problems(*apps: dict[str, Any]) -> list[str]:
        try:
            validate_stack_config({"environments": environments, "apps": list(apps)})
        except ConfigError as error:
            return error.problems
        return []

    assert problems(canary_app("a"), canary_app("b")) == [
        "delivery-platform:apps[1].strategy.hostnames: app 'a' already routes every host name (no hostnames) "
        "on Gateway gateway/platform-gateway"
    ]
    assert problems(canary_app("a", hostnames=["a.example.com"]), canary_app("b", hostnames=["b.example.com"])) == []
    (clash,) = problems(
        canary_app("a", hostnames=["a.example.com", "x.example.com"]), canary_app("b", hostnames=["x.example.com"])
    )
    assert clash.startswith("delivery-platform:apps[1].strategy.hostnames: app 'a' already routes host name")
    other_gateway = {"name": "edge-gateway", "namespace": "edge"}
    assert problems(canary_app("a"), canary_app("b", gateway=other_gateway)) == []


def test_a_cpu_limit_quota_needs_a_default_cpu_limit() -> None:
    without = {"name": "test", "quota": {"limitsCpu": "16"}}
    (problem,) = problems_of({"environments": [without]})
    assert problem.startswith("delivery-platform:environments[0].quota.limitsCpu: a quota on limits.cpu rejects")
    with_default = without | {"containerDefaults": {"limitCpu": "1"}}
    assert validate_stack_config({"environments": [with_default]}).environments[0].quota.limits_cpu == "16"


def test_a_hub_cannot_manage_an_undeclared_environment() -> None:
    spoke = {"name": "eu", "server": "https://203.0.113.20", "caData": "Q0E=", "environments": ["staging"]}
    argocd = {
        "topology": "1:N",
        "managedClusters": [spoke],
        "workloadIdentityServiceAccount": "argocd@acme-prod.iam.gserviceaccount.com",
    }
    problems = problems_of({"argocd": argocd})
    assert any(p.startswith("delivery-platform:argocd.managedClusters[0].environments[0]: 'staging'") for p in problems)


def test_risky_gke_settings_warn() -> None:
    autopilot = {"kind": "gke-autopilot", "project": "acme-prod", "location": "europe-west1", "dnsEndpoint": False}
    warnings = validate_stack_config({"cluster": autopilot}).warnings()
    assert any(w.startswith("cluster.dnsEndpoint is off") for w in warnings)
    assert any(w.startswith("jenkins.builder buildkit") for w in warnings)
    prod = validate_stack_config(stack_file_config("prod"))
    assert prod.warnings() == []


def test_config_reference_document_matches_the_models() -> None:
    from components.config.reference import render

    document = (Path(__file__).resolve().parent.parent / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert document == render(), "regenerate: python -m components.config.reference > docs/config-reference.md"
    for key in StackConfig.model_fields:
        assert f"`{StackConfig.model_fields[key].alias or key}`" in document


def test_project_file_defaults_are_the_models_defaults() -> None:
    project = yaml.safe_load((Path(__file__).resolve().parent.parent / "Pulumi.yaml").read_text(encoding="utf-8"))
    declared = {key.removeprefix("delivery-platform:"): spec for key, spec in project["config"].items()}
    assert "cluster" in declared
    assert "default" not in declared["cluster"], "every stack must say where it runs"
    defaults = StackConfig.model_validate({"cluster": {"kind": "render"}})
    for key, spec in declared.items():
        if "default" in spec:
            from_project = StackConfig.model_validate({"cluster": {"kind": "render"}, key: spec["default"]})
            assert getattr(from_project, key) == getattr(defaults, key), key


# --- the passwords Jenkins and Argo CD need, as stack secrets ---


def _secret_problems(config: dict[str, Any], secrets: dict[str, str], plain: dict[str, str] | None = None) -> list[str]:
    raw = {f"delivery-platform:{key}": value for key, value in {**secrets, **(plain or {})}.items()}
    raw |= {f"delivery-platform:{key}": json.dumps(value) for key, value in config.items()}
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, secret_keys=[f"delivery-platform:{key}" for key in secrets])
    return caught.value.problems


def test_each_missing_password_is_named_with_the_command_that_sets_it() -> None:
    problems = _secret_problems({}, {"argocdAdminPassword": "a" * 20})
    assert problems == [
        "delivery-platform:jenkinsAdminPassword: is required (the Jenkins admin password); set it with "
        "`pulumi config set --secret jenkinsAdminPassword <value>`",
        "delivery-platform:argocdRedisPassword: is required (the password of Argo CD's Redis); set it with "
        "`pulumi config set --secret argocdRedisPassword <value>`",
    ]


def test_a_password_in_plain_text_or_too_short_is_rejected_without_echoing_it() -> None:
    problems = _secret_problems(
        {"jenkins": {"adminPasswordKey": "ciAdmin"}},
        {"argocdAdminPassword": "short", "argocdRedisPassword": "r" * 16},
        plain={"ciAdmin": "plain-text-password-1234"},
    )
    assert problems == [
        "delivery-platform:ciAdmin: is set in plain text; it holds the Jenkins admin password, so set it as a "
        "secret: pulumi config set --secret ciAdmin <value>",
        "delivery-platform:argocdAdminPassword: must be at least 16 characters (the Argo CD admin password)",
    ]
    assert not any("plain-text-password-1234" in problem for problem in problems)


def test_disabled_components_need_no_password() -> None:
    raw = {
        "delivery-platform:jenkins": '{"enabled": false}',
        "delivery-platform:argocd": '{"enabled": false}',
    }
    assert load_stack_config(raw).required_secrets() == {}


def test_the_dev_stack_carries_every_password_it_needs_encrypted() -> None:
    config = validate_stack_config(stack_file_config("dev"))
    assert config.jenkins.enabled
    assert config.argocd.enabled
    assert set(config.required_secrets()) <= set(stack_file_secrets("dev"))
