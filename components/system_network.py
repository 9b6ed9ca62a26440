"""NetworkPolicies of the platform's own namespaces (CI, CD): deny everything, then allow
exactly the traffic each system needs. Kubernetes NetworkPolicies cannot name the API
server or a Git host, so egress beyond the cluster is allowed by port to the address
ranges the stack config lists (`egressCidrs`, everywhere by default)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .config.workloads import GKE_DNS_RESOLVERS
from .environment import DNS_PORT, NAMESPACE_NAME_LABEL

EVERY_POD: dict[str, Any] = {}
HTTPS_PORT = 443
SSH_PORT = 22
# kube-apiserver's port outside GKE (kubeadm, kind, the e2e control plane).
API_SERVER_PORT = 6443
# The GKE metadata server: Workload Identity tokens (80 on the link-local address; the
# Dataplane V2 path to it is 988 on .252).
GKE_METADATA = (("169.254.169.254/32", 80), ("169.254.169.252/32", 988))


def tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def pods(labels: Mapping[str, str]) -> dict[str, Any]:
    return {"match_labels": dict(labels)}


def pods_named(label: str, values: Sequence[str]) -> dict[str, Any]:
    return {"match_expressions": [{"key": label, "operator": "In", "values": list(values)}]}


def in_namespace(namespace: str, selector: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A peer: pods (all, or those `selector` picks) of one namespace, chosen by name."""
    peer: dict[str, Any] = {"namespace_selector": {"match_labels": {NAMESPACE_NAME_LABEL: namespace}}}
    if selector is not None:
        peer["pod_selector"] = dict(selector)
    return peer


def default_deny() -> dict[str, Any]:
    return {"pod_selector": EVERY_POD, "policy_types": ["Ingress", "Egress"]}


def same_namespace() -> dict[str, Any]:
    return {
        "pod_selector": EVERY_POD,
        "policy_types": ["Ingress", "Egress"],
        "ingress": [{"from_": [{"pod_selector": EVERY_POD}]}],
        "egress": [{"to": [{"pod_selector": EVERY_POD}]}],
    }


def dns() -> dict[str, Any]:
    peers: list[dict[str, Any]] = [in_namespace("kube-system", pods({"k8s-app": "kube-dns"}))]
    peers += [{"ip_block": {"cidr": cidr}} for cidr in GKE_DNS_RESOLVERS]
    return {
        "pod_selector": EVERY_POD,
        "policy_types": ["Egress"],
        "egress": [{"to": peers, "ports": [{"protocol": "UDP", "port": DNS_PORT}, *tcp(DNS_PORT)]}],
    }


def egress_to_cidrs(selector: Mapping[str, Any], cidrs: Sequence[str], ports: Sequence[int]) -> dict[str, Any]:
    return {
        "pod_selector": dict(selector),
        "policy_types": ["Egress"],
        "egress": [{"to": [{"ip_block": {"cidr": cidr}} for cidr in cidrs], "ports": tcp(*ports)}],
    }


def gke_metadata(selector: Mapping[str, Any]) -> dict[str, Any]:
    """Workload Identity: the pods fetch Google credentials from the metadata server."""
    return {
        "pod_selector": dict(selector),
        "policy_types": ["Egress"],
        "egress": [{"to": [{"ip_block": {"cidr": cidr}}], "ports": tcp(port)} for cidr, port in GKE_METADATA],
    }


def ingress_from(
    selector: Mapping[str, Any], peers: Sequence[Mapping[str, Any]], ports: Sequence[int]
) -> dict[str, Any]:
    return {
        "pod_selector": dict(selector),
        "policy_types": ["Ingress"],
        "ingress": [{"from_": [dict(peer) for peer in peers], "ports": tcp(*ports)}],
    }


def egress_to(selector: Mapping[str, Any], peers: Sequence[Mapping[str, Any]], ports: Sequence[int]) -> dict[str, Any]:
    return {
        "pod_selector": dict(selector),
        "policy_types": ["Egress"],
        "egress": [{"to": [dict(peer) for peer in peers], "ports": tcp(*ports)}],
    }


def network_policies(
    resource_prefix: str,
    namespace: pulumi.Input[str],
    policies: Mapping[str, Mapping[str, Any]],
    labels: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> list[k8s.networking.v1.NetworkPolicy]:
    """One NetworkPolicy per entry of `policies` (object name -> spec) in `namespace`."""
    return [
        k8s.networking.v1.NetworkPolicy(
            f"{resource_prefix}-{name}",
            metadata={"name": name, "namespace": namespace, "labels": dict(labels)},
            spec=dict(spec),
            opts=opts,
        )
        for name, spec in policies.items()
    ]
