"""CI (Jenkins) and CD (Argo CD) settings, and where their Helm charts come from."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import ConfigModel, DnsLabel, FieldProblem, PinnedImage, check, parse_image, repeated
from .gcp import Cidr
from .workloads import GatewayRef, Hostname, Quantity, Resources

# A Jenkins plugin pinned to one release: `id:version`. `latest` and `experimental`
# are moving targets, so they are not versions.
_PINNED_PLUGIN = re.compile(r"^(?P<id>[A-Za-z0-9][A-Za-z0-9_.-]*):(?P<version>[A-Za-z0-9][A-Za-z0-9_.+-]*)$")
_MOVING_PLUGIN_VERSIONS = frozenset({"latest", "experimental"})
# Go durations as Argo CD reads them: 5s, 3m, 1h30m.
_DURATION = r"^([0-9]+(ms|s|m|h))+$"
# `Key=value` as Argo CD's syncOptions and the `argocd app sync --sync-option` flag take them.
_SYNC_OPTION = r"^[A-Za-z]+=[A-Za-z0-9.-]+$"
_GCP_SERVICE_ACCOUNT = r"^[a-z0-9-]+@[a-z0-9-]+\.iam\.gserviceaccount\.com$"


def _pinned_plugin(value: str) -> str:
    match = _PINNED_PLUGIN.fullmatch(value)
    if not match:
        raise ValueError(f"{value!r} is not a pinned plugin; write id:version, e.g. git:5.10.1")
    if match["version"] in _MOVING_PLUGIN_VERSIONS:
        raise ValueError(f"{value!r} is not pinned: {match['version']!r} moves; give a released version")
    return value


PinnedPlugin = Annotated[str, AfterValidator(_pinned_plugin)]


def plugin_id(plugin: str) -> str:
    return plugin.split(":", 1)[0]


class ChartSource(ConfigModel):
    """Where a Helm chart is fetched from. Exactly one of repo (an HTTP Helm
    repository), oci (an OCI reference without the version) or path (a local chart
    directory or .tgz, for air-gapped mirrors) is used; unset means the upstream repo.
    With `skip`, the chart is not deployed (e.g. a render-only dev stack offline)."""

    repo: str | None = Field(default=None, pattern=r"^https?://")
    oci: str | None = Field(default=None, pattern=r"^oci://")
    path: str | None = None
    version: str | None = None  # default: the pinned upstream version (components/charts.py)
    skip: bool = False
    # What to do when the source cannot be reached at deploy time: `fail` (the engine
    # reports the chart's error), or `skip` the chart for that run and say so, for
    # render-only stacks on machines without the chart (the dev stack). Never `skip`
    # on a live cluster: a skipped chart deletes what it had deployed.
    when_unreachable: Literal["fail", "skip"] = "fail"

    @model_validator(mode="after")
    def _one_source(self) -> ChartSource:
        given = [name for name, value in (("repo", self.repo), ("oci", self.oci), ("path", self.path)) if value]
        problems = []
        if len(given) > 1:
            problems.append(
                FieldProblem(given[1], f"set only one of repo, oci or path (both {given[0]} and {given[1]} are set)")
            )
        if self.path and self.version:
            problems.append(
                FieldProblem("version", "a local chart (path) is used as it is on disk; pin it by the file you ship")
            )
        check(problems)
        return self


class ReleaseRepo(ConfigModel):
    """The Git repository Argo CD syncs the GitOps apps from: each app's manifests, as
    the release tool renders them (python -m components.release), in one directory
    under `path` with {environment} and {app} filled in."""

    # Plain http only on the loopback address (a local mirror, the e2e tests' server).
    url: str = Field(
        default="https://git.example.com/platform/releases.git",
        pattern=r"^(https://|ssh://|git@|http://(127\.0\.0\.1|localhost)(:[0-9]+)?/)",
    )
    revision: str = Field(default="main", min_length=1)  # the branch Argo CD tracks and Jenkins pushes to
    path: str = "{environment}/{app}"

    @model_validator(mode="after")
    def _path_names_the_app(self) -> ReleaseRepo:
        problems = []
        if "{app}" not in self.path or "{environment}" not in self.path:
            problems.append(FieldProblem("path", "must contain {environment} and {app}, one directory per app"))
        else:
            try:
                self.path.format(environment="e", app="a")
            except (KeyError, IndexError, ValueError):
                problems.append(FieldProblem("path", "may only use the placeholders {environment} and {app}"))
        check(problems)
        return self

    def app_path(self, environment: str, app: str) -> str:
        return self.path.format(environment=environment, app=app)


# The plugins seed jobs and agent pod templates need, pinned to the versions the
# pinned chart (components/charts.py) was released with; job-dsl runs the JCasC `jobs:`.
DEFAULT_JENKINS_PLUGINS = (
    "kubernetes:4540.v612369217f87",
    "workflow-aggregator:608.v67378e9d3db_1",
    "git:5.10.1",
    "configuration-as-code:2115.vf6de120eef70",
    "job-dsl:3654.vdf58f53e2d15",
)
_REQUIRED_PLUGINS = {
    "kubernetes": "agents run as pods",
    "workflow-aggregator": "the seed jobs are Pipelines",
    "git": "the pipelines clone sources and push the release repo",
    "configuration-as-code": "Jenkins is configured from JCasC",
    "job-dsl": "the JCasC `jobs:` section that creates the seed jobs runs Job DSL",
}


# A secret config key's name: the key the operator sets with `pulumi config set --secret`.
SecretKey = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]


class PluginSource(ConfigModel):
    """Where the Jenkins controller gets its pinned plugins. `update-center`: its init
    container downloads them at every start from `url`, the Jenkins update center or
    (air-gapped) a mirror of it with the same layout; the controller needs HTTPS egress
    to it. `image`: `controllerImage` has them baked in (jenkins-plugin-cli at image
    build time) and nothing is downloaded."""

    kind: Literal["update-center", "image"] = "update-center"
    url: str = Field(default="https://updates.jenkins.io", pattern=r"^https?://")
    controller_image: PinnedImage | None = None

    @model_validator(mode="after")
    def _image_named(self) -> PluginSource:
        problems = []
        if self.kind == "image" and self.controller_image is None:
            problems.append(FieldProblem("controllerImage", "is required when kind is image"))
        if self.controller_image is not None and parse_image(self.controller_image).tag is None:
            problems.append(FieldProblem("controllerImage", "needs a tag (the chart writes <repository>:<tag>)"))
        check(problems)
        return self


class JenkinsConfig(ConfigModel):
    enabled: bool = True
    namespace: DnsLabel = "jenkins"
    # Build pods run here, apart from the controller: the daemonless builders need a
    # looser Pod Security level than anything else on the platform.
    agent_namespace: DnsLabel = "jenkins-agents"
    chart: ChartSource = Field(default_factory=ChartSource)
    plugins: list[PinnedPlugin] = Field(default_factory=lambda: list(DEFAULT_JENKINS_PLUGINS), min_length=1)
    plugin_source: PluginSource = Field(default_factory=PluginSource)
    # The secret config key holding the admin password (the operator sets it; the dev
    # stack carries one encrypted in Pulumi.dev.yaml).
    admin_password_key: SecretKey = "jenkinsAdminPassword"
    # Where the controller and the build pods may connect beyond the cluster, on HTTPS
    # and SSH only: the API server, Git, registries, the plugin source. NetworkPolicies
    # cannot name hosts; narrow this to your ranges where you know them.
    egress_cidrs: list[Cidr] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1)
    # Daemonless image builder for agent pods. kaniko is a deprecated choice (Google
    # archived it in June 2025; a community fork is used); see components/jenkins.py.
    builder: Literal["buildkit", "buildah", "kaniko"] = "buildkit"
    builder_image: PinnedImage | None = None  # default: the builder's pinned image (components/jenkins.py)
    builder_resources: Resources = Field(
        default_factory=lambda: Resources(cpu_request="1", memory_request="2Gi", memory_limit="4Gi")
    )
    persistence_size: Quantity = "20Gi"  # the controller's home volume: jobs, build history
    storage_class: str | None = None  # default: the cluster's default StorageClass
    source_repo_base: str = "https://git.example.com/apps"  # each app's source is <base>/<app>.git
    source_branch: str = Field(default="main", min_length=1)
    # How often Jenkins polls each app's source for new commits (Jenkins cron syntax);
    # None when a webhook triggers the builds instead.
    poll_schedule: str | None = "H/5 * * * *"
    # Jenkins credential ids (usernamePassword); the credentials themselves are created
    # in Jenkins, never in stack config. None: the source repos are public.
    source_credentials_id: str | None = None
    # May push the deploy commits: to pulumiRepo (every app) and argocd.releaseRepo
    # (GitOps apps).
    deploy_credentials_id: str = "deploy-git"
    # Dockerfile stage that compiles and runs the unit tests: the pipeline's source
    # build, run by the same daemonless builder before the image is built and pushed.
    source_build_target: str = Field(default="build", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    # The Git repository and branch of this Pulumi program. The stack file is the one
    # record of what each app runs, so every deploy writes the new image there: then
    # `pulumi up` applies it (apps[].delivery pulumi, with the Jenkins secret-text
    # credential holding a Pulumi access token), or the release tool renders it into
    # the release repo Argo CD syncs (gitops).
    pulumi_repo: str = Field(default="https://git.example.com/platform/delivery-platform.git", min_length=1)
    pulumi_branch: str = Field(default="main", min_length=1)
    pulumi_credentials_id: str = "pulumi-access-token"
    # GCP service account the agent ServiceAccount impersonates through Workload
    # Identity (e.g. to push to Artifact Registry without a key).
    agent_gcp_service_account: str | None = Field(default=None, pattern=_GCP_SERVICE_ACCOUNT)
    expose_via_gateway: bool = False
    hostname: Hostname | None = None
    gateway: GatewayRef = Field(default_factory=GatewayRef)

    @model_validator(mode="after")
    def _consistent(self) -> JenkinsConfig:
        problems = []
        if self.expose_via_gateway and not self.hostname:
            problems.append(FieldProblem("hostname", "is required when exposeViaGateway is true"))
        if self.agent_namespace == self.namespace:
            problems.append(
                FieldProblem(
                    "agentNamespace", "must differ from namespace: build pods need a Pod Security level of their own"
                )
            )
        ids = [plugin_id(plugin) for plugin in self.plugins]
        problems += [
            FieldProblem(f"plugins[{i}]", f"duplicate plugin {plugin!r}")
            for i, plugin in enumerate(ids)
            if plugin in ids[:i]
        ]
        problems += [
            FieldProblem("plugins", f"must include {plugin} ({why})")
            for plugin, why in _REQUIRED_PLUGINS.items()
            if plugin not in ids
        ]
        check(problems)
        return self


class ManagedCluster(ConfigModel):
    """A spoke cluster registered with a hub Argo CD (1:N topology). The hub reaches it
    with `argocd-k8s-auth gcp`: Workload Identity, no stored token."""

    name: DnsLabel
    server: str = Field(pattern=r"^https://")
    ca_data: str = Field(min_length=1)  # base64 PEM of the cluster CA
    # Environments whose apps run on this cluster; an environment no spoke hosts runs
    # in the hub's own cluster.
    environments: list[DnsLabel] = Field(default_factory=list)


class RetryBackoff(ConfigModel):
    duration: str = Field(default="5s", pattern=_DURATION)
    factor: int = Field(default=2, ge=1)
    max_duration: str = Field(default="3m", pattern=_DURATION)


class SyncRetry(ConfigModel):
    """How often Argo CD retries a failed sync. Keep at least one retry with self-heal
    and PruneLast: Argo CD (v3.2) ends a sync as soon as its last prune is sent, its
    immediate self-heal can still see the pruned object and delete it again, and that
    partial sync fails on "not found" unless it is retried."""

    limit: int = Field(default=5, ge=0)
    backoff: RetryBackoff = Field(default_factory=RetryBackoff)


class SyncPolicy(ConfigModel):
    """How Argo CD syncs every Application: automatically (Git is the deploy) with
    prune and self-heal, or only when someone presses sync."""

    automated: bool = True
    prune: bool = True  # delete what was removed from Git
    self_heal: bool = True  # undo changes made in the cluster by hand
    # Namespaces belong to the platform (quota, network policy, Pod Security), never to
    # an app; prune only after the new version is applied; server-side apply for CRDs
    # and large objects.
    options: list[Annotated[str, Field(pattern=_SYNC_OPTION)]] = Field(
        default_factory=lambda: ["CreateNamespace=false", "PruneLast=true", "ServerSideApply=true"]
    )
    retry: SyncRetry = Field(default_factory=SyncRetry)

    @model_validator(mode="after")
    def _namespaces_stay_platform_owned(self) -> SyncPolicy:
        check(
            [FieldProblem("options", "CreateNamespace=true would let an app create namespaces the platform owns")]
            if "CreateNamespace=true" in self.options
            else []
        )
        return self


class ArgoCDConfig(ConfigModel):
    enabled: bool = True
    namespace: DnsLabel = "argocd"
    chart: ChartSource = Field(default_factory=ChartSource)
    # HA per the chart's docs: redis-ha (needs 3 nodes for its anti-affinity), two
    # server, repo-server and applicationset replicas, PodDisruptionBudgets.
    ha: bool = False
    topology: Literal["1:1", "1:N"] = "1:1"
    managed_clusters: list[ManagedCluster] = Field(default_factory=list)
    # 1:N: the GCP service account the hub's application controller and server use
    # through Workload Identity; it needs access to every spoke (roles/container.developer
    # or finer RBAC) and roles/iam.workloadIdentityUser for the two Kubernetes SAs.
    workload_identity_service_account: str | None = Field(default=None, pattern=_GCP_SERVICE_ACCOUNT)
    release_repo: ReleaseRepo = Field(default_factory=ReleaseRepo)
    sync: SyncPolicy = Field(default_factory=SyncPolicy)
    # Secret config keys: the admin password (Argo CD gets only its bcrypt hash) and the
    # password of Argo CD's own Redis (the Secret the chart's hook would otherwise create).
    admin_password_key: SecretKey = "argocdAdminPassword"
    redis_password_key: SecretKey = "argocdRedisPassword"
    # Namespaces whose pods may reach the Argo CD server (UI, API), e.g. the gateway's;
    # the port-forward of `argocd login --port-forward` needs none.
    allow_from_namespaces: list[DnsLabel] = Field(default_factory=list)
    # Where the server, repo-server and controllers may connect beyond the cluster (API
    # servers, Git), on HTTPS and SSH only; see jenkins.egressCidrs.
    egress_cidrs: list[Cidr] = Field(default_factory=lambda: ["0.0.0.0/0"], min_length=1)
    # With the resources finalizer, deleting an Application (an app taken out of the
    # config, or moved to Pulumi delivery) deletes the objects Argo CD synced for it, so
    # nothing is left running without an owner. Argo CD itself cannot be switched off
    # while GitOps apps remain (a config error), so it never takes the apps down with it.
    cascade_delete: bool = True
    # The image of the sync hooks that stop a Recreate app before its migration
    # (GitOps delivery): kubectl, no shell needed. Keep its minor within one of the
    # cluster's; mirror it for air-gapped clusters.
    release_hook_image: PinnedImage = "registry.k8s.io/kubectl:v1.34.2"
    # Where those hooks reach the Kubernetes API from inside the cluster, for their
    # egress NetworkPolicy: on GKE the stack knows (the control plane's private
    # endpoint); on other clusters, the addresses behind the `kubernetes` Service.
    release_hook_api_server_cidrs: list[Cidr] = Field(default_factory=list)
    # admin.passwordMtime: sessions issued before it are invalid. Rotating the admin
    # password: set a new secret and move this forward; keep it fixed otherwise, as a
    # moving value would log everyone out on every `pulumi up`.
    admin_password_rotated_at: str = Field(
        default="1970-01-01T00:00:00Z", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
    )

    @model_validator(mode="after")
    def _topology(self) -> ArgoCDConfig:
        problems = []
        if self.topology == "1:1" and self.managed_clusters:
            problems.append(
                FieldProblem("managedClusters", "only a 1:N (hub) Argo CD manages other clusters; set topology to 1:N")
            )
        if self.topology == "1:N":
            if not self.managed_clusters:
                problems.append(FieldProblem("managedClusters", "a 1:N hub needs at least one cluster to manage"))
            if not self.workload_identity_service_account:
                problems.append(
                    FieldProblem(
                        "workloadIdentityServiceAccount",
                        "is required for 1:N: the hub authenticates to spokes through Workload Identity",
                    )
                )
        problems += repeated(
            "managedClusters[{}].name",
            [cluster.name for cluster in self.managed_clusters],
            lambda name: f"duplicate cluster name {name!r}",
        )
        problems += repeated(
            "managedClusters[{}].server",
            [cluster.server for cluster in self.managed_clusters],
            lambda server: f"{server} is already registered",
        )
        check(problems)
        return self

    def clusters_hosting(self, environment: str) -> list[ManagedCluster]:
        """The spokes an environment's apps run on; empty means the hub's own cluster."""
        return [cluster for cluster in self.managed_clusters if environment in cluster.environments]
