"""Upstream Helm charts, pinned here, deployed from their upstream repository or from
the stack's override (an HTTP mirror, an OCI registry or a local chart for air-gapped
sites), or knowingly left out."""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi_kubernetes.helm.v4 import Chart, RepositoryOptsArgs

from .config import ChartSource


@dataclass(frozen=True)
class UpstreamChart:
    name: str
    repo: str
    version: str


# The pinned upstream charts. Bump deliberately: read the chart's changelog, render it
# with Helm and the values the component passes (the Chart resource's `values` under
# the unit tests' mocks), run the policy pack over the result, and update the facts
# recorded from it (components/jenkins/, components/argocd/, tests/chart_facts.py).
JENKINS_CHART = UpstreamChart(name="jenkins", repo="https://charts.jenkins.io", version="5.9.53")
ARGOCD_CHART = UpstreamChart(name="argo-cd", repo="https://argoproj.github.io/argo-helm", version="10.1.1")


@dataclass(frozen=True)
class ChartRelease:
    """The chart a component deploys, as its stack output reports it."""

    chart: str
    version: str | None  # None: a local chart, used at whatever version is on disk
    source: str
    skipped_because: str | None

    def output(self) -> dict[str, str | bool | None]:
        return {
            "chart": self.chart,
            "version": self.version,
            "source": self.source,
            "deployed": self.skipped_because is None,
            "skippedBecause": self.skipped_because,
        }


# Pod Security "restricted" for a chart's containers, in Helm values' spelling: what
# every container of the platform's charts runs with (a chart's own user id on top).
RESTRICTED_CONTAINER: dict[str, Any] = {
    "runAsNonRoot": True,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def system_namespace_labels(component: str, *, enforce: str) -> dict[str, str]:
    """Labels of a platform system's namespace (CI, CD): Pod Security Standards enforced
    at `enforce` (what the upstream chart's pods pass) and always audited and warned at
    restricted, so anything looser is reported."""
    return {
        "app.kubernetes.io/part-of": "delivery-platform",
        "app.kubernetes.io/component": component,
        "pod-security.kubernetes.io/enforce": enforce,
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def _resolve(upstream: UpstreamChart, source: ChartSource) -> tuple[str, str | None, RepositoryOptsArgs | None, str]:
    """chart reference, version, repository options and a description of the source."""
    version = source.version or upstream.version
    if source.oci:
        return source.oci, version, None, source.oci
    if source.path:
        return source.path, None, None, source.path
    repo = source.repo or upstream.repo
    return upstream.name, version, RepositoryOptsArgs(repo=repo), repo


# Long enough for a slow mirror, short enough that an offline run is not held up.
PROBE_TIMEOUT_SECONDS = 5.0


def unreachable_because(chart: str, repository_opts: RepositoryOptsArgs | None) -> str | None:
    """Why the chart's source cannot be reached from here, or None when it answers. Any
    HTTP answer counts (a registry asking for credentials is there)."""
    if repository_opts is None and not chart.startswith("oci://"):
        return None if os.path.exists(chart) else f"{chart} does not exist"
    if chart.startswith("oci://"):
        url = f"https://{urllib.parse.urlsplit(chart).netloc}/v2/"
    else:
        url = f"{str(repository_opts.repo).rstrip('/')}/index.yaml" if repository_opts is not None else chart
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT_SECONDS):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as error:
        return f"{url} is not reachable ({getattr(error, 'reason', error)})"


def deploy_chart(
    resource_name: str,
    upstream: UpstreamChart,
    source: ChartSource,
    *,
    config_key: str,
    release_name: str,
    namespace: pulumi.Input[str],
    values: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    still_created: str,
) -> tuple[Chart | None, ChartRelease]:
    """Deploys `upstream` (or the stack's override of it) with `values`. With
    `source.skip`, or `whenUnreachable: skip` and no answer from the source, nothing is
    registered for the chart; the skip is logged with what is still created
    (`still_created`) and reported in the returned ChartRelease."""
    chart, version, repository_opts, described = _resolve(upstream, source)
    reason = f"{config_key}.skip is true" if source.skip else None
    if reason is None and source.when_unreachable == "skip":
        unreachable = unreachable_because(chart, repository_opts)
        if unreachable is not None:
            reason = f"no chart source is reachable: {unreachable} ({config_key}.whenUnreachable is skip)"
    if reason is not None:
        log = pulumi.log.info if source.skip else pulumi.log.warn
        log(
            f"{upstream.name} chart ({chart} {version or ''} from {described}) not deployed: {reason}; "
            f"{still_created} are still created",
            resource=opts.parent,
        )
        return None, ChartRelease(chart=chart, version=version, source=described, skipped_because=reason)
    release = Chart(
        resource_name,
        chart=chart,
        version=version,
        repository_opts=repository_opts,
        name=release_name,
        namespace=namespace,
        values=values,
        opts=opts,
    )
    return release, ChartRelease(chart=chart, version=version, source=described, skipped_because=None)
