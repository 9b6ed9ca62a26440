"""The whole stack's configuration and its loader."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from pydantic import Field, ValidationError, model_validator

from .base import ConfigModel, CrossFieldError, FieldProblem, check, repeated
from .cluster import ClusterConfig, GkeAutopilotConfig, GkeStandardConfig, KubeconfigCluster, RenderCluster
from .delivery import ArgoCDConfig, JenkinsConfig
from .workloads import (
    GKE_GATEWAY_SOURCE_RANGES,
    AppConfig,
    BlueGreenStrategy,
    CanaryStrategy,
    EnvironmentConfig,
    RecreateStrategy,
    RegistryConfig,
)

PROJECT = "delivery-platform"
# Shortest admin or service password accepted from the stack's secrets: the bcrypt hash
# Argo CD stores is only as strong as the password behind it.
MIN_PASSWORD_LENGTH = 16


def _default_environments() -> list[EnvironmentConfig]:
    return [EnvironmentConfig(name=name) for name in ("test", "uat", "prod")]


class StackConfig(ConfigModel):
    """Everything under the `delivery-platform:` namespace of a stack file."""

    cluster: ClusterConfig = Field(default_factory=lambda: RenderCluster(kind="render"))
    # Pulumi `protect` on the resources whose loss loses data (cluster, backups).
    protect: bool = False
    environments: list[EnvironmentConfig] = Field(default_factory=_default_environments, min_length=1)
    registry: RegistryConfig | None = None
    jenkins: JenkinsConfig = Field(default_factory=JenkinsConfig)
    argocd: ArgoCDConfig = Field(default_factory=ArgoCDConfig)
    apps: list[AppConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references(self) -> StackConfig:
        env_names = [env.name for env in self.environments]
        problems = reference_problems(env_names, [(app.name, app.environment) for app in self.apps])
        problems += _object_name_clashes(self.apps)
        problems += _gateway_admission(self.environments, self.apps)
        problems += _route_clashes(self.apps)
        problems += _delivery_owner_problems(self)
        problems += [
            FieldProblem(
                f"argocd.managedClusters[{i}].environments[{j}]", f"{env!r} is not one of environments {env_names}"
            )
            for i, cluster in enumerate(self.argocd.managed_clusters)
            for j, env in enumerate(cluster.environments)
            if env not in env_names
        ]
        check(problems)
        return self

    def required_secrets(self) -> dict[str, str]:
        """The secret config keys the enabled components need, and what each one holds."""
        needed: dict[str, str] = {}
        if self.jenkins.enabled:
            needed[self.jenkins.admin_password_key] = "the Jenkins admin password"
        if self.argocd.enabled:
            needed[self.argocd.admin_password_key] = "the Argo CD admin password"
            needed[self.argocd.redis_password_key] = "the password of Argo CD's Redis"
        return needed

    def warnings(self) -> list[str]:
        """Allowed but risky settings, reported at load time."""
        cluster = self.cluster
        found = cluster.warnings() if isinstance(cluster, GkeStandardConfig | GkeAutopilotConfig) else []
        found += [
            f"apps[{i}].strategy.idleReplicas is 0: the colour a switch leaves idle is scaled down in the same "
            "`pulumi up`, so rolling back means waiting for cold pods; set it once the new colour has proven "
            "itself and remove it before the next switch"
            for i, app in enumerate(self.apps)
            if isinstance(app.strategy, BlueGreenStrategy) and app.strategy.idle_replicas == 0
        ]
        if isinstance(cluster, GkeAutopilotConfig) and self.jenkins.enabled and self.jenkins.builder != "kaniko":
            found.append(
                f"jenkins.builder {self.jenkins.builder} needs Unconfined seccomp and AppArmor, which Autopilot "
                "refuses: build pods will not start (use kaniko on Autopilot, or build on a Standard cluster)"
            )
        if (
            self.release_hook_apps()
            and isinstance(cluster, KubeconfigCluster)
            and not self.argocd.release_hook_api_server_cidrs
        ):
            found.append(
                "argocd.releaseHookApiServerCidrs is empty: the sync hooks that stop "
                f"{', '.join(app.name for app in self.release_hook_apps())} before a migration cannot reach the "
                "Kubernetes API through the namespace's default-deny egress; set the addresses behind the "
                "`kubernetes` Service"
            )
        return found

    def release_hook_apps(self) -> list[AppConfig]:
        """GitOps apps whose release runs sync hooks (Recreate with a migration)."""
        return [
            app
            for app in self.apps
            if app.delivery == "gitops" and isinstance(app.strategy, RecreateStrategy) and app.strategy.migration
        ]


def _delivery_owner_problems(config: StackConfig) -> list[FieldProblem]:
    """Every app has exactly one owner on its cluster: this stack's `pulumi up`, or the
    Argo CD this stack runs. An app whose owner cannot reach it, or that a second
    controller would also manage, is a config error."""
    problems = []
    for i, app in enumerate(config.apps):
        if app.delivery == "gitops" and not config.argocd.enabled:
            problems.append(
                FieldProblem(
                    f"apps[{i}].delivery",
                    f"app {app.name!r} is delivered through Git, but this stack runs no Argo CD (argocd.enabled is "
                    "false); with a 1:N hub elsewhere, list the app in the hub's stack instead",
                )
            )
        spokes = [cluster.name for cluster in config.argocd.clusters_hosting(app.environment)]
        if app.delivery == "pulumi" and config.argocd.enabled and spokes:
            problems.append(
                FieldProblem(
                    f"apps[{i}].delivery",
                    f"app {app.name!r} runs in environment {app.environment!r} on managed cluster(s) {spokes}, "
                    "which only this hub's Argo CD deploys to: set delivery to gitops",
                )
            )
    return problems


def object_names(app: AppConfig) -> list[str]:
    """The names an app's components give their Deployments and Services."""
    if isinstance(app.strategy, CanaryStrategy):
        return [app.name, f"{app.name}-canary"]
    if isinstance(app.strategy, BlueGreenStrategy):
        return [app.name, f"{app.name}-blue", f"{app.name}-green", f"{app.name}-preview"]
    return [app.name]


