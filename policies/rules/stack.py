"""Rules that need the whole stack: how objects relate to each other.

Per-resource rules cannot see that a Service selects both colours of a Blue/Green
app, that a PodDisruptionBudget blocks every drain, that the cluster ignores the
NetworkPolicies the stack declares, or that a namespace's Pod Security level will
reject a Deployment's pods after it was accepted. These rules read the stack's
resources (their outputs, as the engine passes them) and report on the resource
that has to change.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pulumi_policy import EnforcementLevel, Severity, StackValidationPolicy

from .framework import Config, Resource, Rule, Setting, Violation, stack_policy
from .gke import (
    CLUSTER,
    ZONAL_SLA_MIN_NODES,
    Gke,
    attached_pools,
    enforces_network_policy,
    has_workload_identity,
    is_zone,
)
from .kube import (
    EXEMPT_NAMESPACES,
    WORKLOAD_KINDS,
    KubeObject,
    Match,
    containers,
    is_empty_selector,
    kube_objects,
    map_selects,
    pod_template,
    selector_matches,
)
from .props import (
    UNKNOWN,
    Unknown,
    contains_unknown,
    flag,
    get,
    items,
    known_dicts,
    number,
    obj,
    or_default,
    string_map,
    strings,
    text,
)
from .security import baseline_findings, restricted_findings

ROUTE_KINDS = frozenset({"HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "UDPRoute"})
GATEWAY_GROUP = "gateway.networking.k8s.io"
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
_GOOGLE_SERVICE_ACCOUNT = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9-]+\.iam\.gserviceaccount\.com$")
_PSA_ENFORCE = "pod-security.kubernetes.io/enforce"
_NGINX_CANARY = "nginx.ingress.kubernetes.io/canary"


@dataclass(frozen=True)
class Stack:
    """The stack's Kubernetes objects, indexed the ways the rules look them up."""

    resources: Sequence[Resource]
    objects: list[KubeObject]
    # Objects created elsewhere that the stack patches (e.g. a namespace's default
    # ServiceAccount), under their own kind.
    patches: list[KubeObject]

    @staticmethod
    def of(resources: Sequence[Resource]) -> Stack:
        patches = [resource for resource in resources if resource.type.endswith("Patch")]
        return Stack(resources, kube_objects(resources), kube_objects(patches, patches=True))

    def kind(self, *kinds: str) -> list[KubeObject]:
        return [found for found in self.objects if found.kind in kinds]

    def workloads(self) -> list[KubeObject]:
        return [found for found in self.objects if found.kind in WORKLOAD_KINDS]

    @cached_property
    def _workloads_by_namespace(self) -> dict[str | Unknown | None, list[KubeObject]]:
        by_namespace: dict[str | Unknown | None, list[KubeObject]] = {}
        for workload in self.workloads():
            by_namespace.setdefault(workload.namespace, []).append(workload)
        return by_namespace

    def workloads_in(self, namespace: str) -> list[KubeObject]:
        """The workloads that are, or may be (namespace not known yet), in `namespace`."""
        return self._workloads_by_namespace.get(namespace, []) + self._workloads_by_namespace.get(UNKNOWN, [])

    def lookup(self, kind: str, namespace: str | None, name: str, patched: bool = False) -> KubeObject | Unknown | None:
        """The object of `kind` named `name` in `namespace` (None for cluster-scoped
        kinds), or with `patched` the stack's patch of it; UNKNOWN when an object whose
        name or namespace is not known could be it."""
        undecided = False
        candidates = self.kind(kind) + ([found for found in self.patches if found.kind == kind] if patched else [])
        for found in candidates:
            same = Match.all_of(
                [_equals(found.name, name), True if namespace is None else _equals(found.namespace, namespace)]
            )
            if same is True:
                return found
            undecided = undecided or same is UNKNOWN
        return UNKNOWN if undecided else None

    def clusters(self) -> list[Gke]:
        return [Gke(resource) for resource in self.resources if resource.type == CLUSTER]


def _equals(value: object, expected: object) -> bool | Unknown:
    return UNKNOWN if UNKNOWN in (value, expected) else value == expected


def _exempt(found: KubeObject, config: Config) -> bool:
    return found.namespace is UNKNOWN or found.namespace in config.get("exemptNamespaces", ())


