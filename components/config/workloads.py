"""Environments (isolated namespaces), the image registry, and the applications with
their deployment strategy. A strategy is a value object: its type picks the fields."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from .base import ConfigModel, DnsLabel, FieldProblem, PinnedImage, check

_PERCENT = re.compile(r"^(100|[1-9]?[0-9])%$")


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


class QuotaConfig(ConfigModel):
    requests_cpu: str = "8"
    requests_memory: str = "16Gi"
    limits_cpu: str = "16"
    limits_memory: str = "32Gi"
    pods: int = Field(default=100, ge=1)
    services_load_balancers: int = Field(default=0, ge=0)
    services_node_ports: int = Field(default=0, ge=0)


class ContainerDefaults(ConfigModel):
    """LimitRange defaults for containers that set no resources of their own."""

    request_cpu: str = "100m"
    request_memory: str = "128Mi"
    limit_cpu: str = "500m"
    limit_memory: str = "512Mi"


class EnvironmentConfig(ConfigModel):
    name: DnsLabel
    pod_security: Literal["restricted", "baseline", "privileged"] = "restricted"
    quota: QuotaConfig = Field(default_factory=QuotaConfig)
    container_defaults: ContainerDefaults = Field(default_factory=ContainerDefaults)
    # Namespaces (by name) whose pods may call into this one, e.g. a gateway namespace.
    allow_from_namespaces: list[DnsLabel] = Field(default_factory=list)


class RegistryConfig(ConfigModel):
    """The registry CI pushes to and pods pull from. The pull secret's password is the
    Pulumi config secret named by passwordKey, never a plain config value."""

    server: str = Field(min_length=1)
    username: str = "_json_key"
    password_key: str = "registryPassword"
    create_pull_secret: bool = True


class Resources(ConfigModel):
    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str | None = None  # no CPU limit by default: throttling hurts latency
    memory_limit: str = "256Mi"


class Probe(ConfigModel):
    path: str = Field(default="/healthz", pattern=r"^/")
    port: int | None = Field(default=None, ge=1, le=65535)  # default: the app's port
    initial_delay_seconds: int = Field(default=0, ge=0)
    period_seconds: int = Field(default=10, ge=1)
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
    # PodDisruptionBudget; None disables it.
    min_available: IntOrPercent | None = 1
    autoscaling: Autoscaling | None = None

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
    name: str = Field(min_length=1)
    value: str = Field(min_length=1)
    type: Literal["Exact", "RegularExpression"] = "Exact"


class CanaryMatch(ConfigModel):
    """Requests that always go to the canary: by header (user, language, A/B group)
    or cookie."""

    headers: list[HeaderMatch] = Field(default_factory=list)
    cookie: str | None = None


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
    router: Literal["gateway-api", "ingress-nginx"] = "gateway-api"
    gateway: GatewayRef = Field(default_factory=GatewayRef)
    hostnames: list[str] = Field(default_factory=list)
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
    name: DnsLabel
    environment: DnsLabel
    # The stable image; blue-green apps set one image per colour instead.
    image: PinnedImage | None = None
    replicas: int = Field(default=2, ge=0, le=1000)
    port: int = Field(default=8080, ge=1, le=65535)
    strategy: Strategy
    resources: Resources = Field(default_factory=Resources)
    probes: Probes = Field(default_factory=Probes)
    env: list[EnvVar] = Field(default_factory=list)
    config_maps: list[DnsLabel] = Field(default_factory=list)  # mounted with envFrom
    service_account: DnsLabel | None = None  # default: <name>

    @model_validator(mode="after")
    def _image_for_strategy(self) -> AppConfig:
        problems = []
        if isinstance(self.strategy, BlueGreenStrategy):
            if self.image is not None:
                problems.append(
                    FieldProblem("image", "blue-green apps set strategy.blue.image and strategy.green.image instead")
                )
        elif self.image is None:
            problems.append(FieldProblem("image", f"is required for strategy {self.strategy.type}"))
        check(problems)
        return self
