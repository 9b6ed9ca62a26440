"""The components against what the pinned charts need (tests/chart_facts.py): every
Secret and ConfigMap a chart pod references with `optional: false` exists without Helm
hooks (helm.v4.Chart runs none), created by the chart itself or by the component; the
values are the ones the facts were read with; every container the chart renders gets
resources from the values. For both charts in every variant (HA on/off, 1:1/1:N, each
builder, each plugin source)."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.rpc import is_rpc_secret

from components.charts import ARGOCD_CHART, JENKINS_CHART
from tests.chart_facts import ARGOCD, JENKINS, ChartFacts
from tests.conftest import ProgramRunner
from tests.graph import Graph
from tests.test_argocd import HUB, run_argocd
from tests.test_jenkins import run_jenkins

CHART = "kubernetes:helm.sh/v4:Chart"
CREATED_KINDS = {"kubernetes:core/v1:Secret": "Secret", "kubernetes:core/v1:ConfigMap": "ConfigMap"}
PLUGIN_IMAGE = {"kind": "image", "controllerImage": "europe-docker.pkg.dev/acme/ci/jenkins:2.568.2-plugins-1"}
GATEWAY = {"exposeViaGateway": True, "hostname": "ci.example.com"}

JENKINS_VARIANTS = {
    "buildkit": {"builder": "buildkit"},
    "buildah": {"builder": "buildah"},
    "kaniko": {"builder": "kaniko"},
    "kaniko-plugins-in-image-behind-gateway": {"builder": "kaniko", "pluginSource": PLUGIN_IMAGE, **GATEWAY},
}
ARGOCD_VARIANTS = {
    "single-1:1": ({}, "single"),
    "ha-1:1": ({"ha": True}, "ha"),
    "single-1:N": (HUB, "single"),
    "ha-1:N": ({**HUB, "ha": True}, "ha"),
}


def _plain(value: Any) -> Any:
    if is_rpc_secret(value):
        return _plain(value["value"])
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _at(values: dict[str, Any], dotted: str) -> Any:
    node: Any = values
    for part in dotted.split("."):
        assert isinstance(node, dict), f"the values set no {dotted}"
        assert part in node, f"the values set no {dotted}"
        node = node[part]
    return node


def _registered(graph: Graph) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    """The chart's values, and the Secrets and ConfigMaps the component creates in the
    chart's namespace."""
    chart = graph.one(CHART)
    namespace = chart.inputs["namespace"]
    created = {
        (CREATED_KINDS[resource.type], resource.input("metadata.name"))
        for resource in graph
        if resource.type in CREATED_KINDS and resource.input("metadata.namespace") == namespace
    }
    return _plain(chart.inputs["values"]), created


def _check(graph: Graph, facts: ChartFacts) -> None:
    chart = graph.one(CHART)
    assert (chart.inputs["chart"], chart.inputs["version"]) == (facts.chart, facts.version), (
        "the facts were read from another chart version: render the new one and record its facts"
    )
    values, created_by_component = _registered(graph)
    for path, expected in facts.values_read_with.items():
        assert _at(values, path) == expected, f"{path}: the facts were read with {expected!r}; read them again"
    missing = facts.required - facts.created - created_by_component
    assert not missing, f"chart pods wait forever for {sorted(missing)}: neither chart nor component creates them"
    for (workload, container), path in facts.container_resources.items():
        resources = _at(values, path)
        for section, name in (("requests", "cpu"), ("requests", "memory"), ("limits", "memory")):
            assert resources.get(section, {}).get(name), f"{workload} {container}: {path} sets no {section}.{name}"


@pytest.mark.parametrize("variant", JENKINS_VARIANTS.values(), ids=list(JENKINS_VARIANTS))
def test_jenkins_chart_pods_find_everything_they_reference(run_program: ProgramRunner, variant: dict[str, Any]) -> None:
    _check(run_jenkins(run_program, variant), JENKINS)


@pytest.mark.parametrize(("config", "facts"), ARGOCD_VARIANTS.values(), ids=list(ARGOCD_VARIANTS))
def test_argocd_chart_pods_find_everything_they_reference(
    run_program: ProgramRunner, config: dict[str, Any], facts: str
) -> None:
    _check(run_argocd(run_program, config), ARGOCD[facts])


def test_the_facts_are_of_the_pinned_charts() -> None:
    assert (JENKINS.chart, JENKINS.version) == (JENKINS_CHART.name, JENKINS_CHART.version)
    for facts in ARGOCD.values():
        assert (facts.chart, facts.version) == (ARGOCD_CHART.name, ARGOCD_CHART.version)


def test_the_redis_secret_is_the_components_and_holds_the_password(run_program: ProgramRunner) -> None:
    """The one Secret the argo-cd chart leaves to a hook: the component creates it with
    the key every reader uses, from the stack's secret, before the chart."""
    from tests.test_argocd import REDIS_PASSWORD

    graph = run_argocd(run_program, {"ha": True})
    (secret,) = (r for r in graph.of_type("kubernetes:core/v1:Secret") if r.input("metadata.name") == "argocd-redis")
    assert is_rpc_secret(secret.inputs["stringData"]) or is_rpc_secret(secret.inputs["stringData"]["auth"])
    assert _plain(secret.inputs["stringData"]) == {"auth": REDIS_PASSWORD}
    assert secret.urn in graph.one(CHART).depends_on
