"""The one pod template every strategy deploys, and the labels that tie Deployments,
Services and routes together.

Labels: `app.kubernetes.io/{name,instance,component,part-of,managed-by}` on every
object, `app.kubernetes.io/version` on versioned ones (pods, Deployments, Jobs), and
`delivery-platform/track` on serving pods. Selectors use only name, instance and track:
they never change for the life of a Deployment (a Deployment's selector is immutable)
and tracks of one app are disjoint, so every Service selects exactly one Deployment's
pods - the stable or the canary one, the blue or the green one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, ImageRef
from ..config.workloads import Probe

TRACK_LABEL = "delivery-platform/track"
Track = Literal["stable", "canary", "blue", "green"]
STABLE: Track = "stable"
CANARY: Track = "canary"

SERVER_COMPONENT = "server"
MIGRATION_COMPONENT = "migration"
HTTP_PORT = "http"
TMP_VOLUME = "tmp"

# Serving pods spread over zones and nodes, so one node drain or zone outage never takes
# every replica of a track. Soft (ScheduleAnyway): a full or single-zone cluster still
# schedules every pod; the PodDisruptionBudgets are what bound a drain. Each revision
# spreads on its own (matchLabelKeys, Kubernetes 1.27+), so a rollout's surge pods do
# not count the old revision's pods.
SPREAD_TOPOLOGY_KEYS = ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
REVISION_LABEL = "pod-template-hash"  # set by the Deployment controller on every pod

# Config only accepts images pinned to one build (unique tag or digest), so a copy a
# node already holds is exactly that build: IfNotPresent is safe and spares the
# registry a pull per pod start.
PULL_POLICY = "IfNotPresent"


def app_labels(app: AppConfig, component: str = SERVER_COMPONENT) -> dict[str, str]:
    """Labels for every object of the app, versioned or not."""
    return {
        "app.kubernetes.io/name": app.name,
        "app.kubernetes.io/instance": f"{app.name}-{app.environment}",
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": app.part_of or app.name,
        # The tool that applies the app's objects: this stack, or Argo CD from Git.
        "app.kubernetes.io/managed-by": "argocd" if app.delivery == "gitops" else "pulumi",
    }


def selector_labels(app: AppConfig, track: Track) -> dict[str, str]:
    """What a Deployment, its Service and its PodDisruptionBudget select on."""
    return {
        "app.kubernetes.io/name": app.name,
        "app.kubernetes.io/instance": f"{app.name}-{app.environment}",
        TRACK_LABEL: track,
    }


def versioned_labels(app: AppConfig, image: ImageRef, component: str = SERVER_COMPONENT) -> dict[str, str]:
    return {**app_labels(app, component), "app.kubernetes.io/version": image.version}


def serving_labels(app: AppConfig, image: ImageRef, track: Track) -> dict[str, str]:
    """Labels of a serving pod (and its Deployment): selector labels plus the rest."""
    return {**versioned_labels(app, image), **selector_labels(app, track)}


def object_meta(
    name: str,
    namespace: pulumi.Input[str],
    labels: dict[str, str],
    annotations: dict[str, pulumi.Input[str]] | None = None,
) -> k8s.meta.v1.ObjectMetaArgsDict:
    """Explicit name and namespace: names are part of the contract (Service DNS names,
    selectors), and no object may land in whatever namespace a kubeconfig defaults to."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return meta


class KubernetesObject(Protocol):
    @property
    def metadata(self) -> pulumi.Output[k8s.meta.v1.outputs.ObjectMeta]: ...


def name_of(resource: KubernetesObject) -> pulumi.Output[str]:
    """The object's name once it exists, so whoever uses it also waits for it."""
    return resource.metadata.apply(_required_name)


def _required_name(meta: k8s.meta.v1.outputs.ObjectMeta) -> str:
    if meta.name is None:
        raise ValueError("a Kubernetes object came back without metadata.name")
    return meta.name


