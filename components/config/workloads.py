"""Environments (isolated namespaces), the image registry, and the applications with
their deployment strategy. A strategy is a value object: its type picks the fields."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import ConfigModel, DnsLabel, FieldProblem, PinnedImage, check
from .gcp import Cidr

_PERCENT = re.compile(r"^(100|[1-9]?[0-9])%$")
_QUANTITY = re.compile(
    r"^(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][-+]?[0-9]+)?$"
)
_QUANTITY_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    **{suffix: Decimal(1024) ** power for power, suffix in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"), start=1)},
}
# Host names a route may match: DNS names, optionally with one leading wildcard label.
_HOSTNAME = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
# RFC 6265 cookie-name token characters.
_COOKIE_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")


def _int_or_percent(value: int | str) -> int | str:
    if isinstance(value, int):
        if value < 0:
            raise ValueError("must be >= 0")
        return value
    if not _PERCENT.fullmatch(value):
        raise ValueError(f"{value!r} is neither a whole number nor a percentage like '25%'")
    return value


IntOrPercent = Annotated[int | str, AfterValidator(_int_or_percent)]


def is_zero(value: int | str) -> bool:
    return value in (0, "0%")


def quantity_value(quantity: str) -> Decimal:
    """The numeric value of a Kubernetes quantity ("250m" -> 0.25, "1Gi" -> 1073741824)."""
    match = _QUANTITY.fullmatch(quantity)
    if not match:
        raise ValueError(f"{quantity!r} is not a Kubernetes quantity like 250m, 2, 512Mi or 1Gi")
    suffix = match["suffix"] or ""
    if suffix in _QUANTITY_SUFFIXES:
        return Decimal(match["number"]) * _QUANTITY_SUFFIXES[suffix]
    return Decimal(match["number"] + suffix)  # a decimal exponent: 1e3, 5E-1


def _quantity(value: str) -> str:
    quantity_value(value)
    return value


Quantity = Annotated[str, AfterValidator(_quantity)]


def _hostname(value: str) -> str:
    if len(value) > 253 or not _HOSTNAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a host name like shop.example.com or *.example.com")
    return value


Hostname = Annotated[str, AfterValidator(_hostname)]


def _not_above(problems: list[FieldProblem], low_key: str, low: str, high_key: str, high: str | None) -> None:
    if high is not None and quantity_value(low) > quantity_value(high):
        problems.append(FieldProblem(low_key, f"{low} is greater than {high_key} {high}"))


class QuotaConfig(ConfigModel):
    requests_cpu: Quantity = "8"
    requests_memory: Quantity = "16Gi"
    # None leaves CPU limits out of the quota: a quota on limits.cpu rejects every pod
    # without a CPU limit, and apps run without one by default (see Resources.cpuLimit).
    limits_cpu: Quantity | None = None
    limits_memory: Quantity = "32Gi"
    pods: int = Field(default=100, ge=1)
    services_load_balancers: int = Field(default=0, ge=0)
    services_node_ports: int = Field(default=0, ge=0)


class ContainerDefaults(ConfigModel):
    """LimitRange defaults for containers that set no resources of their own."""

    request_cpu: Quantity = "100m"
    request_memory: Quantity = "128Mi"
    limit_cpu: Quantity | None = None  # no default CPU limit, as for apps (throttling hurts latency)
    limit_memory: Quantity = "512Mi"

    @model_validator(mode="after")
    def _requests_within_limits(self) -> ContainerDefaults:
        problems: list[FieldProblem] = []
        _not_above(problems, "requestCpu", self.request_cpu, "limitCpu", self.limit_cpu)
        _not_above(problems, "requestMemory", self.request_memory, "limitMemory", self.limit_memory)
        check(problems)
        return self


# NodeLocal DNSCache (always on in Autopilot, default on recent Standard clusters) and
# the GKE metadata server that answers DNS for Cloud DNS: neither is a pod, so only an
# ipBlock lets pods in a default-deny namespace reach them.
GKE_DNS_RESOLVERS = ("169.254.20.10/32", "169.254.169.254/32")
# Where pods get their Workload Identity tokens: the metadata address on port 80, served
# on GKE Dataplane V2 nodes by the GKE metadata server at 169.254.169.252:988 (GKE's
# Workload Identity documentation, as read in 2026). Nothing else on those addresses is
# opened.
GKE_METADATA_SERVER = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))


# Where a GKE Gateway's load balancer reaches pods from: Google Front Ends and health
# checks (every gke-l7-* class; regional classes also use the VPC's proxy-only subnet).
GKE_GATEWAY_SOURCE_RANGES = ("35.191.0.0/16", "130.211.0.0/22")


class EnvironmentConfig(ConfigModel):
    """One isolated namespace: deny-by-default network, Pod Security Standards, quota."""

    name: DnsLabel
    # Pod Security Standards level enforced; audit and warn always use restricted, so
    # anything looser than restricted is at least reported.
    pod_security: Literal["restricted", "baseline", "privileged"] = "restricted"
    # The PSS version the level is checked against: "latest" follows the cluster; pin
    # (e.g. v1.34) so a cluster upgrade never starts rejecting pods on its own.
    pod_security_version: str = Field(default="latest", pattern=r"^(latest|v1\.[0-9]+)$")
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    container_defaults: ContainerDefaults = Field(default_factory=ContainerDefaults)
    # Namespaces (by name) whose pods may call into this one, e.g. an in-cluster
    # gateway or ingress controller namespace.
    allow_from_namespaces: list[DnsLabel] = Field(default_factory=list)
    # Address ranges allowed in besides pods: load balancers that send traffic straight
    # to pods, e.g. GKE Gateway/Ingress health checks and Google Front Ends
    # (35.191.0.0/16, 130.211.0.0/22) or a regional load balancer's proxy-only subnet.
    allow_from_cidrs: list[Cidr] = Field(default_factory=list)
    # Namespaces whose pods this namespace's pods may call (besides its own and DNS).
    allow_to_namespaces: list[DnsLabel] = Field(default_factory=list)
    # Address ranges pods may reach outside the cluster, e.g. a Cloud SQL private range.
    allow_to_cidrs: list[Cidr] = Field(default_factory=list)
    # DNS servers outside the pod network (see GKE_DNS_RESOLVERS); kube-dns pods are
    # always allowed.
    dns_resolver_cidrs: list[Cidr] = Field(default_factory=lambda: list(GKE_DNS_RESOLVERS))
    # Egress to the GKE metadata server (GKE_METADATA_SERVER: those addresses and ports
    # only), which Workload Identity needs. null: allowed on the GKE clusters this stack
    # creates, not elsewhere (on other clouds the address is their instance metadata).
    allow_metadata_server: bool | None = None

    @model_validator(mode="after")
    def _quota_and_defaults(self) -> EnvironmentConfig:
        check(
            [
                FieldProblem(
                    "quota.limitsCpu",
                    "a quota on limits.cpu rejects every pod without a CPU limit: "
                    "set containerDefaults.limitCpu too (the LimitRange then gives one to containers without)",
                )
            ]
            if self.quota.limits_cpu is not None and self.container_defaults.limit_cpu is None
            else []
        )
        return self


class RegistryConfig(ConfigModel):
    """The registry CI pushes to and pods pull from. The pull secret's password is the
    Pulumi config secret named by passwordKey, never a plain config value."""

    server: str = Field(min_length=1)
    username: str = "_json_key"
    password_key: str = "registryPassword"
    create_pull_secret: bool = True
    pull_secret_name: DnsLabel = "registry-pull"


class Resources(ConfigModel):
    cpu_request: Quantity = "100m"
    memory_request: Quantity = "128Mi"
    cpu_limit: Quantity | None = None  # no CPU limit by default: throttling hurts latency
    memory_limit: Quantity = "256Mi"
    # The writable /tmp (an emptyDir) beside the read-only root file system.
    tmp_size_limit: Quantity = "64Mi"

    @model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        problems: list[FieldProblem] = []
        _not_above(problems, "cpuRequest", self.cpu_request, "cpuLimit", self.cpu_limit)
        _not_above(problems, "memoryRequest", self.memory_request, "memoryLimit", self.memory_limit)
        check(problems)
        return self


class Probe(ConfigModel):
    path: str = Field(default="/healthz", pattern=r"^/")
    port: int | None = Field(default=None, ge=1, le=65535)  # default: the app's port
    initial_delay_seconds: int = Field(default=0, ge=0)
    period_seconds: int = Field(default=10, ge=1)
    timeout_seconds: int = Field(default=1, ge=1)
    failure_threshold: int = Field(default=3, ge=1)


class Probes(ConfigModel):
    readiness: Probe = Field(default_factory=lambda: Probe(path="/readyz"))
    liveness: Probe = Field(default_factory=lambda: Probe(path="/healthz", period_seconds=20))


class Migration(ConfigModel):
    """A Job run with the new image between scaling the old version to zero and
    starting the new one (the Recreate schema-change flow)."""

    command: list[str] = Field(min_length=1)
    backoff_limit: int = Field(default=1, ge=0)
    active_deadline_seconds: int = Field(default=600, ge=1)


class RecreateStrategy(ConfigModel):
    type: Literal["recreate"]
    migration: Migration | None = None


class Autoscaling(ConfigModel):
    min_replicas: int = Field(default=2, ge=1)
    max_replicas: int = Field(default=10, ge=1)
    target_cpu_utilization: int = Field(default=70, ge=1, le=100)

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        check(
            [FieldProblem("minReplicas", f"{self.min_replicas} is greater than maxReplicas {self.max_replicas}")]
            if self.min_replicas > self.max_replicas
            else []
        )
        return self


class RollingStrategy(ConfigModel):
    type: Literal["rolling"]
    max_surge: IntOrPercent = "25%"
    max_unavailable: IntOrPercent = 0
    # Seconds a new pod must stay Ready before it counts as available and the rollout
    # moves on; catches pods that pass one readiness check and then crash.
    min_ready_seconds: int = Field(default=0, ge=0)
    # HorizontalPodAutoscaler; it then owns the replica count (leave apps[].replicas unset).
    # Switching it on or off is one config change (README, "Lifecycle operations").
    autoscaling: Autoscaling | None = None

    @model_validator(mode="before")
    @classmethod
    def _moved_budget(cls, data: object) -> object:
        if isinstance(data, dict) and ("minAvailable" in data or "min_available" in data):
            raise ValueError(
                "strategy.minAvailable is gone: every strategy now gets a PodDisruptionBudget per Deployment "
                "of 2+ replicas, set by apps[].maxUnavailable"
            )
        return data

    @model_validator(mode="after")
    def _progress(self) -> RollingStrategy:
        check(
            [FieldProblem("maxSurge", "maxSurge and maxUnavailable cannot both be 0: the rollout could never progress")]
            if is_zero(self.max_surge) and is_zero(self.max_unavailable)
            else []
        )
        return self


Colour = Literal["blue", "green"]


class ColourSpec(ConfigModel):
    image: PinnedImage


class BlueGreenStrategy(ConfigModel):
    type: Literal["blue-green"]
    active: Colour
    blue: ColourSpec
    green: ColourSpec
    # Replicas of the idle colour: keep them for an instant rollback, or 0 to save
    # capacity once the new colour has proven itself.
    idle_replicas: int | None = Field(default=None, ge=0)  # None: same as replicas


class HeaderMatch(ConfigModel):
    # An HTTP header name (RFC 7230 token), e.g. x-canary, x-user-group, accept-language.
    name: str = Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
    value: str = Field(min_length=1, max_length=4096)
    type: Literal["Exact", "RegularExpression"] = "Exact"


def _cookie_name(value: str) -> str:
    if not _COOKIE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a cookie name (letters, digits and !#$%&'*+.^_`|~-)")
    return value


class CanaryMatch(ConfigModel):
    """Requests that always go to the canary, whatever the weight. Each header, and the
    cookie, is its own rule (any one matching is enough): route a user group, a
    language (accept-language) or an A/B cohort to the canary. The cookie routes when
    its value is "always", as ingress-nginx's canary-by-cookie does."""

    headers: list[HeaderMatch] = Field(default_factory=list, max_length=16)
    cookie: Annotated[str, AfterValidator(_cookie_name)] | None = None