def _names(objects: Iterable[KubeObject]) -> str:
    return ", ".join(found.describe() for found in objects)


# --- namespace-default-deny ---


def _denies(policy: KubeObject, direction: str) -> bool | Unknown:
    """Whether a NetworkPolicy denies all `direction` traffic for every pod of its namespace."""
    spec = obj(policy.props, "spec")
    selects_all = is_empty_selector(get(spec, "podSelector"))
    rules = {key: items(spec, key) for key in ("ingress", "egress")}
    types = strings(spec, "policyTypes")
    if selects_all is UNKNOWN or types is UNKNOWN or any(found is UNKNOWN for found in rules.values()):
        return UNKNOWN
    if not types:  # the API's default: Ingress, plus Egress when egress rules are given
        types = ["Ingress", "Egress"] if rules["egress"] else ["Ingress"]
    return selects_all is True and direction in types and not rules[direction.lower()]


def _check_default_deny(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    policies = stack.kind("NetworkPolicy")
    if any(not isinstance(policy.namespace, str) for policy in policies):
        return  # a policy whose namespace is not known yet could cover any namespace
    namespaces = {
        found.namespace: found
        for found in stack.workloads()
        if isinstance(found.namespace, str) and not _exempt(found, config)
    }
    for namespace, workload in sorted(namespaces.items()):
        missing = []
        for direction in ("Ingress", "Egress"):
            denied = [_denies(policy, direction) for policy in policies if policy.namespace == namespace]
            if True not in denied and UNKNOWN not in denied:
                missing.append(direction)
        if missing:
            found = stack.lookup("Namespace", None, namespace)
            owner = found if isinstance(found, KubeObject) else workload
            yield Violation(
                f"namespace {namespace} runs workloads ({workload.describe()}, ...) but no NetworkPolicy denies "
                f"{' and '.join(missing)} by default; add one with podSelector {{}} and policyTypes "
                "[Ingress, Egress], then allow only the traffic each app needs",
                owner.urn,
            )


# --- service-selects-one-workload ---


def _selected(stack: Stack, namespace: str, selector: dict[str, str]) -> tuple[list[KubeObject], int]:
    """Workloads whose pods a Service selector matches, and how many cannot be told."""
    matched, unknown = [], 0
    for workload in stack.workloads_in(namespace):
        result = map_selects(selector, workload.pod_labels)
        if result is True and workload.namespace == namespace:
            matched.append(workload)
        elif result is not False:
            unknown += 1
    return matched, unknown


def _check_service_selectors(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    for service in stack.kind("Service"):
        selector = string_map(service.props, "spec", "selector")
        if _exempt(service, config) or not isinstance(service.namespace, str) or selector is UNKNOWN or not selector:
            continue
        if text(service.props, "spec", "type") in ("ExternalName", UNKNOWN):
            continue
        matched, unknown = _selected(stack, service.namespace, selector)
        if len(matched) > 1:
            yield Violation(
                f"{service.describe()} selects the pods of {len(matched)} workloads ({_names(matched)}): traffic "
                "is spread over versions by replica count; select exactly one (Blue/Green: the active colour only, "
                "Canary: split with route weights instead)",
                service.urn,
            )
        elif not matched and not unknown:
            yield Violation(
                f"{service.describe()} selector {selector} matches no workload's pod labels in the stack, so it "
                "has no endpoints",
                service.urn,
            )


# --- zero-downtime-replicas and pdb-hpa-consistency ---


def _hpa_for(stack: Stack, workload: KubeObject) -> KubeObject | Unknown | None:
    """The autoscaler scaling the workload; a reference not known yet counts when the
    autoscaler depends on the workload (it took the name from its output)."""
    undecided = False
    for hpa in stack.kind("HorizontalPodAutoscaler"):
        targets = Match.all_of(
            [
                _equals(hpa.namespace, workload.namespace),
                _equals(text(hpa.props, "spec", "scaleTargetRef", "kind"), workload.kind),
                _equals(text(hpa.props, "spec", "scaleTargetRef", "name"), workload.name),
            ]
        )
        if targets is True or (targets is UNKNOWN and workload.urn in hpa.resource.dependencies):
            return hpa
        undecided = undecided or targets is UNKNOWN
    return UNKNOWN if undecided else None


def min_replicas(stack: Stack, workload: KubeObject) -> float | Unknown:
    """The fewest pods the workload runs: its HPA's minReplicas, else spec.replicas (default 1)."""
    hpa = _hpa_for(stack, workload)
    if hpa is UNKNOWN:
        return UNKNOWN
    source, path = (hpa.props, ("spec", "minReplicas")) if hpa is not None else (workload.props, ("spec", "replicas"))
    value = number(source, *path)
    return 1.0 if value is None else value


def _route_backend_weights(stack: Stack) -> Iterator[tuple[str, str, float, float]]:
    """(namespace, service, weight, largest weight beside it) for every backend of a
    route rule that splits traffic."""
    for route in stack.kind(*ROUTE_KINDS):
        if not isinstance(route.namespace, str):
            continue
        for rule in known_dicts(route.props, "spec", "rules"):
            refs = list(known_dicts(rule, "backendRefs"))
            weights = [number(ref, "weight") for ref in refs]
            if len(refs) < 2 or UNKNOWN in weights:
                continue
            values = [1.0 if weight is None else weight for weight in weights if weight is not UNKNOWN]
            for ref, weight in zip(refs, values, strict=True):
                namespace, name = or_default(text(ref, "namespace"), route.namespace), text(ref, "name")
                if (
                    isinstance(namespace, str)
                    and isinstance(name, str)
                    and or_default(text(ref, "kind"), "Service") == "Service"
                ):
                    yield namespace, name, weight, max(values)


@dataclass(frozen=True)
class Canaries:
    """Services that receive a minority share of a split (Gateway API weights or an
    ingress-nginx canary Ingress); `undecided` when some route is not known yet."""

    services: set[tuple[str, str]]
    undecided: bool

    @staticmethod
    def of(stack: Stack) -> Canaries:
        services = {
            (namespace, name) for namespace, name, weight, largest in _route_backend_weights(stack) if weight < largest
        }
        routes = stack.kind(*ROUTE_KINDS, "Ingress")
        undecided = any(
            not isinstance(route.namespace, str) or contains_unknown(get(route.props, "spec")) for route in routes
        )
        for ingress in stack.kind("Ingress"):
            annotations = string_map(ingress.props, "metadata", "annotations")
            undecided = undecided or annotations is UNKNOWN
            if (
                annotations is UNKNOWN
                or annotations.get(_NGINX_CANARY) != "true"
                or not isinstance(ingress.namespace, str)
            ):
                continue
            backends = [get(ingress.props, "spec", "defaultBackend", "service", "name")]
            for rule in known_dicts(ingress.props, "spec", "rules"):
                backends += [get(path, "backend", "service", "name") for path in known_dicts(rule, "http", "paths")]
            services |= {(ingress.namespace, name) for name in backends if isinstance(name, str)}
        return Canaries(services, undecided)

    def track(self, stack: Stack, workload: KubeObject) -> bool | Unknown:
        """Whether the workload's pods only serve a canary share."""
        labels = workload.pod_labels
        undecided = self.undecided
        for service in stack.kind("Service"):
            selector = string_map(service.props, "spec", "selector")
            if selector is UNKNOWN:
                undecided = True
                continue
            selects = Match.all_of([_equals(service.namespace, workload.namespace), map_selects(selector, labels)])
            if selects is True and (workload.namespace, service.name) in self.services:
                return True
            undecided = undecided or selects is UNKNOWN or (selects is True and service.name is UNKNOWN)
        return UNKNOWN if undecided else False


def _zero_downtime(workload: KubeObject) -> bool | Unknown:
    """Whether the workload's update strategy promises to keep serving during a rollout."""
    if workload.kind == "Deployment":
        strategy = text(workload.props, "spec", "strategy", "type")
        return UNKNOWN if strategy is UNKNOWN else strategy != "Recreate"
    if workload.kind == "StatefulSet":
        strategy = text(workload.props, "spec", "updateStrategy", "type")
        return UNKNOWN if strategy is UNKNOWN else strategy != "OnDelete"
    return workload.kind == "Rollout"


def _check_replicas(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    required = float(config.get("minReplicas", 2))
    canaries = Canaries.of(stack)
    for workload in stack.kind("Deployment", "StatefulSet", "Rollout"):
        if _exempt(workload, config) or _zero_downtime(workload) is not True:
            continue
        minimum = min_replicas(stack, workload)
        if minimum is UNKNOWN or minimum == 0 or minimum >= required:
            continue
        if canaries.track(stack, workload) is not False:
            continue
        yield Violation(
            f"{workload.describe()} uses a zero-downtime update strategy but can run {int(minimum)} replica(s): "
            f"a node drain, eviction or crash takes it offline; run at least {int(required)} "
            "(or use Recreate if downtime is acceptable)",
            workload.urn,
        )


def _covers(budget: KubeObject, selector: dict[str, Any] | Unknown, workload: KubeObject) -> bool | Unknown:
    return Match.all_of(
        [_equals(workload.namespace, budget.namespace), selector_matches(selector, workload.pod_labels)]
    )


def _check_disruption_budgets(stack: Stack) -> Iterator[Violation]:
    for budget in stack.kind("PodDisruptionBudget"):
        if not isinstance(budget.namespace, str):
            continue
        selector = obj(budget.props, "spec", "selector")
        results = [(workload, _covers(budget, selector, workload)) for workload in stack.workloads_in(budget.namespace)]
        if any(result is UNKNOWN for _, result in results):
            continue
        matched = [workload for workload, result in results if result is True]
        if not matched:
            yield Violation(f"{budget.describe()} selects no workload's pods in the stack", budget.urn)
            continue
        mins = [min_replicas(stack, workload) for workload in matched]
        if UNKNOWN in mins:
            continue
        total = sum(value for value in mins if value is not UNKNOWN)
        min_available = get(budget.props, "spec", "minAvailable")
        max_unavailable = get(budget.props, "spec", "maxUnavailable")
        must_stay, may_go = _pods(min_available, total), _pods(max_unavailable, total)
        if total and ((must_stay is not None and must_stay >= total) or may_go == 0):
            setting = (
                f"minAvailable {_show(min_available)}" if must_stay is not None else f"maxUnavailable {_show(may_go)}"
            )
            yield Violation(
                f"{budget.describe()} ({setting}) leaves no pod of {_names(matched)} ({int(total)} replica(s) at "
                "minimum) evictable: node drains and GKE upgrades hang; keep minAvailable below the replica count",
                budget.urn,
            )


def _pods(value: Any, total: float) -> float | None:
    """A PodDisruptionBudget count or percentage as pods (percentages round up, as the
    disruption controller does); None when not set or not known."""
    if isinstance(value, bool) or value is UNKNOWN:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and (percent := re.fullmatch(r"([0-9]+)%", value)):
        return float(math.ceil(total * int(percent[1]) / 100))
    return None


def _show(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _ignores_replicas(workload: KubeObject) -> bool:
    return any(path in ("spec", "spec.replicas", 'spec["replicas"]') for path in workload.resource.ignore_changes)


def _check_autoscalers(stack: Stack) -> Iterator[Violation]:
    for hpa in stack.kind("HorizontalPodAutoscaler"):
        spec = obj(hpa.props, "spec")
        lowest, highest = number(spec, "minReplicas"), number(spec, "maxReplicas")
        lowest = 1.0 if lowest is None else lowest
        if isinstance(lowest, float) and isinstance(highest, float) and lowest > highest:
            yield Violation(f"{hpa.describe()} minReplicas {int(lowest)} exceeds maxReplicas {int(highest)}", hpa.urn)
        kind, name = text(spec, "scaleTargetRef", "kind"), text(spec, "scaleTargetRef", "name")
        if not (isinstance(kind, str) and isinstance(name, str) and isinstance(hpa.namespace, str)):
            continue
        target = stack.lookup(kind, hpa.namespace, name)
        if target is None:
            yield Violation(f"{hpa.describe()} scales {kind} {name}, which the stack does not declare", hpa.urn)
        if not isinstance(target, KubeObject):
            continue
        replicas = get(target.props, "spec", "replicas")
        if replicas is not None and replicas is not UNKNOWN and not _ignores_replicas(target):
            yield Violation(
                f"{target.describe()} sets spec.replicas although {hpa.describe()} scales it: every `pulumi up` "
                "resets the replica count the autoscaler chose; omit replicas or ignore changes to spec.replicas",
                target.urn,
            )
        yield from _check_utilization_requests(hpa, target)


def _check_utilization_requests(hpa: KubeObject, target: KubeObject) -> Iterator[Violation]:
    """Utilization targets are percentages of the containers' requests."""
    spec = obj(hpa.props, "spec")
    resources = {
        text(metric, "resource", "name")
        for metric in known_dicts(spec, "metrics")
        if text(metric, "type") == "Resource" and text(metric, "resource", "target", "type") == "Utilization"
    }
    if get(spec, "targetCPUUtilizationPercentage") is not None:
        resources.add("cpu")
    template = pod_template(target)
    if template is None:
        return
    for resource in sorted(name for name in resources if isinstance(name, str)):
        for container in containers(template.spec, ("containers",)):
            if get(container.spec, "resources", "requests", resource) is None:
                yield Violation(
                    f"{hpa.describe()} targets {resource} utilization but {target.describe()} "
                    f"{container.describe()} requests no {resource}, so the autoscaler cannot compute it",
                    hpa.urn,
                )


def _check_scaling(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    yield from _check_disruption_budgets(stack)
    yield from _check_autoscalers(stack)


# --- cluster capabilities the Kubernetes objects rely on ---


def _check_network_policy_enforced(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    policies = stack.kind("NetworkPolicy")
    if not policies:
        return
    for cluster in stack.clusters():
        if enforces_network_policy(cluster) is False:
            yield Violation(
                f"the stack declares NetworkPolicies ({_names(policies[:3])}{', ...' if policies[3:] else ''}) but "
                f"{cluster.describe()} does not enforce NetworkPolicies, so they are silently ignored; enable "
                "Dataplane V2 (datapathProvider ADVANCED_DATAPATH)",
                cluster.resource.urn,
            )


def _check_workload_identity(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    annotated = []
    for account in stack.kind("ServiceAccount"):
        annotations = string_map(account.props, "metadata", "annotations")
        value = annotations.get(WORKLOAD_IDENTITY_ANNOTATION) if annotations is not UNKNOWN else None
        if value is None:
            continue
        annotated.append(account)
        if not _GOOGLE_SERVICE_ACCOUNT.fullmatch(value):
            yield Violation(
                f"{account.describe()} annotation {WORKLOAD_IDENTITY_ANNOTATION}={value!r} is not a Google "
                "service account email (<name>@<project>.iam.gserviceaccount.com)",
                account.urn,
            )
    if not annotated:
        return
    for cluster in stack.clusters():
        if has_workload_identity(cluster) is False:
            yield Violation(
                f"{_names(annotated)} rely on Workload Identity ({WORKLOAD_IDENTITY_ANNOTATION}) but "
                f"{cluster.describe()} has no workloadIdentityConfig.workloadPool, so their pods get the node's "
                "credentials instead",
                cluster.resource.urn,
            )


# --- route-references-allowed ---


def _granted(stack: Stack, route: KubeObject, ref: dict[str, Any], target: str) -> bool | Unknown:
    """Whether a ReferenceGrant in `target` lets this route use the backend."""
    group, kind, name = or_default(text(ref, "group"), ""), or_default(text(ref, "kind"), "Service"), text(ref, "name")
    undecided = False
    for grant in stack.kind("ReferenceGrant"):
        if grant.namespace is UNKNOWN:
            undecided = True
            continue
        sources, targets = items(grant.props, "spec", "from"), items(grant.props, "spec", "to")
        if grant.namespace != target or sources is UNKNOWN or targets is UNKNOWN:
            undecided = undecided or grant.namespace == target
            continue
        from_route = Match.any_of(
            Match.all_of([_equals(text(source, "group"), GATEWAY_GROUP), _equals(text(source, "kind"), route.kind),
                          _equals(text(source, "namespace"), route.namespace)])
            for source in sources
        )  # fmt: skip
        to_backend = Match.any_of(
            Match.all_of([_equals(or_default(text(to, "group"), ""), group), _equals(text(to, "kind"), kind),
                          Match.any_of([_equals(text(to, "name"), None), _equals(text(to, "name"), name)])])
            for to in targets
        )  # fmt: skip
        admits = Match.all_of([from_route, to_backend])
        if admits is True:
            return True
        undecided = undecided or admits is UNKNOWN
    return UNKNOWN if undecided else False


def _listener_admits(stack: Stack, listener: Any, route: KubeObject, gateway_ns: str) -> bool | Unknown:
    allowed_kinds = items(listener, "allowedRoutes", "kinds")
    if allowed_kinds is UNKNOWN:
        return UNKNOWN
    kinds = [text(kind, "kind") for kind in allowed_kinds]
    if kinds and route.kind not in kinds:
        return UNKNOWN if UNKNOWN in kinds else False
    source = or_default(text(listener, "allowedRoutes", "namespaces", "from"), "Same")
    if source == "All":
        return True
    if source == "Same":
        return route.namespace == gateway_ns
    if source != "Selector" or not isinstance(route.namespace, str):
        return UNKNOWN
    namespace = stack.lookup("Namespace", None, route.namespace)
    if not isinstance(namespace, KubeObject):
        return UNKNOWN
    labels = string_map(namespace.props, "metadata", "labels")
    if labels is not UNKNOWN:
        labels = {**labels, "kubernetes.io/metadata.name": route.namespace}
    return selector_matches(obj(listener, "allowedRoutes", "namespaces", "selector"), labels)


def _check_route_references(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    for route in stack.kind(*ROUTE_KINDS):
        if not isinstance(route.namespace, str):
            continue
        for rule in known_dicts(route.props, "spec", "rules"):
            for ref in known_dicts(rule, "backendRefs"):
                target = text(ref, "namespace")
                if (
                    isinstance(target, str)
                    and target != route.namespace
                    and _granted(stack, route, ref, target) is False
                ):
                    yield Violation(
                        f"{route.describe()} sends traffic to {text(ref, 'kind') or 'Service'} {target}/"
                        f"{text(ref, 'name')} but no ReferenceGrant in {target} allows it: the Gateway drops the "
                        f"backend (ResolvedRefs=False); add a ReferenceGrant from {route.kind} in {route.namespace}",
                        route.urn,
                    )
        for parent in known_dicts(route.props, "spec", "parentRefs"):
            if or_default(text(parent, "kind"), "Gateway") != "Gateway":
                continue
            gateway_ns, name = or_default(text(parent, "namespace"), route.namespace), text(parent, "name")
            if not (isinstance(gateway_ns, str) and isinstance(name, str)):
                continue
            gateway = stack.lookup("Gateway", gateway_ns, name)
            if not isinstance(gateway, KubeObject):
                continue
            section = text(parent, "sectionName")
            listeners = items(gateway.props, "spec", "listeners")
            if section is UNKNOWN or listeners is UNKNOWN:
                continue
            admitted = [
                Match.all_of(
                    [
                        True if section is None else _equals(text(listener, "name"), section),
                        _listener_admits(stack, listener, route, gateway_ns),
                    ]
                )
                for listener in listeners
            ]
            if True not in admitted and UNKNOWN not in admitted:
                yield Violation(
                    f"{route.describe()} attaches to {gateway.describe()}"
                    f"{f' listener {section}' if section else ''}, whose listeners do not admit {route.kind}s "
                    f"from namespace {route.namespace} (allowedRoutes): the route is silently not attached",
                    route.urn,
                )


# --- service-account-token-automount ---


def _check_token_automount(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    for workload in stack.workloads():
        template = pod_template(workload)
        if template is None or _exempt(workload, config) or template.spec is UNKNOWN:
            continue
        if flag(template.spec, "automountServiceAccountToken") is not None:
            continue  # an explicit choice either way
        account_name = or_default(text(template.spec, "serviceAccountName"), "default")
        if not isinstance(account_name, str) or not isinstance(workload.namespace, str):
            continue
        account = stack.lookup("ServiceAccount", workload.namespace, account_name, patched=True)
        if account is UNKNOWN or (
            isinstance(account, KubeObject) and flag(account.props, "automountServiceAccountToken") is not None
        ):
            continue  # the ServiceAccount decides explicitly (or may)
        yield Violation(
            f"pods of {workload.describe()} mount a Kubernetes API token (ServiceAccount {account_name}) without "
            "saying they need one; set automountServiceAccountToken: false on the pod or its ServiceAccount, or "
            "true where the app calls the API",
            workload.urn,
        )


# --- pod-security-admission ---


def _check_admission(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    levels: dict[str, str] = {}
    for namespace in stack.kind("Namespace"):
        labels = string_map(namespace.props, "metadata", "labels")
        if isinstance(namespace.name, str) and labels is not UNKNOWN and _PSA_ENFORCE in labels:
            levels[namespace.name] = labels[_PSA_ENFORCE]
    for workload in stack.workloads():
        template = pod_template(workload)
        level = levels.get(workload.namespace) if isinstance(workload.namespace, str) else None
        if template is None or level not in ("baseline", "restricted"):
            continue
        findings = baseline_findings(template.metadata, template.spec)
        if level == "restricted":
            findings += restricted_findings(template.metadata, template.spec)
        if findings:
            yield Violation(
                f"namespace {workload.namespace} enforces Pod Security level {level}, which rejects the pods of "
                f"{workload.describe()} ({'; '.join(findings)}); the object is accepted but its pods never start",
                workload.urn,
            )


# --- gke-zonal-sla ---


def _pool_min_nodes(pool: dict[str, Any], cluster_zones: list[Any]) -> float | Unknown:
    """The fewest nodes a pool can shrink to, across its zones (the cluster's
    nodeLocations unless the pool lists its own)."""
    zones = items(pool, "nodeLocations")
    autoscaling = get(pool, "autoscaling")
    if zones is UNKNOWN or autoscaling is UNKNOWN:
        return UNKNOWN
    zone_count = len(zones or cluster_zones) or 1
    if isinstance(autoscaling, dict) and autoscaling:
        total = number(autoscaling, "totalMinNodeCount")
        if total is not None:
            return total
        per_zone = number(autoscaling, "minNodeCount")
        return UNKNOWN if per_zone is UNKNOWN else (per_zone or 0.0) * zone_count
    for key in ("nodeCount", "initialNodeCount"):
        count = number(pool, key)
        if count is UNKNOWN:
            return UNKNOWN
        if count is not None:
            return count * zone_count
    return 1.0 * zone_count


def _check_zonal_sla(resources: Sequence[Resource], config: Config) -> Iterator[Violation]:
    stack = Stack.of(resources)
    for cluster in stack.clusters():
        location = text(cluster.props, "location")
        if cluster.autopilot is not False or not is_zone(location):
            continue
        pools = attached_pools(stack.resources, cluster)
        inline = items(cluster.props, "nodePools")
        if pools is UNKNOWN or inline is UNKNOWN:
            continue
        assert isinstance(pools, list)
        if flag(cluster.props, "removeDefaultNodePool") is not True and not inline:
            pools.append({"initialNodeCount": get(cluster.props, "initialNodeCount")})
        cluster_zones = items(cluster.props, "nodeLocations")
        if cluster_zones is UNKNOWN:
            continue
        counts = [_pool_min_nodes(pool, cluster_zones) for pool in pools]
        if UNKNOWN in counts:
            continue
        smallest = sum(count for count in counts if count is not UNKNOWN)
        if smallest < ZONAL_SLA_MIN_NODES:
            yield Violation(
                f"{cluster.describe()} is zonal ({location}) and its node pools can shrink to {int(smallest)} node(s): "
                f"GKE's 99.5% zonal SLA needs at least {ZONAL_SLA_MIN_NODES}; a regional cluster gets 99.95%",
                cluster.resource.urn,
            )


# --- the policies ---


def _rule(
    name: str,
    description: str,
    steps: str,
    *,
    severity: Severity,
    enforcement: EnforcementLevel = EnforcementLevel.MANDATORY,
    settings: tuple[Setting, ...] = (),
    tags: tuple[str, ...] = (),
) -> Rule:
    return Rule(
        name=name,
        description=description,
        enforcement=enforcement,
        severity=severity,
        remediation_steps=steps,
        settings=settings,
        tags=("stack", *tags),
    )


def policies() -> list[StackValidationPolicy]:
    return [
        stack_policy(
            _rule(
                "namespace-default-deny",
                "Every namespace that runs workloads has a default-deny NetworkPolicy for ingress and egress.",
                "Add a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules.",
                severity=Severity.HIGH,
                settings=(EXEMPT_NAMESPACES,),
                tags=("isolation", "network"),
            ),
            _check_default_deny,
        ),
        stack_policy(
            _rule(
                "service-selects-one-workload",
                "Every Service selector matches the pods of exactly one workload (Blue/Green: exactly one colour).",
                "Narrow the selector with the colour/track label so it matches one Deployment's pod labels.",
                severity=Severity.HIGH,
                settings=(EXEMPT_NAMESPACES,),
                tags=("deployment-strategy",),
            ),
            _check_service_selectors,
        ),
        stack_policy(
            _rule(
                "zero-downtime-replicas",
                (
                    "Workloads with a zero-downtime update strategy run at least minReplicas pods (HPA minReplicas "
                    "counts; canary tracks that receive a minority share are exempt)."
                ),
                "Raise replicas (or the HPA's minReplicas), or use Recreate where downtime is acceptable.",
                severity=Severity.MEDIUM,
                settings=(
                    EXEMPT_NAMESPACES,
                    Setting("minReplicas", "Fewest replicas a zero-downtime workload may run.", 2, "integer", None),
                ),
                tags=("reliability", "zero-downtime"),
            ),
            _check_replicas,
        ),
        stack_policy(
            _rule(
                "pdb-hpa-consistency",
                (
                    "PodDisruptionBudgets select pods and leave some evictable; HorizontalPodAutoscalers target a "
                    "declared workload that does not pin spec.replicas and requests what they measure."
                ),
                "Keep PDB minAvailable below the minimum replicas; drop spec.replicas from autoscaled workloads.",
                severity=Severity.MEDIUM,
                tags=("reliability",),
            ),
            _check_scaling,
        ),
        stack_policy(
            _rule(
                "network-policy-enforced",
                "When the stack declares NetworkPolicies, every GKE cluster in it enforces them.",
                "Enable Dataplane V2 (datapathProvider ADVANCED_DATAPATH) on the cluster.",
                severity=Severity.HIGH,
                tags=("isolation", "network", "gke"),
            ),
            _check_network_policy_enforced,
        ),
        stack_policy(
            _rule(
                "workload-identity-configured",
                (
                    "ServiceAccounts annotated for Workload Identity name a Google service account, and every GKE "
                    "cluster in the stack has Workload Identity enabled."
                ),
                "Set workloadIdentityConfig.workloadPool on the cluster; fix the annotation's email.",
                severity=Severity.HIGH,
                tags=("identity", "gke"),
            ),
            _check_workload_identity,
        ),
        stack_policy(
            _rule(
                "route-references-allowed",
                (
                    "Gateway API routes only reference backends in other namespaces with a ReferenceGrant there, and "
                    "only attach to Gateway listeners that admit their namespace."
                ),
                "Add a ReferenceGrant in the backend's namespace, or allow the route's namespace on the listener.",
                severity=Severity.HIGH,
                tags=("isolation", "gateway-api"),
            ),
            _check_route_references,
        ),
        stack_policy(
            _rule(
                "service-account-token-automount",
                "Pods mount a Kubernetes API token only when they (or their ServiceAccount) say they need one.",
                "Set automountServiceAccountToken: false on the ServiceAccount or the pod template.",
                severity=Severity.MEDIUM,
                enforcement=EnforcementLevel.ADVISORY,
                settings=(EXEMPT_NAMESPACES,),
                tags=("security", "identity"),
            ),
            _check_token_automount,
        ),
        stack_policy(
            _rule(
                "pod-security-admission",
                "Workloads pass the Pod Security level their namespace enforces (otherwise their pods never start).",
                "Fix the pod spec, or place the workload in a namespace whose level it meets.",
                severity=Severity.HIGH,
                tags=("security", "pod-security"),
            ),
            _check_admission,
        ),
        stack_policy(
            _rule(
                "gke-zonal-sla",
                "Zonal Standard clusters keep at least 3 nodes, the minimum for GKE's zonal SLA.",
                "Use a regional location, or keep node pools at 3 or more nodes.",
                severity=Severity.LOW,
                enforcement=EnforcementLevel.ADVISORY,
                tags=("gke", "reliability"),
            ),
            _check_zonal_sla,
        ),
    ]
