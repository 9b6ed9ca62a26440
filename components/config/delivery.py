"""CI (Jenkins) and CD (Argo CD) settings, and where their Helm charts come from."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import ConfigModel, DnsLabel, FieldProblem, check


class ChartSource(ConfigModel):
    """Where a Helm chart is fetched from. Exactly one of repo (an HTTP Helm
    repository), oci (an OCI reference without the version) or path (a local chart
    directory or .tgz, for air-gapped mirrors) is used; unset means the upstream repo.
    With `skip`, the chart is not deployed (e.g. a render-only dev stack offline)."""

    repo: str | None = None
    oci: str | None = Field(default=None, pattern=r"^oci://")
    path: str | None = None
    version: str | None = None  # default: the pinned upstream version
    skip: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> ChartSource:
        given = [name for name, value in (("repo", self.repo), ("oci", self.oci), ("path", self.path)) if value]
        check(
            [FieldProblem(given[1], f"set only one of repo, oci or path (both {given[0]} and {given[1]} are set)")]
            if len(given) > 1
            else []
        )
        return self


class JenkinsConfig(ConfigModel):
    enabled: bool = True
    namespace: DnsLabel = "jenkins"
    chart: ChartSource = Field(default_factory=ChartSource)
    builder: Literal["buildkit", "buildah", "kaniko"] = "buildkit"
    persistence_size: str = "20Gi"
    storage_class: str | None = None
    # Deploy stage: commit the new tag to the release repo for Argo CD (gitops) or
    # run `pulumi up` on the app's stack (pulumi).
    deploy_mode: Literal["gitops", "pulumi"] = "gitops"
    release_repo: str = "https://git.example.com/platform/releases.git"
    source_repo_base: str = "https://git.example.com/apps"
    expose_via_gateway: bool = False
    hostname: str | None = None

    @model_validator(mode="after")
    def _hostname_for_route(self) -> JenkinsConfig:
        check(
            [FieldProblem("hostname", "is required when exposeViaGateway is true")]
            if self.expose_via_gateway and not self.hostname
            else []
        )
        return self


class ManagedCluster(ConfigModel):
    """A spoke cluster registered with a hub Argo CD (1:N topology)."""

    name: DnsLabel
    server: str = Field(pattern=r"^https://")
    ca_data: str = Field(min_length=1)  # base64 PEM of the cluster CA
    project: str | None = None  # GCP project, for Workload Identity exec auth


class ArgoCDConfig(ConfigModel):
    enabled: bool = True
    namespace: DnsLabel = "argocd"
    chart: ChartSource = Field(default_factory=ChartSource)
    ha: bool = False
    topology: Literal["1:1", "1:N"] = "1:1"
    managed_clusters: list[ManagedCluster] = Field(default_factory=list)
    repo_url: str = "https://git.example.com/platform/releases.git"
    source_kind: Literal["helm", "kustomize"] = "helm"
    auto_sync: bool = True
    prune: bool = True
    self_heal: bool = True

    @model_validator(mode="after")
    def _topology(self) -> ArgoCDConfig:
        problems = []
        if self.topology == "1:1" and self.managed_clusters:
            problems.append(
                FieldProblem("managedClusters", "only a 1:N (hub) Argo CD manages other clusters; set topology to 1:N")
            )
        names = [cluster.name for cluster in self.managed_clusters]
        problems += [
            FieldProblem(f"managedClusters[{i}].name", f"duplicate cluster name {name!r}")
            for i, name in enumerate(names)
            if name in names[:i]
        ]
        check(problems)
        return self
