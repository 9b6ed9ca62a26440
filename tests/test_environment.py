"""Environment namespaces: Pod Security Standards labels, default-deny networking with
the few allowed paths, quota and container defaults, and the registry pull secret."""

from __future__ import annotations

import base64
import json
from typing import Any

import pulumi
import pytest

from components.config import ConfigError, validate_stack_config
from tests.conftest import ProgramRunner
from tests.graph import Graph, Registered
from tests.workload_graph import (
    NAMESPACE,
    NETWORK_POLICY,
    SERVICE_ACCOUNT,
    by_name,
    image,
    obj,
    run_stack,
    stack,
    unwrap_secret,
)

REGISTRY = {"server": "europe-docker.pkg.dev/acme/apps", "username": "ci-puller"}
PASSWORD = "s3cret-registry-token"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMIT_RANGE = "kubernetes:core/v1:LimitRange"
SECRET = "kubernetes:core/v1:Secret"
SA_PATCH = "kubernetes:core/v1:ServiceAccountPatch"
GKE = {"kind": "gke-autopilot", "project": "acme-prod", "location": "europe-west1", "name": "delivery"}
ROLLING_APP = {"name": "web", "environment": "prod", "image": image("web", "1.0.0-b1"), "strategy": {"type": "rolling"}}


def env_objects(graph: Graph, env: str, type_: str | None = None) -> list[Registered]:
    """The Environment component's objects (other components create namespaces and
    secrets of their own)."""
    component = graph.one("delivery-platform:environment:Environment", f"test-{env}")
    return [r for r in graph.children(component) if type_ is None or r.type == type_]


def env_one(graph: Graph, env: str, type_: str) -> Registered:
    (found,) = env_objects(graph, env, type_)
    return found


def policies(graph: Graph, env: str) -> dict[str, dict[str, Any]]:
    return {r.input("metadata.name"): r.inputs["spec"] for r in env_objects(graph, env, NETWORK_POLICY)}


def test_one_namespace_per_environment_with_every_object_explicitly_in_it(run_program: ProgramRunner) -> None:
    environments = [{"name": "test"}, {"name": "uat"}, {"name": "prod"}]
    graph = run_stack(run_program, stack(environments=environments))
    platform = graph.one("delivery-platform:platform:Platform")
    provider = graph.one("pulumi:providers:kubernetes")
    assert {"prod", "test", "uat"} <= set(by_name(graph, NAMESPACE))
    for env in ("test", "uat", "prod"):
        component = graph.one("delivery-platform:environment:Environment", f"test-{env}")
        assert component.parent == platform.urn
        children = env_objects(graph, env)
        assert {r.type for r in children} == {NAMESPACE, NETWORK_POLICY, QUOTA, LIMIT_RANGE, SA_PATCH}
        for child in children:
            assert child.provider_urn == provider.urn
            if child.type != NAMESPACE:
                assert child.input("metadata.namespace") == env, child.name
                namespace = obj(graph, NAMESPACE, env)
                assert namespace.urn in child.depends_on


@pytest.mark.parametrize("level", ["restricted", "baseline"])
def test_namespace_enforces_the_configured_level_and_always_audits_and_warns_restricted(
    run_program: ProgramRunner, level: str
) -> None:
    environments = [{"name": "prod", "podSecurity": level, "podSecurityVersion": "v1.34"}]
    labels = obj(run_stack(run_program, stack(environments=environments)), NAMESPACE, "prod").input("metadata.labels")
    assert labels["pod-security.kubernetes.io/enforce"] == level
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    for mode in ("enforce", "audit", "warn"):
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.34"