class GatewayRef(ConfigModel):
    name: str = "platform-gateway"
    namespace: DnsLabel = "gateway"
    section_name: str | None = None


class CanaryStrategy(ConfigModel):
    type: Literal["canary"]
    canary_image: PinnedImage | None = None  # None: no canary running, stable only
    weight: int = Field(default=0, ge=0, le=100)
    # Documented rollout plan; weight must be one of these when steps are given.
    steps: list[Annotated[int, Field(ge=0, le=100)]] = Field(default_factory=list)
    match: CanaryMatch = Field(default_factory=CanaryMatch)
    # gateway-api: an HTTPRoute attached to `gateway`. ingress-nginx: legacy Ingress
    # canary annotations; the ingress-nginx project was retired in March 2026 (no more
    # releases or security fixes), so use it only where it still runs.
    router: Literal["gateway-api", "ingress-nginx"] = "gateway-api"
    gateway: GatewayRef = Field(default_factory=GatewayRef)
    ingress_class_name: str = "nginx"  # router ingress-nginx only
    hostnames: list[Hostname] = Field(default_factory=list, max_length=16)
    # The fewest canary pods; the canary runs at least its share of apps[].replicas
    # (weight 25 of 4 replicas: 1 pod, weight 100: 4), so a promoted canary carries
    # what the stable track did.
    canary_replicas: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _plan(self) -> CanaryStrategy:
        problems = []
        if self.steps != sorted(self.steps):
            problems.append(FieldProblem("steps", "must be in ascending order"))
        if self.steps and self.weight not in self.steps and self.weight not in (0, 100):
            problems.append(FieldProblem("weight", f"{self.weight} is not one of steps {self.steps}"))
        if self.canary_image is None and (self.weight > 0 or self.match.headers or self.match.cookie):
            problems.append(FieldProblem("canaryImage", "is required when weight > 0 or match rules are set"))
        if self.router == "ingress-nginx" and len(self.match.headers) > 1:
            problems.append(
                FieldProblem("match.headers", "ingress-nginx routes a canary on one header only; use gateway-api")
            )
        check(problems)
        return self


