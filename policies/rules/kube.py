"""Kubernetes objects as the engine passes them: type tokens, namespaces (including
the provider's default namespace), pod templates of every workload kind, containers
and label selectors."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .framework import Config, NotApplicable, Resource, Setting
from .props import UNKNOWN, Unknown, get, items, number, obj, or_default, string_map, strings, text

# Kinds that have a pod template, and where it lives.
WORKLOAD_KINDS = frozenset(
    {
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
        "Job",
        "CronJob",
        "Pod",
        "Rollout",
        # Not run by Kubernetes itself: a declared pod for something else to start (the
        # Jenkins build pods), checked like the pods it describes.
        "PodTemplate",
    }
)
# Kinds whose pods run until stopped (probes and replica counts matter).
LONG_RUNNING_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Rollout"}
)

# Built-in and well-known cluster-scoped kinds; custom kinds named Cluster* are treated
# the same (ClusterIssuer, ClusterSecretStore, ...), others via `clusterScopedKinds`.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterTrustBundle",
        "ComponentStatus",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "DeviceClass",
        "FlowSchema",
        "GatewayClass",
        "IngressClass",
        "IPAddress",
        "MutatingAdmissionPolicy",
        "MutatingAdmissionPolicyBinding",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "ResourceSlice",
        "RuntimeClass",
        "ServiceCIDR",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
        "VolumeAttributesClass",
        "VolumeSnapshotClass",
    }
)

# Pulumi types under kubernetes: that are not API objects (components and YAML groups).
_NON_OBJECT_GROUPS = ("helm.sh/", "yaml/", "kustomize/")

EXEMPT_NAMESPACES = Setting(
    key="exemptNamespaces",
    description="Namespaces this policy does not check (system namespaces whose workloads need host access).",
    default=["kube-system"],
)
EXEMPT_OBJECTS = Setting(
    key="exemptObjects",
    description=(
        "Single objects this policy does not check, each with the reason (an upstream design the rule cannot "
        "fit): [{kind, namespace, name, reason}]."
    ),
    default=[],
    items=None,
    item_schema={
        "type": "object",
        "properties": {
            "kind": {"type": "string"},
            "namespace": {"type": "string"},
            "name": {"type": "string"},
            "reason": {"type": "string", "minLength": 1},
        },
        "required": ["kind", "namespace", "name", "reason"],
        "additionalProperties": False,
    },
)
# The exemption settings every Kubernetes rule takes.
EXEMPTIONS = (EXEMPT_NAMESPACES, EXEMPT_OBJECTS)


@dataclass(frozen=True)
class KubeObject:
    """A Kubernetes API object declared in the stack."""

    resource: Resource
    group: str
    kind: str
    # The namespace the object lands in: metadata.namespace, else the provider's
    # default namespace; None when neither is set (the kubeconfig context decides).
    namespace: str | Unknown | None

    @property
    def props(self) -> dict[str, Any]:
        return self.resource.props

    @property
    def urn(self) -> str:
        return self.resource.urn

    @property
    def name(self) -> str | Unknown | None:
        return text(self.props, "metadata", "name")

    @cached_property
    def pod_labels(self) -> dict[str, str] | Unknown:
        """Labels the object's pods get (none for kinds without pods). Stack rules match
        every selector against every workload: worked out once per object."""
        template = pod_template(self)
        return {} if template is None else string_map(template.metadata, "labels")

    @property
    def cluster_scoped(self) -> bool:
        return self.kind in CLUSTER_SCOPED_KINDS or (self.kind.startswith("Cluster") and self.group != "core")

    def describe(self) -> str:
        """`Deployment shop/web`, naming the Pulumi resource when the object name is not known."""
        name = self.name if isinstance(self.name, str) else f"({self.resource.name})"
        if self.cluster_scoped:
            return f"{self.kind} {name}"
        if self.namespace is None:
            return f"{self.kind} {name} (no namespace)"
        namespace = self.namespace if isinstance(self.namespace, str) else "?"
        return f"{self.kind} {namespace}/{name}"


def split_type(type_token: str, patches: bool = False) -> tuple[str, str] | None:
    """(group, kind) of a `kubernetes:<group>/<version>:<Kind>` API object type, None
    for anything else (other providers, Helm/YAML components, List types). Patch types
    (`<Kind>Patch`, which change part of an object someone else created) count as their
    kind only with `patches`."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or parts[1].startswith(_NON_OBJECT_GROUPS):
        return None
    group_version, kind = parts[1], parts[2]
    if patches and kind.endswith("Patch"):
        kind = kind.removesuffix("Patch")
    elif kind.endswith(("Patch", "List")):
        return None
    group = group_version.split("/", 1)[0] if "/" in group_version else "core"
    return group, kind