def _object_name_clashes(apps: list[AppConfig]) -> list[FieldProblem]:
    """Two apps in one namespace must not derive the same object name (an app called
    `shop-canary` beside canary app `shop` would fight over one Deployment)."""
    owner: dict[tuple[str, str], str] = {}
    problems = []
    for i, app in enumerate(apps):
        for name in object_names(app):
            other = owner.setdefault((app.environment, name), app.name)
            if other != app.name:
                problems.append(
                    FieldProblem(
                        f"apps[{i}].name", f"app {app.name!r} and app {other!r} both create objects named {name!r}"
                    )
                )
    return problems


def _admits_gateway(env: EnvironmentConfig, gateway_namespace: str) -> bool:
    """Whether the default-deny namespace lets a Gateway's traffic in: from the pods of
    an in-cluster gateway's namespace, or from the ranges GKE's load balancers use."""
    if gateway_namespace in env.allow_from_namespaces:
        return True
    allowed = [ipaddress.ip_network(cidr) for cidr in env.allow_from_cidrs]
    return all(
        any(ipaddress.ip_network(source).subnet_of(network) for network in allowed)  # type: ignore[arg-type]
        for source in GKE_GATEWAY_SOURCE_RANGES
    )


def _gateway_admission(environments: list[EnvironmentConfig], apps: list[AppConfig]) -> list[FieldProblem]:
    """An HTTPRoute attached to a Gateway serves nothing unless the app's namespace,
    which denies all ingress by default, admits that Gateway's traffic."""
    by_name = {env.name: env for env in environments}
    problems = []
    for i, app in enumerate(apps):
        strategy, env = app.strategy, by_name.get(app.environment)
        if not isinstance(strategy, CanaryStrategy) or strategy.router != "gateway-api" or env is None:
            continue
        if not _admits_gateway(env, strategy.gateway.namespace):
            problems.append(
                FieldProblem(
                    f"apps[{i}].environment",
                    f"environment {env.name!r} denies ingress by default and admits neither the Gateway's namespace "
                    f"{strategy.gateway.namespace!r} (allowFromNamespaces, for an in-cluster gateway) nor GKE's "
                    f"load balancer ranges {list(GKE_GATEWAY_SOURCE_RANGES)} (allowFromCidrs, for gke-l7-* classes; "
                    "regional classes also need the proxy-only subnet): the route would serve nothing",
                )
            )
    return problems


