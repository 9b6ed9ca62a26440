"""Upstream Helm charts, pinned here, deployed from their upstream repository or from
the stack's override (an HTTP mirror, an OCI registry or a local chart for air-gapped
sites), or knowingly left out."""

from __future__ import annotations

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


# The pinned upstream charts. Bump deliberately: read the chart's changelog, then
# re-check the values keys the components set (components/jenkins.py, argocd.py).
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
    `source.skip` nothing is registered for the chart; the skip is logged with what is
    still created (`still_created`) and reported in the returned ChartRelease."""
    chart, version, repository_opts, described = _resolve(upstream, source)
    if source.skip:
        reason = f"{config_key}.skip is true"
        pulumi.log.info(
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
