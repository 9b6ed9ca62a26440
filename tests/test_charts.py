"""The shared chart helper: pinned upstream charts, every kind of source override, and
a skip that registers nothing but says so."""

from __future__ import annotations

import contextlib
import http.server
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pytest
from pulumi_kubernetes.helm.v4 import RepositoryOptsArgs

from components.charts import ARGOCD_CHART, JENKINS_CHART, UpstreamChart, deploy_chart, unreachable_because
from components.config import ChartSource, ConfigError, validate_stack_config
from tests.conftest import UNREACHABLE_IN_TESTS, ProgramRunner
from tests.graph import Graph, Registered

CHART = "kubernetes:helm.sh/v4:Chart"
# An exact release: no ranges (^1.2, ~1.2, >=1.2), wildcards (1.x, *) or "latest".
EXACT_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+$")
UPSTREAM = UpstreamChart(name="example", repo="https://charts.example.org", version="1.2.3")
VALUES = {"replicas": 2, "nested": {"key": "value"}}


def run_chart(run_program: ProgramRunner, source: ChartSource, upstream: UpstreamChart = UPSTREAM) -> Graph:
    def program() -> None:
        provider = k8s.Provider("cluster", kubeconfig="{}")
        parent = pulumi.ComponentResource("test:index:Owner", "owner", None, pulumi.ResourceOptions(provider=provider))
        deploy_chart(
            "owner-chart",
            upstream,
            source,
            config_key="example.chart",
            release_name="example-release",
            namespace="example-ns",
            values=VALUES,
            opts=pulumi.ResourceOptions(parent=parent),
            still_created="the example's namespace",
        )

    return run_program(program)