def _route_clashes(apps: list[AppConfig]) -> list[FieldProblem]:
    """Two HTTPRoutes on one Gateway listener that match the same host name (or both
    every host name) and the same paths conflict: the Gateway serves only one of them."""
    claimed: dict[tuple[str, str, str | None, str], str] = {}
    problems = []
    for i, app in enumerate(apps):
        strategy = app.strategy
        if not isinstance(strategy, CanaryStrategy) or strategy.router != "gateway-api":
            continue
        gateway = strategy.gateway
        for host in strategy.hostnames or ["*"]:
            owner = claimed.setdefault((gateway.namespace, gateway.name, gateway.section_name, host), app.name)
            if owner != app.name:
                what = f"host name {host!r}" if host != "*" else "every host name (no hostnames)"
                problems.append(
                    FieldProblem(
                        f"apps[{i}].strategy.hostnames",
                        f"app {owner!r} already routes {what} on Gateway {gateway.namespace}/{gateway.name}",
                    )
                )
    return problems


def reference_problems(env_names: list[Any], apps: list[tuple[Any, Any]]) -> list[FieldProblem]:
    """Rules across sections: unique environments, apps placed in a declared
    environment, and one app of a name per environment."""
    problems = repeated("environments[{}].name", env_names, lambda name: f"duplicate environment {name!r}")
    seen: set[tuple[Any, Any]] = set()
    for i, (name, environment) in enumerate(apps):
        if environment not in env_names:
            problems.append(
                FieldProblem(f"apps[{i}].environment", f"{environment!r} is not one of environments {env_names}")
            )
        if (name, environment) in seen:
            problems.append(FieldProblem(f"apps[{i}].name", f"duplicate app {name!r} in environment {environment!r}"))
        seen.add((name, environment))
    return problems


def _raw_reference_problems(data: Mapping[str, Any]) -> list[FieldProblem]:
    """The same rules on unvalidated input, so they are reported together with the
    field errors instead of only after those are fixed."""
    environments = data.get("environments")
    if environments is None:
        env_names: list[Any] = [env.name for env in _default_environments()]
    elif isinstance(environments, list):
        env_names = [env.get("name") for env in environments if isinstance(env, Mapping)]
        if len(env_names) != len(environments):
            return []
    else:
        return []
    apps = data.get("apps")
    if not isinstance(apps, list) or not all(isinstance(app, Mapping) for app in apps):
        return []
    hashable = (str, int, float, bool, type(None))
    pairs = [(app.get("name"), app.get("environment")) for app in apps]
    if not all(isinstance(part, hashable) for pair in pairs for part in pair):
        return []
    if not all(isinstance(name, hashable) for name in env_names):
        return []
    return reference_problems(env_names, pairs)


# Plainer wording than pydantic's for the errors users meet most.
_PLAIN_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "less_than_equal": lambda ctx: f"must be <= {ctx['le']}",
    "greater_than_equal": lambda ctx: f"must be >= {ctx['ge']}",
    "less_than": lambda ctx: f"must be < {ctx['lt']}",
    "greater_than": lambda ctx: f"must be > {ctx['gt']}",
    "literal_error": lambda ctx: f"must be one of {ctx['expected']}",
    "missing": lambda ctx: "is required",
    "union_tag_invalid": lambda ctx: f"{ctx['discriminator']} {ctx['tag']!r} is not one of {ctx['expected_tags']}",
    "union_tag_not_found": lambda ctx: f"{ctx['discriminator']} is required (one of the supported kinds)",
    "extra_forbidden": lambda ctx: "unknown key (check the spelling against the README's config reference)",
}


