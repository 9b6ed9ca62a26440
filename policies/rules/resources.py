"""Workload hygiene: resource requests and limits, readiness and liveness probes, and
the labels tooling relies on. (Replica counts depend on HPAs and traffic routing, so
they are checked with the whole stack in stack.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from .framework import Config, NotApplicable, Rule, Setting, resource_policy
from .kube import EXEMPTIONS, LONG_RUNNING_KINDS, WORKLOAD_KINDS, KubeObject, containers, kube_rule, pod_template
from .props import UNKNOWN, Unknown, contains_unknown, get, obj, quantity, string_map, text

_PROBE_HANDLERS = ("httpGet", "tcpSocket", "grpc", "exec")


def _check_resources(found: KubeObject, config: Config) -> Iterator[str]:
    template = pod_template(found)
    if template is None:
        raise NotApplicable(f"{found.kind} has no pods")
    required = [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")]
    if config.get("requireCpuLimit"):
        required.append(("limits", "cpu"))
    for container in containers(template.spec, ("initContainers", "containers")):
        where = f"{found.describe()} {container.describe()}"
        resources = obj(container.spec, "resources")
        if resources is UNKNOWN:
            continue
        missing = [f"{section}.{name}" for section, name in required if get(resources, section, name) is None]
        if missing:
            yield (
                f"{where} sets no resources.{', resources.'.join(missing)}: without requests the scheduler packs "
                "pods blindly and evicts them first, without a memory limit one leak can take the node's memory"
            )
        for name in ("cpu", "memory"):
            request = quantity(get(resources, "requests", name))
            limit = quantity(get(resources, "limits", name))
            if isinstance(request, float) and isinstance(limit, float) and request > limit:
                yield (
                    f"{where} requests more {name} ({get(resources, 'requests', name)}) than its limit "
                    f"({get(resources, 'limits', name)}); the API server rejects such pods"
                )


def _handler(probe: dict[str, Any]) -> tuple[str, Any] | Unknown | None:
    """The probe's check with defaults filled in, so equal checks compare equal."""
    for kind in _PROBE_HANDLERS:
        handler = get(probe, kind)
        if handler is None:
            continue
        if contains_unknown(handler):
            return UNKNOWN
        if kind == "httpGet" and isinstance(handler, dict):
            handler = {"path": "/", "scheme": "HTTP", **handler}
        return kind, handler
    return None


def _long_running(found: KubeObject) -> bool | Unknown:
    if found.kind in LONG_RUNNING_KINDS:
        return True
    if found.kind != "Pod":
        return False
    restart = text(found.props, "spec", "restartPolicy")
    return UNKNOWN if restart is UNKNOWN else restart in (None, "Always")


def _check_probes(found: KubeObject, config: Config) -> Iterator[str]:
    template = pod_template(found)
    long_running = _long_running(found)
    if template is None or long_running is False:
        raise NotApplicable(f"{found.kind} pods run to completion")
    if long_running is UNKNOWN:
        return
    wanted = ["readinessProbe"] + (["livenessProbe"] if config.get("requireLivenessProbe") else [])
    for container in containers(template.spec, ("containers",)):
        where = f"{found.describe()} {container.describe()}"
        missing = [probe for probe in wanted if get(container.spec, probe) is None]
        if missing:
            yield (
                f"{where} has no {' and no '.join(missing)}: without readiness a rollout sends traffic to pods "
                "that are not serving yet, without liveness a hung process is never restarted"
            )
        readiness, liveness = get(container.spec, "readinessProbe"), get(container.spec, "livenessProbe")
        if not (isinstance(readiness, dict) and isinstance(liveness, dict)):
            continue
        ready_check, live_check = _handler(readiness), _handler(liveness)
        if ready_check is not None and ready_check is not UNKNOWN and ready_check == live_check:
            yield (
                f"{where} uses the same check for readiness and liveness ({ready_check[0]} {ready_check[1]}): "
                "when a dependency is slow the pod is restarted instead of just taken out of rotation; give "
                "liveness its own, dependency-free endpoint"
            )


def _check_labels(found: KubeObject, config: Config) -> Iterator[str]:
    required = list(config.get("requiredLabels", ()))
    template = pod_template(found)
    places: list[tuple[str, dict[str, str] | Unknown]] = [
        ("metadata.labels", string_map(found.props, "metadata", "labels"))
    ]
    if template is not None and found.kind != "Pod":
        places.append(("pod template labels", string_map(template.metadata, "labels")))
    for place, labels in places:
        if labels is UNKNOWN:
            continue
        missing = [key for key in required if not labels.get(key)]
        if missing:
            yield f"{found.describe()} {place} lack {missing}"


RESOURCES = Rule(
    name="container-resources",
    description="Every container requests CPU and memory and limits memory, with requests not above limits.",
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    remediation_steps="Set resources.requests.cpu, resources.requests.memory and resources.limits.memory.",
    settings=(
        *EXEMPTIONS,
        Setting(
            "requireCpuLimit",
            "Also require limits.cpu (off by default: CPU limits throttle latency-sensitive services).",
            False,
            "boolean",
            None,
        ),
    ),
    tags=("reliability", "resources"),
)

PROBES = Rule(
    name="container-probes",
    description=(
        "Long-running containers have a readiness and a liveness probe, and the two do not run the same check."
    ),
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.MEDIUM,
    remediation_steps="Add a readinessProbe (dependencies included) and a livenessProbe on a dependency-free endpoint.",
    settings=(
        *EXEMPTIONS,
        Setting("requireLivenessProbe", "Require a livenessProbe as well as a readinessProbe.", True, "boolean", None),
    ),
    tags=("reliability", "zero-downtime"),
)

LABELS = Rule(
    name="required-labels",
    description="Workloads and their pod templates carry the labels the platform's tooling selects on.",
    enforcement=EnforcementLevel.ADVISORY,
    severity=Severity.LOW,
    remediation_steps="Add the missing labels to metadata.labels and the pod template's labels.",
    settings=(
        *EXEMPTIONS,
        Setting("requiredLabels", "Label keys every workload and pod template must set.", ["app.kubernetes.io/name"]),
    ),
    tags=("metadata",),
)


def policies() -> list[ResourceValidationPolicy]:
    return [
        resource_policy(RESOURCES, kube_rule(WORKLOAD_KINDS, _check_resources)),
        resource_policy(PROBES, kube_rule(WORKLOAD_KINDS, _check_probes)),
        resource_policy(LABELS, kube_rule(WORKLOAD_KINDS, _check_labels)),
    ]
