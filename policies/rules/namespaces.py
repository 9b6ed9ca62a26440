"""Namespace isolation: nothing lands in `default`, and no object quietly opens one
namespace to another.

Controllers only see their own namespace but the network, RBAC and DNS do not stop at
namespace borders, so isolation has to be explicit. These rules flag the
cross-namespace grants Kubernetes accepts without complaint; Gateway API references
(which need the other side's consent) are checked with the whole stack in stack.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from .framework import Config, NotApplicable, Rule, Setting, resource_policy
from .kube import EXEMPTIONS, KubeObject, is_empty_selector, kube_rule
from .props import UNKNOWN, get, known_dicts, text

# Groups that contain the service accounts (or users) of every namespace, and the user
# every unauthenticated request acts as.
BROAD_GROUPS = frozenset({"system:authenticated", "system:unauthenticated", "system:serviceaccounts"})
ANONYMOUS_USER = "system:anonymous"
_SERVICE_ACCOUNTS_OF = "system:serviceaccounts:"

TRUSTED_NAMESPACES = Setting(
    key="trustedNamespaces",
    description=(
        "Platform namespaces whose controllers legitimately act in other namespaces "
        "(CI agents deploying, Argo CD syncing); grants to them are not flagged."
    ),
    default=["argocd", "jenkins", "kube-system"],
)


def _check_default_namespace(found: KubeObject, config: Config) -> Iterator[str]:
    if found.cluster_scoped or found.kind in config.get("clusterScopedKinds", ()):
        raise NotApplicable(f"{found.kind} is cluster-scoped")
    if found.namespace is None:
        yield (
            f"{found.describe()} sets no metadata.namespace and its provider has no default namespace, so it "
            "lands in whatever namespace the kubeconfig context selects (usually default); set metadata.namespace"
        )
    elif found.namespace == "default":
        yield (
            f"{found.describe()} is in the default namespace, which has no quota, no network policy and no "
            "owner; put it in its environment's namespace"
        )


def _subject_namespace(subject: dict[str, object]) -> str | None:
    """The namespace whose identities a subject grants to, if it names one."""
    kind, name, namespace = text(subject, "kind"), text(subject, "name"), text(subject, "namespace")
    if kind == "ServiceAccount" and isinstance(namespace, str):
        return namespace
    if kind == "Group" and isinstance(name, str) and name.startswith(_SERVICE_ACCOUNTS_OF):
        return name.removeprefix(_SERVICE_ACCOUNTS_OF)
    return None


def _check_binding(found: KubeObject, trusted: set[str]) -> Iterator[str]:
    for subject in known_dicts(found.props, "subjects"):
        name, kind = text(subject, "name"), text(subject, "kind")
        who = f"{kind} {text(subject, 'namespace')}/{name}" if kind == "ServiceAccount" else f"{kind} {name}"
        if kind == "Group" and name in BROAD_GROUPS:
            yield f"{found.describe()} grants its role to {name}, i.e. to identities of every namespace"
            continue
        if kind == "User" and name == ANONYMOUS_USER:
            yield f"{found.describe()} grants its role to {name}, i.e. to every request without credentials"
            continue
        source = _subject_namespace(subject)
        if source is None or source in trusted:
            continue
        if found.kind == "ClusterRoleBinding":
            yield f"{found.describe()} grants a cluster-wide role to {who}: pods in {source} reach every namespace"
        elif isinstance(found.namespace, str) and source != found.namespace:
            yield (
                f"{found.describe()} grants {who} access to namespace {found.namespace}; bind identities of the "
                f"namespace itself (or list {source} in trustedNamespaces)"
            )


def _check_external_name(found: KubeObject, trusted: set[str], cluster_domain: str) -> Iterator[str]:
    if text(found.props, "spec", "type") != "ExternalName":
        return
    target = text(found.props, "spec", "externalName")
    if not isinstance(target, str):
        return
    in_cluster = re.fullmatch(
        rf"(?P<service>[a-z0-9-]+)\.(?P<namespace>[a-z0-9-]+)\.svc(?:\.{re.escape(cluster_domain)})?\.?",
        target.lower(),
    )
    if in_cluster is None or not isinstance(found.namespace, str):
        return
    namespace = in_cluster["namespace"]
    if namespace != found.namespace and namespace not in trusted:
        yield (
            f"{found.describe()} is an ExternalName alias for {target} in namespace {namespace}: ingress "
            "controllers and gateways follow it across the namespace border (CVE-2021-25740)"
        )


_PEER_FIELDS = ("podSelector", "namespaceSelector", "ipBlock")


def _open_peers(rule: dict[str, Any], peers_key: str) -> str | None:
    """How a NetworkPolicy rule reaches every namespace, or None: no peers at all (the
    rule matches every source or destination), a peer without a selector or ipBlock, or
    an empty namespaceSelector."""
    peers = get(rule, peers_key)
    if peers is UNKNOWN:
        return None
    if not peers:
        return f"has no {peers_key!r} peers, so it matches every pod of every namespace (and beyond)"
    for peer in known_dicts(rule, peers_key):
        if all(get(peer, field) is None for field in _PEER_FIELDS):
            return "has an empty peer, which matches every pod of every namespace"
        selector = get(peer, "namespaceSelector")
        if selector is not None and is_empty_selector(selector) is True:
            return "has an empty namespaceSelector, which matches every namespace"
    return None


def _check_open_policy(found: KubeObject) -> Iterator[str]:
    for direction, peers_key, verb in (("ingress", "from", "admits"), ("egress", "to", "allows")):
        rules = get(found.props, "spec", direction)
        if rules is UNKNOWN:
            continue
        for index, rule in enumerate(known_dicts(found.props, "spec", direction)):
            if (why := _open_peers(rule, peers_key)) is not None:
                yield (
                    f"{found.describe()} {direction} rule {index} {why}: it {verb} traffic across every namespace "
                    "border; list the allowed namespaces by kubernetes.io/metadata.name (and pods by label)"
                )


def _check_cross_namespace(found: KubeObject, config: Config) -> Iterator[str]:
    trusted = set(config.get("trustedNamespaces", ()))
    if found.kind in ("RoleBinding", "ClusterRoleBinding"):
        yield from _check_binding(found, trusted)
    elif found.kind == "Service":
        yield from _check_external_name(found, trusted, str(config.get("clusterDomain", "cluster.local")))
    elif found.kind == "NetworkPolicy" and found.namespace is not UNKNOWN:
        yield from _check_open_policy(found)


DEFAULT_NAMESPACE = Rule(
    name="no-default-namespace",
    description=(
        "Namespaced objects name their namespace and it is not `default` (an object without one, under a "
        "provider without a default namespace, lands in the kubeconfig context's namespace)."
    ),
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Set metadata.namespace to the environment's namespace (or give the provider a namespace).",
    settings=(
        Setting(
            "clusterScopedKinds",
            "Custom resource kinds that are cluster-scoped (built-in kinds and kinds named Cluster* are known).",
            [],
        ),
    ),
    tags=("namespaces", "isolation"),
)

CROSS_NAMESPACE = Rule(
    name="no-cross-namespace-access",
    description=(
        "No object silently opens a namespace to others: RoleBindings to other namespaces' service accounts, "
        "ClusterRoleBindings to workload service accounts, grants to every authenticated identity, ExternalName "
        "aliases into other namespaces, NetworkPolicies admitting every namespace."
    ),
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps=(
        "Bind only identities of the same namespace, scope roles with RoleBindings, route through the "
        "Gateway with a ReferenceGrant, and select allowed namespaces by name."
    ),
    settings=(
        *EXEMPTIONS,
        TRUSTED_NAMESPACES,
        Setting("clusterDomain", "The cluster's DNS domain.", "cluster.local", "string", None),
    ),
    tags=("namespaces", "isolation", "rbac"),
)


def policies() -> list[ResourceValidationPolicy]:
    return [
        resource_policy(DEFAULT_NAMESPACE, kube_rule(None, _check_default_namespace)),
        resource_policy(
            CROSS_NAMESPACE,
            kube_rule(("RoleBinding", "ClusterRoleBinding", "Service", "NetworkPolicy"), _check_cross_namespace),
        ),
    ]