def test_network_is_denied_by_default_and_opened_within_the_namespace_and_to_dns(run_program: ProgramRunner) -> None:
    found = policies(run_stack(run_program, stack(environments=[{"name": "prod"}])), "prod")
    assert set(found) == {"default-deny", "allow-same-namespace", "allow-dns"}

    deny = found["default-deny"]
    assert deny["podSelector"] == {}
    assert sorted(deny["policyTypes"]) == ["Egress", "Ingress"]
    assert "ingress" not in deny
    assert "egress" not in deny

    same = found["allow-same-namespace"]
    assert same["ingress"] == [{"from": [{"podSelector": {}}]}]
    assert same["egress"] == [{"to": [{"podSelector": {}}]}]

    (dns,) = found["allow-dns"]["egress"]
    assert found["allow-dns"]["policyTypes"] == ["Egress"]
    assert {(port["protocol"], port["port"]) for port in dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    kube_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    assert kube_dns in dns["to"]
    # GKE's NodeLocal DNSCache and Cloud DNS (metadata server) answer from link-local
    # addresses, not from pods.
    for resolver in ("169.254.20.10/32", "169.254.169.254/32"):
        assert {"ipBlock": {"cidr": resolver}} in dns["to"]


def test_listed_namespaces_and_ranges_are_let_in_and_out(run_program: ProgramRunner) -> None:
    env = {
        "name": "prod",
        "allowFromNamespaces": ["gateway", "monitoring"],
        "allowFromCidrs": ["35.191.0.0/16", "130.211.0.0/22"],
        "allowToNamespaces": ["payments"],
        "allowToCidrs": ["10.20.0.0/24"],
    }
    found = policies(run_stack(run_program, stack(environments=[env])), "prod")
    (ingress,) = found["allow-ingress-from"]["ingress"]
    assert found["allow-ingress-from"]["policyTypes"] == ["Ingress"]
    namespace_peer = {
        "namespaceSelector": {
            "matchExpressions": [
                {"key": "kubernetes.io/metadata.name", "operator": "In", "values": env["allowFromNamespaces"]}
            ]
        }
    }
    assert ingress["from"] == [namespace_peer] + [{"ipBlock": {"cidr": cidr}} for cidr in env["allowFromCidrs"]]
    (egress,) = found["allow-egress-to"]["egress"]
    assert found["allow-egress-to"]["policyTypes"] == ["Egress"]
    assert egress["to"][0]["namespaceSelector"]["matchExpressions"][0]["values"] == ["payments"]
    assert egress["to"][1:] == [{"ipBlock": {"cidr": "10.20.0.0/24"}}]


def test_quota_and_container_defaults_come_from_config(run_program: ProgramRunner) -> None:
    env = {
        "name": "prod",
        "quota": {"requestsCpu": "20", "requestsMemory": "40Gi", "limitsMemory": "80Gi", "pods": 60},
        "containerDefaults": {"requestCpu": "50m", "requestMemory": "64Mi", "limitMemory": "256Mi"},
    }
    graph = run_stack(run_program, stack(environments=[env]))
    hard = env_one(graph, "prod", QUOTA).input("spec.hard")
    assert hard["requests.cpu"] == "20"
    assert hard["requests.memory"] == "40Gi"
    assert hard["limits.memory"] == "80Gi"
    assert hard["pods"] == "60"
    assert hard["services.loadbalancers"] == "0"
    assert hard["services.nodeports"] == "0"
    # Apps run without CPU limits by default, so the quota must not demand one.
    assert "limits.cpu" not in hard
    (limits,) = env_one(graph, "prod", LIMIT_RANGE).input("spec.limits")
    assert limits["type"] == "Container"
    assert limits["defaultRequest"] == {"cpu": "50m", "memory": "64Mi"}
    assert limits["default"] == {"memory": "256Mi"}


def test_cpu_limits_enter_quota_and_defaults_when_configured(run_program: ProgramRunner) -> None:
    env = {"name": "prod", "quota": {"limitsCpu": "32"}, "containerDefaults": {"limitCpu": "1"}}
    graph = run_stack(run_program, stack(environments=[env]))
    assert env_one(graph, "prod", QUOTA).input("spec.hard")["limits.cpu"] == "32"
    assert env_one(graph, "prod", LIMIT_RANGE).input("spec.limits")[0]["default"]["cpu"] == "1"


def test_registry_pull_secret_is_a_secret_dockerconfigjson_used_by_every_service_account(
    run_program: ProgramRunner,
) -> None:
    config = stack(ROLLING_APP, environments=[{"name": "prod"}], registry=REGISTRY)
    graph = run_stack(run_program, config, secrets={"registryPassword": PASSWORD})
    secret = env_one(graph, "prod", SECRET)
    assert secret.input("metadata.namespace") == "prod"
    assert secret.inputs["type"] == "kubernetes.io/dockerconfigjson"
    is_secret, string_data = unwrap_secret(secret.inputs["stringData"])
    assert is_secret
    credentials = json.loads(string_data[".dockerconfigjson"])["auths"][REGISTRY["server"]]
    assert credentials["username"] == REGISTRY["username"]
    assert credentials["password"] == PASSWORD
    assert base64.b64decode(credentials["auth"]).decode() == f"{REGISTRY['username']}:{PASSWORD}"

    pull = [{"name": secret.input("metadata.name")}]
    default = env_one(graph, "prod", SA_PATCH)
    assert default.input("metadata.name") == "default"
    assert default.input("metadata.namespace") == "prod"
    assert default.inputs["automountServiceAccountToken"] is False
    assert default.inputs["imagePullSecrets"] == pull
    assert secret.urn in default.depends_on
    app_account = obj(graph, SERVICE_ACCOUNT, "web")
    assert app_account.inputs["imagePullSecrets"] == pull
    assert secret.urn in app_account.depends_on


def test_no_pull_secret_when_the_registry_needs_none(run_program: ProgramRunner) -> None:
    config = stack(ROLLING_APP, environments=[{"name": "prod"}], registry=REGISTRY | {"createPullSecret": False})
    graph = run_stack(run_program, config)
    assert env_objects(graph, "prod", SECRET) == []
    assert "imagePullSecrets" not in obj(graph, SERVICE_ACCOUNT, "web").inputs
    assert env_one(graph, "prod", SA_PATCH).inputs["automountServiceAccountToken"] is False


def test_missing_registry_password_is_the_config_error_naming_the_config_secret(run_program: ProgramRunner) -> None:
    config = stack(environments=[{"name": "prod"}], registry=REGISTRY | {"passwordKey": "artifactRegistryKey"})
    with pytest.raises(pulumi.RunError) as caught:
        run_stack(run_program, config)
    assert str(caught.value).splitlines()[1:] == [
        "  - delivery-platform:registry.passwordKey: the registry pull secret needs the password in the config "
        "secret 'artifactRegistryKey', which is not set: pulumi config set --secret artifactRegistryKey <password> "
        "(or set registry.createPullSecret to false)"
    ]
    assert run_program.last_graph.resources == []
    # A plain (not secret) value is not a password source either.
    with pytest.raises(pulumi.RunError, match="'artifactRegistryKey', which is set in plain text: pulumi config set"):
        run_stack(run_program, config | {"artifactRegistryKey": "in-plain-text"})


METADATA_SERVER_EGRESS = [
    {"to": [{"ipBlock": {"cidr": "169.254.169.254/32"}}], "ports": [{"protocol": "TCP", "port": 80}]},
    {"to": [{"ipBlock": {"cidr": "169.254.169.252/32"}}], "ports": [{"protocol": "TCP", "port": 988}]},
]


@pytest.mark.parametrize(
    ("cluster", "setting", "allowed"),
    [
        pytest.param(GKE, None, True, id="gke-default"),
        pytest.param(GKE, False, False, id="gke-turned-off"),
        pytest.param({"kind": "kubeconfig"}, None, False, id="other-cluster-default"),
        pytest.param({"kind": "kubeconfig"}, True, True, id="other-cluster-turned-on"),
    ],
)
def test_workload_identity_reaches_the_metadata_server_and_nothing_else_there(
    run_program: ProgramRunner, cluster: dict[str, Any], setting: bool | None, allowed: bool
) -> None:
    env: dict[str, Any] = {"name": "prod"} if setting is None else {"name": "prod", "allowMetadataServer": setting}
    graph = run_stack(run_program, stack(environments=[env], cluster=cluster))
    found = policies(graph, "prod")
    assert ("allow-metadata-server" in found) is allowed
    if allowed:
        policy = found["allow-metadata-server"]
        assert policy["podSelector"] == {}
        assert policy["policyTypes"] == ["Egress"]
        # Those two addresses, each on its one port: never every port of the range.
        assert policy["egress"] == METADATA_SERVER_EGRESS


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(
            {"name": "prod", "allowFromCidrs": ["35.191.0.1/16"]},
            "delivery-platform:environments[0].allowFromCidrs[0]: '35.191.0.1/16' is not an IPv4 CIDR block",
            id="host-bits-set",
        ),
        pytest.param(
            {"name": "prod", "podSecurity": "strict"},
            "delivery-platform:environments[0].podSecurity: must be one of",
            id="unknown-pss-level",
        ),
        pytest.param(
            {"name": "prod", "podSecurityVersion": "1.34"},
            "delivery-platform:environments[0].podSecurityVersion:",
            id="pss-version",
        ),
        pytest.param(
            {"name": "prod", "containerDefaults": {"requestMemory": "1Gi", "limitMemory": "512Mi"}},
            "delivery-platform:environments[0].containerDefaults.requestMemory: 1Gi is greater than limitMemory",
            id="default-request-above-limit",
        ),
        pytest.param(
            {"name": "prod", "quota": {"requestsCpu": "eight"}},
            "delivery-platform:environments[0].quota.requestsCpu: 'eight' is not a Kubernetes quantity",
            id="quota-quantity",
        ),
    ],
)
def test_bad_environment_settings_are_rejected_naming_the_key(env: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config({"environments": [env]})
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems
