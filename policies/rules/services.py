"""Service exposure: traffic enters through the platform's Gateway, not through
per-Service load balancers, node ports or external IPs."""

from __future__ import annotations

from collections.abc import Iterator

from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, Severity

from .framework import Config, Rule, Setting, resource_policy
from .kube import EXEMPTIONS, KubeObject, kube_rule
from .props import UNKNOWN, items, string_map, text

# Annotations that make GKE provision an internal (VPC-only) passthrough load balancer.
INTERNAL_LB_ANNOTATIONS = {
    "networking.gke.io/load-balancer-type": "internal",
    "cloud.google.com/load-balancer-type": "internal",
}


def _internal(found: KubeObject) -> bool:
    annotations = string_map(found.props, "metadata", "annotations")
    if annotations is UNKNOWN:
        return True  # cannot tell: do not report
    return any(annotations.get(key, "").lower() == value for key, value in INTERNAL_LB_ANNOTATIONS.items())


def _check_exposure(found: KubeObject, config: Config) -> Iterator[str]:
    service_type = text(found.props, "spec", "type")
    external_ips = items(found.props, "spec", "externalIPs")
    if external_ips is not UNKNOWN and external_ips:
        yield (
            f"{found.describe()} sets externalIPs: any pod allowed to create Services can intercept traffic to "
            "those addresses (CVE-2020-8554)"
        )
    internal_allowed = _internal(found) and config.get("allowInternalLoadBalancer")
    if service_type == "LoadBalancer" and not (config.get("allowLoadBalancer") or internal_allowed):
        yield (
            f"{found.describe()} is a public LoadBalancer: it bypasses the Gateway's TLS, routing and "
            "policies; expose it with an HTTPRoute (or an internal load balancer)"
        )
    if service_type == "NodePort" and not config.get("allowNodePort"):
        yield (
            f"{found.describe()} is a NodePort: every node opens the port to the VPC; use ClusterIP behind the Gateway"
        )


EXPOSURE = Rule(
    name="service-exposure",
    description=(
        "Services stay ClusterIP: no public LoadBalancer or NodePort unless the stack allows it, and never externalIPs."
    ),
    enforcement=EnforcementLevel.MANDATORY,
    severity=Severity.HIGH,
    remediation_steps="Use a ClusterIP Service and route to it through the platform Gateway (HTTPRoute).",
    settings=(
        *EXEMPTIONS,
        Setting("allowLoadBalancer", "Allow Services of type LoadBalancer (public).", False, "boolean", None),
        Setting(
            "allowInternalLoadBalancer",
            "Allow LoadBalancer Services annotated as GKE internal load balancers (VPC-only).",
            True,
            "boolean",
            None,
        ),
        Setting("allowNodePort", "Allow Services of type NodePort.", False, "boolean", None),
    ),
    tags=("network", "exposure"),
)


def policies() -> list[ResourceValidationPolicy]:
    return [resource_policy(EXPOSURE, kube_rule(("Service",), _check_exposure))]