@contextlib.contextmanager
def _http_server(status: int) -> Iterator[str]:
    """A local HTTP server answering every request with `status`."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self.send_response(status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def the_chart(graph: Graph) -> Registered:
    return graph.one(CHART, "owner-chart")


@pytest.mark.parametrize("upstream", [JENKINS_CHART, ARGOCD_CHART], ids=lambda chart: chart.name)
def test_upstream_charts_are_pinned_to_one_exact_release(upstream: UpstreamChart) -> None:
    assert EXACT_VERSION.fullmatch(upstream.version)
    assert upstream.repo.startswith("https://")


def test_default_source_is_the_pinned_upstream_repo(run_program: ProgramRunner) -> None:
    graph = run_chart(run_program, ChartSource())
    chart = the_chart(graph)
    assert chart.inputs["chart"] == UPSTREAM.name
    assert chart.inputs["version"] == UPSTREAM.version
    assert chart.inputs["repositoryOpts"] == {"repo": UPSTREAM.repo}
    assert chart.inputs["name"] == "example-release"
    assert chart.inputs["namespace"] == "example-ns"
    assert chart.inputs["values"] == VALUES


def test_chart_is_a_child_of_its_component_on_the_components_provider(run_program: ProgramRunner) -> None:
    graph = run_chart(run_program, ChartSource())
    chart = the_chart(graph)
    assert graph.by_urn(chart.parent).name == "owner"
    assert chart.provider_urn == graph.one("pulumi:providers:kubernetes", "cluster").urn


def test_an_http_mirror_replaces_the_repo_but_keeps_the_pinned_version(run_program: ProgramRunner) -> None:
    mirror = "https://charts.mirror.internal/example"
    chart = the_chart(run_chart(run_program, ChartSource(repo=mirror)))
    assert chart.inputs["repositoryOpts"] == {"repo": mirror}
    assert chart.inputs["chart"] == UPSTREAM.name
    assert chart.inputs["version"] == UPSTREAM.version


def test_an_oci_reference_is_the_chart_with_no_repository(run_program: ProgramRunner) -> None:
    reference = "oci://registry.internal/charts/example"
    chart = the_chart(run_chart(run_program, ChartSource(oci=reference, version="1.2.4")))
    assert chart.inputs["chart"] == reference
    assert chart.inputs["version"] == "1.2.4"
    assert "repositoryOpts" not in chart.inputs


def test_a_local_chart_is_used_as_it_is_on_disk(run_program: ProgramRunner) -> None:
    chart = the_chart(run_chart(run_program, ChartSource(path="vendor/charts/example-1.2.3.tgz")))
    assert chart.inputs["chart"] == "vendor/charts/example-1.2.3.tgz"
    assert "version" not in chart.inputs
    assert "repositoryOpts" not in chart.inputs


def test_a_version_override_applies_to_the_upstream_repo(run_program: ProgramRunner) -> None:
    chart = the_chart(run_chart(run_program, ChartSource(version="1.3.0")))
    assert chart.inputs["version"] == "1.3.0"
    assert chart.inputs["repositoryOpts"] == {"repo": UPSTREAM.repo}


def test_skip_registers_no_chart_and_logs_what_and_why(
    run_program: ProgramRunner, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        graph = run_chart(run_program, ChartSource(skip=True))
    assert graph.of_type(CHART) == []
    message = next(record.getMessage() for record in caplog.records if UPSTREAM.name in record.getMessage())
    assert "example.chart.skip is true" in message
    assert UPSTREAM.version in message
    assert UPSTREAM.repo in message
    assert "the example's namespace" in message


@pytest.mark.parametrize(
    ("chart", "problem"),
    [
        (
            {"repo": "https://mirror.internal", "oci": "oci://registry.internal/jenkins"},
            "delivery-platform:jenkins.chart.oci: set only one of repo, oci or path",
        ),
        ({"oci": "https://registry.internal/jenkins"}, "delivery-platform:jenkins.chart.oci:"),
        ({"path": "charts/jenkins", "version": "5.0.0"}, "delivery-platform:jenkins.chart.version:"),
    ],
)
def test_chart_source_errors_name_the_key(chart: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        validate_stack_config({"jenkins": {"chart": chart}})
    assert any(message.startswith(problem) for message in raised.value.problems), raised.value.problems


# --- sources that cannot be reached ---


def test_an_unreachable_source_skips_the_chart_only_when_the_stack_says_so(
    run_program: ProgramRunner, caplog: pytest.LogCaptureFixture
) -> None:
    """Unit tests treat every source as unreachable (tests/conftest.py)."""
    with caplog.at_level(logging.WARNING):
        skipped = run_chart(run_program, ChartSource(when_unreachable="skip"))
    assert skipped.of_type(CHART) == []
    message = next(record.getMessage() for record in caplog.records if UPSTREAM.name in record.getMessage())
    assert "no chart source is reachable" in message
    assert UNREACHABLE_IN_TESTS in message
    assert "the example's namespace" in message
    # By default a chart is always registered: the engine reports a missing source, and a
    # live release is never deleted because a mirror was down for one run.
    assert the_chart(run_chart(run_program, ChartSource())).inputs["chart"] == UPSTREAM.name


def test_a_local_chart_that_exists_is_reachable(tmp_path: Path) -> None:
    chart = tmp_path / "example-1.2.3.tgz"
    assert unreachable_because(str(chart), None) == f"{chart} does not exist"
    chart.write_bytes(b"")
    assert unreachable_because(str(chart), None) is None


def test_a_repository_nobody_answers_for_is_unreachable() -> None:
    # A closed port on this machine: refused at once, no traffic leaves it.
    reason = unreachable_because("example", RepositoryOptsArgs(repo="http://127.0.0.1:9"))
    assert reason is not None
    assert reason.startswith("http://127.0.0.1:9/index.yaml is not reachable")
    assert unreachable_because("oci://127.0.0.1:9/charts/example", None) is not None


def test_a_repository_that_answers_is_reachable_whatever_the_status() -> None:
    """Any HTTP answer counts: a mirror asking for credentials is there."""
    with _http_server(404) as url:
        assert unreachable_because("example", RepositoryOptsArgs(repo=url)) is None