def pod_template(
    app: AppConfig,
    image: ImageRef,
    labels: dict[str, str],
    service_account: pulumi.Input[str],
    *,
    spread_over: dict[str, str] | None = None,
    task: Sequence[str] | None = None,
) -> k8s.core.v1.PodTemplateSpecArgsDict:
    """The pod of a serving Deployment (spread over zones and nodes with the pods that
    match `spread_over`, its track's selector) or, with `task` (a command), of a
    run-to-completion Job such as a migration: same image handling, identity, security
    and config; a task has no port, probes or pre-stop delay and never restarts in place."""
    uid = app.run_as_user
    spec: dict[str, Any] = {
        "service_account_name": service_account,
        # The app talks to its own clients, not to the Kubernetes API.
        "automount_service_account_token": False,
        # Docker-link style env vars for every Service in the namespace: unused, and
        # they slow pod start in busy namespaces.
        "enable_service_links": False,
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": uid,
            "run_as_group": uid,
            "fs_group": uid,
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "termination_grace_period_seconds": app.termination_grace_period_seconds,
        "containers": [_container(app, image, task)],
        "volumes": [{"name": TMP_VOLUME, "empty_dir": {"size_limit": app.resources.tmp_size_limit}}],
    }
    if task is not None:
        spec["restart_policy"] = "Never"
    if spread_over is not None:
        spec["topology_spread_constraints"] = [
            {
                "max_skew": 1,
                "topology_key": key,
                "when_unsatisfiable": "ScheduleAnyway",
                "label_selector": {"match_labels": spread_over},
                "match_label_keys": [REVISION_LABEL],
            }
            for key in SPREAD_TOPOLOGY_KEYS
        ]
    return {"metadata": {"labels": labels}, "spec": spec}


def _container(app: AppConfig, image: ImageRef, task: Sequence[str] | None) -> k8s.core.v1.ContainerArgsDict:
    resources = app.resources
    limits = {"memory": resources.memory_limit}
    if resources.cpu_limit is not None:
        limits["cpu"] = resources.cpu_limit
    container: dict[str, Any] = {
        "name": app.name,
        "image": str(image),
        "image_pull_policy": PULL_POLICY,
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
        "volume_mounts": [{"name": TMP_VOLUME, "mount_path": "/tmp"}],
    }
    env = _env(app)
    if env:
        container["env"] = env
    env_from = _env_from(app)
    if env_from:
        container["env_from"] = env_from
    if task is not None:
        container["command"] = list(task)
        return container
    container["ports"] = [{"name": HTTP_PORT, "container_port": app.port, "protocol": "TCP"}]
    container["readiness_probe"] = _probe(app.probes.readiness)
    container["liveness_probe"] = _probe(app.probes.liveness)
    if app.pre_stop_sleep_seconds:
        container["lifecycle"] = {"pre_stop": {"sleep": {"seconds": app.pre_stop_sleep_seconds}}}
    return container


def _probe(probe: Probe) -> k8s.core.v1.ProbeArgsDict:
    return {
        "http_get": {"path": probe.path, "port": probe.port or HTTP_PORT},
        "initial_delay_seconds": probe.initial_delay_seconds,
        "period_seconds": probe.period_seconds,
        "timeout_seconds": probe.timeout_seconds,
        "failure_threshold": probe.failure_threshold,
    }


def _env(app: AppConfig) -> list[k8s.core.v1.EnvVarArgsDict]:
    env: list[k8s.core.v1.EnvVarArgsDict] = []
    for var in app.env:
        if var.secret is not None and var.key is not None:
            env.append({"name": var.name, "value_from": {"secret_key_ref": {"name": var.secret, "key": var.key}}})
        else:
            env.append({"name": var.name, "value": var.value})
    return env


def _env_from(app: AppConfig) -> list[k8s.core.v1.EnvFromSourceArgsDict]:
    sources: list[k8s.core.v1.EnvFromSourceArgsDict] = [{"config_map_ref": {"name": name}} for name in app.config_maps]
    sources += [{"secret_ref": {"name": name}} for name in app.secrets]
    return sources