def provider_namespace(provider_props: dict[str, Any] | None) -> str | Unknown | None:
    namespace = text(provider_props, "namespace") if provider_props is not None else None
    return or_default(namespace, None)


def kube_object(resource: Resource, patches: bool = False) -> KubeObject | None:
    split = split_type(resource.type, patches)
    if split is None:
        return None
    group, kind = split
    namespace = or_default(text(resource.props, "metadata", "namespace"), None)
    if namespace is None:
        namespace = provider_namespace(resource.provider_props)
    return KubeObject(resource=resource, group=group, kind=kind, namespace=namespace)


def kube_objects(resources: Iterable[Resource], patches: bool = False) -> list[KubeObject]:
    return [found for resource in resources if (found := kube_object(resource, patches)) is not None]


def exempt_object(config: Config, kind: str, namespace: object, name: object) -> str | None:
    """The reason `exemptObjects` gives for the object, or None."""
    for entry in config.get("exemptObjects", ()):
        if (entry.get("kind"), entry.get("namespace"), entry.get("name")) == (kind, namespace, name):
            return str(entry.get("reason"))
    return None


def exemption(found: KubeObject, config: Config) -> str | None:
    """Why `found` is exempt from the rule `config` belongs to, or None."""
    if isinstance(found.namespace, str) and found.namespace in config.get("exemptNamespaces", ()):
        return f"namespace {found.namespace} is exempt"
    reason = exempt_object(config, found.kind, found.namespace, found.name)
    return None if reason is None else f"{found.describe()} is exempt: {reason}"


def governed(resource: Resource, config: Config, kinds: Iterable[str] | None = None) -> KubeObject:
    """The object a Kubernetes rule checks, or NotApplicable for other types, other
    kinds and exempt namespaces."""
    found = kube_object(resource)
    if found is None:
        raise NotApplicable("not a Kubernetes object")
    if kinds is not None and found.kind not in kinds:
        raise NotApplicable(f"{found.kind} is not checked by this policy")
    reason = exemption(found, config)
    if reason is not None:
        raise NotApplicable(reason)
    if found.namespace is UNKNOWN and config.get("exemptNamespaces") and not found.cluster_scoped:
        raise NotApplicable("the namespace is not known yet, so neither is whether it is exempt")
    return found


def kube_rule(
    kinds: Iterable[str] | None, check: Callable[[KubeObject, Config], Iterable[str]]
) -> Callable[[Resource, Config], Iterator[str]]:
    """A resource check over Kubernetes objects of `kinds` (all kinds when None)."""
    kind_set = frozenset(kinds) if kinds is not None else None

    def run(resource: Resource, config: Config) -> Iterator[str]:
        yield from check(governed(resource, config, kind_set), config)

    return run


@dataclass(frozen=True)
class PodTemplate:
    metadata: dict[str, Any] | Unknown
    spec: dict[str, Any] | Unknown


def template_path(kind: str) -> tuple[str, ...] | None:
    """Where a kind keeps its pod (metadata + spec): () for a Pod itself."""
    if kind not in WORKLOAD_KINDS:
        return None
    if kind == "Pod":
        return ()
    if kind == "PodTemplate":
        return ("template",)
    return ("spec", "jobTemplate", "spec", "template") if kind == "CronJob" else ("spec", "template")


def pod_template(found: KubeObject) -> PodTemplate | None:
    path = template_path(found.kind)
    if path is None:
        return None
    return PodTemplate(obj(found.props, *path, "metadata"), obj(found.props, *path, "spec"))


CONTAINER_SECTIONS = ("initContainers", "containers", "ephemeralContainers")
_SECTION_LABEL = {
    "initContainers": "init container",
    "containers": "container",
    "ephemeralContainers": "ephemeral container",
}


@dataclass(frozen=True)
class Container:
    section: str
    spec: dict[str, Any]

    def describe(self) -> str:
        name = text(self.spec, "name")
        return f'{_SECTION_LABEL[self.section]} "{name if isinstance(name, str) else "?"}"'


def containers(pod_spec: dict[str, Any] | Unknown, sections: Sequence[str] = CONTAINER_SECTIONS) -> Iterator[Container]:
    """Known containers of a pod spec; unknown entries are skipped (cannot tell)."""
    if pod_spec is UNKNOWN:
        return
    for section in sections:
        listed = items(pod_spec, section)
        if listed is UNKNOWN:
            continue
        for entry in listed:
            if isinstance(entry, dict):
                yield Container(section, entry)


class Match:
    """Three-valued selector matching: True, False, or UNKNOWN (cannot tell)."""

    @staticmethod
    def all_of(results: Iterable[bool | Unknown]) -> bool | Unknown:
        unknown = False
        for result in results:
            if result is False:
                return False
            if result is UNKNOWN:
                unknown = True
        return UNKNOWN if unknown else True

    @staticmethod
    def any_of(results: Iterable[bool | Unknown]) -> bool | Unknown:
        unknown = False
        for result in results:
            if result is True:
                return True
            if result is UNKNOWN:
                unknown = True
        return UNKNOWN if unknown else False