Strategy = Annotated[
    RecreateStrategy | RollingStrategy | BlueGreenStrategy | CanaryStrategy,
    Field(discriminator="type"),
]


class EnvVar(ConfigModel):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    value: str | None = None
    secret: str | None = None  # name of a Secret in the namespace
    key: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EnvVar:
        problems = []
        if (self.value is None) == (self.secret is None):
            problems.append(FieldProblem("value", "set exactly one of value or secret"))
        if self.secret is not None and self.key is None:
            problems.append(FieldProblem("key", "is required with secret"))
        check(problems)
        return self


class AppConfig(ConfigModel):
    # Names the Deployments, Services and ServiceAccount; with suffixes such as
    # -preview or -migrate-<hash> it must stay a DNS label, hence the shorter limit.
    name: DnsLabel = Field(max_length=40)
    environment: DnsLabel
    # Who applies the app's objects to the cluster, and so owns them (never both):
    # `pulumi` - this stack's `pulumi up`, in dependency order; `gitops` - Argo CD, from
    # manifests the same strategy components render into the release repository
    # (python -m components.release), ordered with sync waves and hooks.
    delivery: Literal["pulumi", "gitops"] = "pulumi"
    # The stable image; blue-green apps set one image per colour instead.
    image: PinnedImage | None = None
    replicas: int = Field(default=2, ge=0, le=1000)
    # PodDisruptionBudget of every Deployment of the app that runs 2 or more pods (both
    # colours, the stable and canary tracks): pods a node drain may evict at once.
    # null: no budget.
    max_unavailable: IntOrPercent | None = 1
    port: int = Field(default=8080, ge=1, le=65535)  # the container's HTTP port
    service_port: int = Field(default=80, ge=1, le=65535)
    strategy: Strategy
    resources: Resources = Field(default_factory=Resources)
    probes: Probes = Field(default_factory=Probes)
    env: list[EnvVar] = Field(default_factory=list)
    config_maps: list[DnsLabel] = Field(default_factory=list)  # mounted with envFrom
    secrets: list[DnsLabel] = Field(default_factory=list)  # mounted with envFrom
    service_account: DnsLabel | None = None  # default: <name>
    # The app.kubernetes.io/part-of label: the larger system the app belongs to.
    part_of: DnsLabel | None = None  # default: <name>
    # Numeric, so the kubelet can prove runAsNonRoot for images whose USER is a name;
    # 65532 is the distroless "nonroot" user.
    run_as_user: int = Field(default=65532, ge=1)
    # Seconds a terminating pod keeps serving before SIGTERM, while endpoints and load
    # balancers stop sending it requests (0 disables); must fit in the grace period.
    pre_stop_sleep_seconds: int = Field(default=5, ge=0)
    termination_grace_period_seconds: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _strategy_rules(self) -> AppConfig:
        problems = []
        strategy = self.strategy
        if isinstance(strategy, BlueGreenStrategy):
            if self.image is not None:
                problems.append(
                    FieldProblem("image", "blue-green apps set strategy.blue.image and strategy.green.image instead")
                )
        elif self.image is None:
            problems.append(FieldProblem("image", f"is required for strategy {strategy.type}"))
        autoscaled = isinstance(strategy, RollingStrategy) and strategy.autoscaling is not None
        if autoscaled and "replicas" in self.model_fields_set:
            problems.append(
                FieldProblem("replicas", "remove it: with strategy.autoscaling the HorizontalPodAutoscaler owns it")
            )
        if self.max_unavailable is not None and is_zero(self.max_unavailable):
            problems.append(
                FieldProblem("maxUnavailable", "0 allows no voluntary eviction: node drains and upgrades block")
            )
        if self.pre_stop_sleep_seconds >= self.termination_grace_period_seconds:
            problems.append(
                FieldProblem(
                    "preStopSleepSeconds",
                    f"{self.pre_stop_sleep_seconds} leaves no time to shut down within "
                    f"terminationGracePeriodSeconds {self.termination_grace_period_seconds}",
                )
            )
        check(problems)
        return self


def next_image_key(app: AppConfig) -> str:
    """The app setting a new build replaces (dotted, under the app): the canary slot of
    a canary app, the idle colour of a blue-green app (promotion stays a deliberate
    change), else the image."""
    strategy = app.strategy
    if isinstance(strategy, CanaryStrategy):
        return "strategy.canaryImage"
    if isinstance(strategy, BlueGreenStrategy):
        idle = "green" if strategy.active == "blue" else "blue"
        return f"strategy.{idle}.image"
    return "image"