class ConfigError(Exception):
    """The stack configuration is invalid; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid stack configuration ({len(problems)} problem(s)):\n{lines}")


def _join(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def _is_union_member(part: str) -> bool:
    """pydantic names the member of a plain union it tried (`int`, `str`,
    `function-after[...]`, a model class name); users never write those."""
    return "[" in part or part in {"int", "str", "float", "bool", "list", "dict", "none"} or part[:1].isupper()


def _user_path(loc: tuple[str | int, ...], data: Any) -> str:
    """Render a pydantic error location as the key the user wrote. Unions add the tag
    or member they tried to the location (`strategy.canary.weight`, `maxSurge.int`);
    the user never wrote those, so they are dropped by walking the input alongside."""
    path, node = "", data
    for part in loc:
        if isinstance(part, int):
            path = _join(path, part)
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        if isinstance(node, Mapping) and part in node:
            path = _join(path, part)
            node = node[part]
            continue
        if not isinstance(node, Mapping) or part in node.values() or _is_union_member(part):
            continue
        path = _join(path, part)
        node = None
    return path


def _messages(error: ValidationError, data: Any) -> list[str]:
    by_path: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        path = _user_path(item["loc"], data)
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, CrossFieldError):
            for problem in cause.problems:
                by_path.setdefault(_join(path, problem.path) if path else problem.path, []).append(problem.message)
            continue
        plain = _PLAIN_MESSAGES.get(item["type"])
        message = plain(item.get("ctx") or {}) if plain else item["msg"].removeprefix("Value error, ")
        by_path.setdefault(path, []).append(message)
    # One line per key: a value rejected by every member of a union gets one line
    # listing what each member expected.
    return [
        f"{PROJECT}:{path}: {' / '.join(dict.fromkeys(messages))}" if path else f"{PROJECT}: {' / '.join(messages)}"
        for path, messages in by_path.items()
    ]


def validate_stack_config(data: Mapping[str, Any]) -> StackConfig:
    """Validate raw stack config (top-level keys without the project prefix).
    Raises ConfigError naming every bad key."""
    try:
        return StackConfig.model_validate(dict(data))
    except ValidationError as error:
        problems = _messages(error, data)
        if not any(item["loc"] == () for item in error.errors()):
            problems += [f"{PROJECT}:{p.path}: {p.message}" for p in _raw_reference_problems(data)]
        raise ConfigError(list(dict.fromkeys(problems))) from None


def _decode(value: str) -> Any:
    """Structured config arrives as JSON text; a plain word is kept as text."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _password_key_names(data: Mapping[str, Any]) -> set[str]:
    """The names the (not yet validated) config gives its password keys."""
    names = {
        JenkinsConfig.model_fields["admin_password_key"].default,
        ArgoCDConfig.model_fields["admin_password_key"].default,
        ArgoCDConfig.model_fields["redis_password_key"].default,
    }
    for section, fields in (("jenkins", ("adminPasswordKey",)), ("argocd", ("adminPasswordKey", "redisPasswordKey"))):
        given = data.get(section)
        if isinstance(given, Mapping):
            names |= {given[field] for field in fields if isinstance(given.get(field), str)}
    return names


def _secret_problems(config: StackConfig, raw: Mapping[str, str], plain_keys: set[str]) -> list[str]:
    problems = []
    for key, purpose in config.required_secrets().items():
        value = raw.get(f"{PROJECT}:{key}")
        if key in plain_keys:
            problems.append(
                f"{PROJECT}:{key}: is set in plain text; it holds {purpose}, so set it as a secret: "
                f"pulumi config set --secret {key} <value>"
            )
        elif value is None:
            problems.append(
                f"{PROJECT}:{key}: is required ({purpose}); set it with `pulumi config set --secret {key} <value>`"
            )
        elif len(value) < MIN_PASSWORD_LENGTH:
            problems.append(f"{PROJECT}:{key}: must be at least {MIN_PASSWORD_LENGTH} characters ({purpose})")
    return problems


def load_stack_config(raw: Mapping[str, str], secret_keys: Collection[str] = ()) -> StackConfig:
    """Validate the stack's `delivery-platform:*` config values (JSON text as the engine
    passes them). Unknown keys are errors, except secrets, which other settings name
    (e.g. registry.passwordKey) and which are never validated or logged here. The
    passwords the enabled components need must be secrets of the stack."""
    prefix = f"{PROJECT}:"
    data = {
        key.removeprefix(prefix): _decode(value)
        for key, value in raw.items()
        if key.startswith(prefix) and key not in secret_keys
    }
    # The password named by registry.passwordKey is no setting of its own: set as a
    # secret it never reaches this dict; set in plain text it is reported as that, not
    # as an unknown key. The same holds for the passwords Jenkins and Argo CD need.
    raw_registry = data.get("registry")
    password_key = RegistryConfig.model_fields["password_key"].default
    if isinstance(raw_registry, Mapping) and isinstance(raw_registry.get("passwordKey"), str):
        password_key = raw_registry["passwordKey"]
    in_plain_text = data.pop(password_key, None) is not None
    plain_keys = {key for key in _password_key_names(data) if key in data}
    config = validate_stack_config({key: value for key, value in data.items() if key not in plain_keys})
    problems = []
    registry = config.registry
    if registry is not None and registry.create_pull_secret and f"{prefix}{registry.password_key}" not in secret_keys:
        how = "which is set in plain text" if in_plain_text else "which is not set"
        problems.append(
            f"{PROJECT}:registry.passwordKey: the registry pull secret needs the password in the config secret "
            f"{registry.password_key!r}, {how}: pulumi config set --secret {registry.password_key} "
            "<password> (or set registry.createPullSecret to false)"
        )
    problems += _secret_problems(config, raw, plain_keys)
    if problems:
        raise ConfigError(problems)
    return config
