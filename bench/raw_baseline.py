"""The raw baseline: the fleet's Kubernetes objects written out by hand with plain
pulumi_kubernetes resources - no component resources, nothing from components/ but
the config loader and the program's collector setting - the program a team would
write without this library.

It registers exactly what the components register for a fleet (same types, logical
names, inputs, provider and dependencies; bench/check.py compares the two before
anything is timed), so timing one against the other measures what the components
cost. It reads the same stack config through the same typed loader (parsing and
defaults are not what is measured), runs with the same garbage-collector thresholds
(a process setting, not component work), and covers the features bench/fleet.py uses: a
`render` cluster, no registry pull secret, Gateway API canary routes."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from components.config import (
    AppConfig,
    BlueGreenStrategy,
    CanaryStrategy,
    EnvironmentConfig,
    RecreateStrategy,
    RenderCluster,
    RollingStrategy,
    StackConfig,
    parse_image,
)
from components.program import load, tune_collector
from components.workloads import rollout as workloads_rollout

MANAGED_BY = {"app.kubernetes.io/managed-by": "pulumi"}
ENVIRONMENT_LABEL = "delivery-platform/environment"
TRACK_LABEL = "delivery-platform/track"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
# Shared constants, not components: the baseline must register the same inputs, and
# a copy of the rollout condition drifted twice while the components changed it.
ROLLED_OUT = workloads_rollout.ROLLED_OUT
ZERO_DOWNTIME = workloads_rollout.ZERO_DOWNTIME_ROLLOUT

Peers = list[k8s.networking.v1.NetworkPolicyPeerArgsDict]
ResourceT = TypeVar("ResourceT", bound=pulumi.Resource)


def stack_config() -> StackConfig:
    stack = load()
    if not isinstance(stack.cluster, RenderCluster) or stack.registry is not None:
        raise ValueError("the raw baseline covers the fleet's features only: a render cluster and no registry")
    return stack


def main() -> None:
    tune_collector()
    stack = pulumi.get_stack()
    config = stack_config()
    assert isinstance(config.cluster, RenderCluster)
    provider = k8s.Provider(f"{stack}-render", render_yaml_to_directory=os.path.abspath(config.cluster.output_dir))
    opts = pulumi.ResourceOptions(provider=provider)
    namespaces = {env.name: environment(f"{stack}-{env.name}", env, opts) for env in config.environments}
    for app in config.apps:
        name = f"{stack}-{app.environment}-{app.name}"
        namespace = namespaces[app.environment]
        strategy = app.strategy
        if isinstance(strategy, RecreateStrategy):
            recreate_app(name, app, strategy, namespace, opts)
        elif isinstance(strategy, RollingStrategy):
            rolling_app(name, app, strategy, namespace, opts)
        elif isinstance(strategy, BlueGreenStrategy):
            blue_green_app(name, app, strategy, namespace, opts)
        else:
            canary_app(name, app, strategy, namespace, opts)


def after(opts: pulumi.ResourceOptions, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(resources)))


# --- environments ---


def peers(namespaces: list[str], cidrs: list[str]) -> Peers:
    found: Peers = []
    if namespaces:
        expression = {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": namespaces}
        found.append({"namespace_selector": {"match_expressions": [expression]}})
    return found + [{"ip_block": {"cidr": cidr}} for cidr in cidrs]


def environment(name: str, env: EnvironmentConfig, opts: pulumi.ResourceOptions) -> pulumi.Output[Any]:
    labels = {ENVIRONMENT_LABEL: env.name, **MANAGED_BY}
    namespace_labels = dict(labels)
    for mode, level in (("enforce", env.pod_security), ("audit", "restricted"), ("warn", "restricted")):
        namespace_labels[f"pod-security.kubernetes.io/{mode}"] = level
        namespace_labels[f"pod-security.kubernetes.io/{mode}-version"] = env.pod_security_version
    created = k8s.core.v1.Namespace(
        f"{name}-namespace", metadata={"name": env.name, "labels": namespace_labels}, opts=opts
    )
    namespace = created.metadata.name

    def meta(object_name: str) -> k8s.meta.v1.ObjectMetaArgsDict:
        return {"name": object_name, "namespace": namespace, "labels": labels}

    def policy(suffix: str, spec: k8s.networking.v1.NetworkPolicySpecArgsDict) -> None:
        k8s.networking.v1.NetworkPolicy(f"{name}-{suffix}", metadata=meta(suffix), spec=spec, opts=opts)

    policy("default-deny", {"pod_selector": {}, "policy_types": ["Ingress", "Egress"]})
    policy(
        "allow-same-namespace",
        {
            "pod_selector": {},
            "policy_types": ["Ingress", "Egress"],
            "ingress": [{"from_": [{"pod_selector": {}}]}],
            "egress": [{"to": [{"pod_selector": {}}]}],
        },
    )
    kube_dns: Peers = [
        {
            "namespace_selector": {"match_labels": {NAMESPACE_NAME_LABEL: "kube-system"}},
            "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
        }
    ]
    policy(
        "allow-dns",
        {
            "pod_selector": {},
            "policy_types": ["Egress"],
            "egress": [
                {
                    "to": kube_dns + peers([], env.dns_resolver_cidrs),
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
    )
    if sources := peers(env.allow_from_namespaces, env.allow_from_cidrs):
        policy("allow-ingress-from", {"pod_selector": {}, "policy_types": ["Ingress"], "ingress": [{"from_": sources}]})
    if targets := peers(env.allow_to_namespaces, env.allow_to_cidrs):
        policy("allow-egress-to", {"pod_selector": {}, "policy_types": ["Egress"], "egress": [{"to": targets}]})

    quota = env.quota
    hard = {
        "requests.cpu": quota.requests_cpu,
        "requests.memory": quota.requests_memory,
        "limits.memory": quota.limits_memory,
        "pods": str(quota.pods),
        "services.loadbalancers": str(quota.services_load_balancers),
        "services.nodeports": str(quota.services_node_ports),
    }
    if quota.limits_cpu is not None:
        hard["limits.cpu"] = quota.limits_cpu
    k8s.core.v1.ResourceQuota(f"{name}-quota", metadata=meta("quota"), spec={"hard": hard}, opts=opts)

    defaults = env.container_defaults
    default_limits = {"memory": defaults.limit_memory}
    if defaults.limit_cpu is not None:
        default_limits["cpu"] = defaults.limit_cpu
    k8s.core.v1.LimitRange(
        f"{name}-limits",
        metadata=meta("container-defaults"),
        spec={
            "limits": [
                {
                    "type": "Container",
                    "default": default_limits,
                    "default_request": {"cpu": defaults.request_cpu, "memory": defaults.request_memory},
                }
            ]
        },
        opts=opts,
    )
    k8s.core.v1.ServiceAccountPatch(
        f"{name}-default-sa",
        metadata={"name": "default", "namespace": namespace},
        automount_service_account_token=False,
        opts=opts,
    )
    return namespace


# --- apps ---


class App:
    """One app's objects, all in its environment's namespace, under logical names
    `<stack>-<environment>-<app>-<suffix>`. Each object waits for every object of the
    earlier waves, as the components order them."""

    def __init__(self, name: str, app: AppConfig, namespace: pulumi.Output[Any], opts: pulumi.ResourceOptions):
        self.name = name
        self.app = app
        self.namespace = namespace
        self.opts = opts
        self.waves: dict[int, list[pulumi.Resource]] = {}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=self.meta(app.service_account or app.name, self.labels()),
            automount_service_account_token=False,
            opts=opts,
        )
        self.account = account.metadata.name

    def in_wave(self, wave: int, **options: Any) -> pulumi.ResourceOptions:
        earlier = [r for number, resources in sorted(self.waves.items()) if number < wave for r in resources]
        return pulumi.ResourceOptions.merge(self.opts, pulumi.ResourceOptions(depends_on=earlier, **options))

    def placed(self, wave: int, resource: ResourceT) -> ResourceT:
        self.waves.setdefault(wave, []).append(resource)
        return resource

    def meta(
        self, object_name: str, labels: dict[str, str], annotations: dict[str, Any] | None = None
    ) -> k8s.meta.v1.ObjectMetaArgsDict:
        meta: dict[str, Any] = {"name": object_name, "namespace": self.namespace, "labels": labels}
        if annotations:
            meta["annotations"] = annotations
        return meta

    def labels(self, component: str = "server", image: str | None = None) -> dict[str, str]:
        app = self.app
        labels = {
            "app.kubernetes.io/name": app.name,
            "app.kubernetes.io/instance": f"{app.name}-{app.environment}",
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": app.part_of or app.name,
            **MANAGED_BY,
        }
        if image is not None:
            labels["app.kubernetes.io/version"] = parse_image(image).version
        return labels

    def selector(self, track: str) -> dict[str, str]:
        return {
            "app.kubernetes.io/name": self.app.name,
            "app.kubernetes.io/instance": f"{self.app.name}-{self.app.environment}",
            TRACK_LABEL: track,
        }

    def container(self, image: str, command: list[str] | None) -> k8s.core.v1.ContainerArgsDict:
        app = self.app
        resources = app.resources
        limits = {"memory": resources.memory_limit}
        if resources.cpu_limit is not None:
            limits["cpu"] = resources.cpu_limit
        spec: dict[str, Any] = {
            "name": app.name,
            "image": image,
            "image_pull_policy": "IfNotPresent",
            "resources": {
                "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
                "limits": limits,
            },
            "security_context": {
                "run_as_non_root": True,
                "run_as_user": app.run_as_user,
                "allow_privilege_escalation": False,
                "privileged": False,
                "read_only_root_filesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "seccomp_profile": {"type": "RuntimeDefault"},
            },
            "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
        }
        if app.env:
            spec["env"] = [
                {"name": var.name, "value_from": {"secret_key_ref": {"name": var.secret, "key": var.key}}}
                if var.secret is not None
                else {"name": var.name, "value": var.value}
                for var in app.env
            ]
        env_from: list[k8s.core.v1.EnvFromSourceArgsDict] = [{"config_map_ref": {"name": n}} for n in app.config_maps]
        env_from += [{"secret_ref": {"name": n}} for n in app.secrets]
        if env_from:
            spec["env_from"] = env_from
        if command is not None:
            spec["command"] = command
            return spec
        spec["ports"] = [{"name": "http", "container_port": app.port, "protocol": "TCP"}]
        readiness, liveness = app.probes.readiness, app.probes.liveness
        spec["readiness_probe"] = {
            "http_get": {"path": readiness.path, "port": readiness.port or "http"},
            "initial_delay_seconds": readiness.initial_delay_seconds,
            "period_seconds": readiness.period_seconds,
            "timeout_seconds": readiness.timeout_seconds,
            "failure_threshold": readiness.failure_threshold,
        }
        spec["liveness_probe"] = {
            "http_get": {"path": liveness.path, "port": liveness.port or "http"},
            "initial_delay_seconds": liveness.initial_delay_seconds,
            "period_seconds": liveness.period_seconds,
            "timeout_seconds": liveness.timeout_seconds,
            "failure_threshold": liveness.failure_threshold,
        }
        if app.pre_stop_sleep_seconds:
            spec["lifecycle"] = {"pre_stop": {"sleep": {"seconds": app.pre_stop_sleep_seconds}}}
        return spec

    def pod(
        self,
        image: str,
        labels: dict[str, str],
        *,
        track: str | None = None,
        command: list[str] | None = None,
        account: Any = None,
    ) -> Any:
        app = self.app
        uid = app.run_as_user
        spec: dict[str, Any] = {
            "service_account_name": self.account if account is None else account,
            "automount_service_account_token": False,
            "enable_service_links": False,
            "security_context": {
                "run_as_non_root": True,
                "run_as_user": uid,
                "run_as_group": uid,
                "fs_group": uid,
                "seccomp_profile": {"type": "RuntimeDefault"},
            },
            "termination_grace_period_seconds": app.termination_grace_period_seconds,
            "containers": [self.container(image, command)],
            "volumes": [{"name": "tmp", "empty_dir": {"size_limit": app.resources.tmp_size_limit}}],
        }
        if command is not None:
            spec["restart_policy"] = "Never"
        if track is not None:
            spec["topology_spread_constraints"] = [
                {
                    "max_skew": 1,
                    "topology_key": key,
                    "when_unsatisfiable": "ScheduleAnyway",
                    "label_selector": {"match_labels": self.selector(track)},
                    "match_label_keys": ["pod-template-hash"],
                }
                for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
            ]
        return {"metadata": {"labels": labels}, "spec": spec}

    def deployment(
        self,
        track: str,
        *,
        wave: int,
        image: str,
        replicas: int,
        strategy: k8s.apps.v1.DeploymentStrategyArgsDict,
        owner: str = "pulumi",
        serving: int | None = None,
        min_ready_seconds: int = 0,
        annotations: dict[str, str] | None = None,
    ) -> k8s.apps.v1.Deployment:
        object_name = self.app.name if track == "stable" else f"{self.app.name}-{track}"
        labels = {**self.labels(image=image), **self.selector(track)}
        deployment = self.placed(
            wave,
            k8s.apps.v1.Deployment(
                f"{self.name}-{'deployment' if track == 'stable' else track}",
                metadata=self.meta(
                    object_name,
                    labels,
                    {
                        **(annotations or {}),
                        "pulumi.com/waitFor": ROLLED_OUT,
                        "pulumi.com/patchForce": "true",
                        "delivery-platform/replicas-owner": owner,
                    },
                ),
                spec={
                    "replicas": replicas,
                    "selector": {"match_labels": self.selector(track)},
                    "strategy": strategy,
                    "min_ready_seconds": min_ready_seconds,
                    "template": self.pod(image, labels, track=track),
                },
                opts=self.in_wave(wave, ignore_changes=["spec.replicas"] if owner != "pulumi" else None),
            ),
        )
        if self.app.max_unavailable is not None and (replicas if serving is None else serving) >= 2:
            self.placed(
                wave,
                k8s.policy.v1.PodDisruptionBudget(
                    f"{self.name}-pdb" if track == "stable" else f"{self.name}-{track}-pdb",
                    metadata=self.meta(object_name, self.labels()),
                    spec={
                        "selector": {"match_labels": self.selector(track)},
                        "max_unavailable": self.app.max_unavailable,
                        "unhealthy_pod_eviction_policy": "AlwaysAllow",
                    },
                    opts=self.in_wave(wave),
                ),
            )
        return deployment

    def service(self, suffix: str, object_name: str, track: str, *, wave: int) -> k8s.core.v1.Service:
        return self.placed(
            wave,
            k8s.core.v1.Service(
                f"{self.name}-{suffix}",
                metadata=self.meta(object_name, self.labels()),
                spec={
                    "type": "ClusterIP",
                    "selector": self.selector(track),
                    "ports": [
                        {"name": "http", "port": self.app.service_port, "target_port": "http", "protocol": "TCP"}
                    ],
                },
                opts=self.in_wave(wave),
            ),
        )


def recreate_app(
    name: str, app: AppConfig, strategy: RecreateStrategy, namespace: pulumi.Output[Any], opts: pulumi.ResourceOptions
) -> None:
    """Render mode: the Deployment carries its final replica count; no scale-back patch."""
    assert app.image is not None
    objects = App(name, app, namespace, opts)
    objects.deployment("stable", wave=0, image=app.image, replicas=app.replicas, strategy={"type": "Recreate"})
    migration = strategy.migration
    if migration is None:
        objects.service("service", app.name, "stable", wave=1)
        return
    labels = objects.labels("migration", app.image)

    def job_spec(account: Any) -> dict[str, Any]:
        return {
            "backoff_limit": migration.backoff_limit,
            "active_deadline_seconds": migration.active_deadline_seconds,
            "template": objects.pod(app.image or "", labels, command=list(migration.command), account=account),
        }

    digest = hashlib.sha256(json.dumps(job_spec(app.service_account or app.name), sort_keys=True).encode()).hexdigest()
    annotations = {
        "pulumi.com/replaceUnready": "true",
        "pulumi.com/timeoutSeconds": str(migration.active_deadline_seconds + 60),
    }
    objects.placed(
        1,
        k8s.batch.v1.Job(
            f"{name}-migration",
            metadata=objects.meta(f"{app.name}-migrate-{digest[:10]}", labels, annotations),
            spec=job_spec(None),
            opts=objects.in_wave(1),
        ),
    )
    objects.service("service", app.name, "stable", wave=2)


def rolling_app(
    name: str, app: AppConfig, strategy: RollingStrategy, namespace: pulumi.Output[Any], opts: pulumi.ResourceOptions
) -> None:
    assert app.image is not None
    objects = App(name, app, namespace, opts)
    scaling = strategy.autoscaling
    stable = objects.deployment(
        "stable",
        wave=0,
        image=app.image,
        replicas=app.replicas if scaling is None else scaling.min_replicas,
        owner="pulumi" if scaling is None else "autoscaler",
        strategy={
            "type": "RollingUpdate",
            "rolling_update": {"max_surge": strategy.max_surge, "max_unavailable": strategy.max_unavailable},
        },
        min_ready_seconds=strategy.min_ready_seconds,
    )
    objects.service("service", app.name, "stable", wave=1)
    if scaling is not None:
        objects.placed(
            1,
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-hpa",
                metadata=objects.meta(app.name, objects.labels()),
                spec={
                    "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": stable.metadata.name},
                    "min_replicas": scaling.min_replicas,
                    "max_replicas": scaling.max_replicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {
                                    "type": "Utilization",
                                    "average_utilization": scaling.target_cpu_utilization,
                                },
                            },
                        }
                    ],
                },
                opts=objects.in_wave(1),
            ),
        )


def blue_green_app(
    name: str, app: AppConfig, strategy: BlueGreenStrategy, namespace: pulumi.Output[Any], opts: pulumi.ResourceOptions
) -> None:
    objects = App(name, app, namespace, opts)
    active = strategy.active
    idle = "green" if active == "blue" else "blue"
    images = {"blue": strategy.blue.image, "green": strategy.green.image}
    idle_replicas = app.replicas if strategy.idle_replicas is None else strategy.idle_replicas
    weight = "delivery-platform/traffic-weight"
    objects.deployment(
        active, wave=0, image=images[active], replicas=app.replicas, strategy=ZERO_DOWNTIME, annotations={weight: "100"}
    )
    objects.service("service", app.name, active, wave=1)
    objects.deployment(
        idle, wave=2, image=images[idle], replicas=idle_replicas, strategy=ZERO_DOWNTIME, annotations={weight: "0"}
    )
    objects.service("preview", f"{app.name}-preview", idle, wave=3)


def canary_app(
    name: str, app: AppConfig, strategy: CanaryStrategy, namespace: pulumi.Output[Any], opts: pulumi.ResourceOptions
) -> None:
    assert app.image is not None
    if strategy.router != "gateway-api":
        raise ValueError("the raw baseline covers Gateway API canaries only")
    objects = App(name, app, namespace, opts)
    canary_name = f"{app.name}-canary"
    weight = strategy.weight if strategy.canary_image is not None else 0
    objects.deployment(
        "stable",
        wave=0,
        image=app.image,
        replicas=app.replicas,
        strategy=ZERO_DOWNTIME,
        annotations={"delivery-platform/traffic-weight": str(100 - weight)},
    )

    def backend(service: str, weight: int | None = None) -> dict[str, Any]:
        ref: dict[str, Any] = {"group": "", "kind": "Service", "name": service, "port": app.service_port}
        if weight is not None:
            ref["weight"] = weight
        return ref

    every_path = {"type": "PathPrefix", "value": "/"}
    rules: list[dict[str, Any]] = []
    if strategy.canary_image is None:
        rules.append({"matches": [{"path": every_path}], "backendRefs": [backend(app.name)]})
    else:
        match = json.dumps(strategy.match.model_dump(mode="json", by_alias=True), sort_keys=True)
        objects.deployment(
            "canary",
            wave=0,
            image=strategy.canary_image,
            replicas=max(strategy.canary_replicas, math.ceil(app.replicas * weight / 100)),
            strategy=ZERO_DOWNTIME,
            annotations={
                "delivery-platform/traffic-weight": str(weight),
                "delivery-platform/traffic-rules": hashlib.sha256(match.encode()).hexdigest()[:10],
            },
        )
        headers = [{"type": h.type, "name": h.name, "value": h.value} for h in strategy.match.headers]
        if strategy.match.cookie:
            cookie = rf"(^|;\s*){re.escape(strategy.match.cookie)}=always(;|$)"
            headers.append({"type": "RegularExpression", "name": "Cookie", "value": cookie})
        if headers:
            matches = [{"path": every_path, "headers": [header]} for header in headers]
            rules.append({"matches": matches, "backendRefs": [backend(canary_name)]})
        weights = [backend(app.name, 100 - strategy.weight), backend(canary_name, strategy.weight)]
        rules.append({"matches": [{"path": every_path}], "backendRefs": weights})
    objects.service("service", app.name, "stable", wave=1)
    if strategy.canary_image is not None:
        objects.service("canary-service", canary_name, "canary", wave=1)
    gateway = strategy.gateway
    parent = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": gateway.name,
        "namespace": gateway.namespace,
    }
    if gateway.section_name:
        parent["sectionName"] = gateway.section_name
    spec: dict[str, Any] = {"parentRefs": [parent], "rules": rules}
    if strategy.hostnames:
        spec["hostnames"] = list(strategy.hostnames)
    k8s.apiextensions.CustomResource(
        f"{name}-route",
        api_version="gateway.networking.k8s.io/v1",
        kind="HTTPRoute",
        metadata=objects.meta(app.name, objects.labels()),
        spec=spec,
        opts=objects.in_wave(2),
    )