def selector_matches(selector: dict[str, Any] | Unknown, labels: dict[str, str] | Unknown) -> bool | Unknown:
    """Whether a LabelSelector (matchLabels + matchExpressions) selects `labels`."""
    if isinstance(selector, Unknown):
        return selector
    match_labels = string_map(selector, "matchLabels")
    expressions = items(selector, "matchExpressions")
    if match_labels is UNKNOWN or expressions is UNKNOWN:
        return UNKNOWN
    results: list[bool | Unknown] = [map_selects(match_labels, labels)]
    results += [_expression_matches(expression, labels) for expression in expressions]
    return Match.all_of(results)


def map_selects(selector: dict[str, str] | Unknown, labels: dict[str, str] | Unknown) -> bool | Unknown:
    """Whether a plain map selector (Service, matchLabels) selects `labels`."""
    if isinstance(selector, Unknown):
        return selector
    if labels is UNKNOWN:
        return UNKNOWN if selector else True
    return all(labels.get(key) == value for key, value in selector.items())


# Labels a controller gives each pod it creates, beyond the pod template's: a Service
# may pick one pod of a StatefulSet by them (redis-ha's per-replica announce Services).
STATEFULSET_POD_NAME = "statefulset.kubernetes.io/pod-name"
STATEFULSET_POD_INDEX = "apps.kubernetes.io/pod-index"
POD_TEMPLATE_HASH = "pod-template-hash"
CONTROLLER_POD_LABELS = frozenset({STATEFULSET_POD_NAME, STATEFULSET_POD_INDEX, POD_TEMPLATE_HASH})


def _ordinals(workload: KubeObject) -> range | Unknown:
    replicas = number(workload.props, "spec", "replicas")
    start = number(workload.props, "spec", "ordinals", "start")
    if replicas is UNKNOWN or start is UNKNOWN:
        return UNKNOWN
    first = int(start or 0)
    return range(first, first + int(1 if replicas is None else replicas))


def _controller_label_matches(workload: KubeObject, key: str, value: str) -> bool | Unknown:
    if key == POD_TEMPLATE_HASH:
        # The hash of a ReplicaSet the Deployment controller has not created yet.
        return UNKNOWN if workload.kind in ("Deployment", "ReplicaSet") else False
    if workload.kind != "StatefulSet":
        return False
    ordinals = _ordinals(workload)
    if key == STATEFULSET_POD_NAME:
        name = workload.name
        if not isinstance(name, str):
            return UNKNOWN
        ordinal = re.fullmatch(rf"{re.escape(name)}-([0-9]+)", value)
        if ordinal is None:
            return False
        return UNKNOWN if isinstance(ordinals, Unknown) else int(ordinal[1]) in ordinals
    if not value.isdigit():
        return False
    return UNKNOWN if isinstance(ordinals, Unknown) else int(value) in ordinals


def selects_pods(selector: dict[str, str] | Unknown, workload: KubeObject) -> bool | Unknown:
    """Whether a map selector (a Service's) selects pods of `workload`, counting the
    labels its controller adds to each pod."""
    if isinstance(selector, Unknown):
        return selector
    if CONTROLLER_POD_LABELS.isdisjoint(selector):  # nearly every Service: match the template's labels
        return map_selects(selector, workload.pod_labels)
    from_template = {key: value for key, value in selector.items() if key not in CONTROLLER_POD_LABELS}
    results = [map_selects(from_template, workload.pod_labels)]
    results += [
        _controller_label_matches(workload, key, value)
        for key, value in selector.items()
        if key in CONTROLLER_POD_LABELS
    ]
    return Match.all_of(results)


def _expression_matches(expression: Any, labels: dict[str, str] | Unknown) -> bool | Unknown:
    key, operator, values = text(expression, "key"), text(expression, "operator"), strings(expression, "values")
    if key is UNKNOWN or operator is UNKNOWN or values is UNKNOWN or labels is UNKNOWN:
        return UNKNOWN
    if key is None:
        return False
    present = key in labels
    if operator == "In":
        return present and labels[key] in values
    if operator == "NotIn":
        return not present or labels[key] not in values
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    return False


def is_empty_selector(selector: Any) -> bool | Unknown:
    """An empty LabelSelector selects everything."""
    if isinstance(selector, Unknown):
        return selector
    if selector is None:
        return True
    match_labels, expressions = get(selector, "matchLabels"), get(selector, "matchExpressions")
    if UNKNOWN in (match_labels, expressions):
        return UNKNOWN
    return not match_labels and not expressions
