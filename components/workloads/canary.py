"""Canary: the next version runs beside the stable one and gets a weighted share of the
requests, or only the requests that match a header or cookie rule.

Objects: the stable Deployment and Service `{app}`, the canary Deployment and Service
`{app}-canary` (only while `canaryImage` is set), and the routing:

- router `gateway-api` (default): one HTTPRoute (gateway.networking.k8s.io/v1)
  attached to `strategy.gateway`. A first rule sends every request matching a header
  or the cookie to the canary; the catch-all rule splits the rest with backendRef
  weights `100 - weight` (stable) and `weight` (canary). The Gateway (owned by the
  platform team) must admit routes from the app's namespace (listener
  allowedRoutes), and the namespace must admit the Gateway's traffic (a config rule
  checks allowFromNamespaces / allowFromCidrs). On GKE the Gateway's gatewayClassName
  picks the load balancer: gke-l7-global-external-managed (global external
  Application LB), gke-l7-regional-external-managed (regional external), gke-l7-rilb
  (regional internal), gke-l7-gxlb (classic global external). Header matches of type
  RegularExpression, which the cookie rule uses, are implementation-specific in the
  Gateway API: check the gateway implementation supports them.
- router `ingress-nginx` (legacy): a stable Ingress and a canary Ingress carrying
  `nginx.ingress.kubernetes.io/canary`, `canary-weight`, `canary-by-header[-value|
  -pattern]` and `canary-by-cookie`. The ingress-nginx project was retired in March
  2026: no further releases, bug fixes or security patches. Prefer `gateway-api`.

A/B tests and user- or language-based routing are the same match rules: send the
cohort's header (e.g. `x-ab-group: b`, `accept-language` by regular expression) or
cookie to the canary, with or without a weight.

Waves:
0. Both Deployments, each sized for its share (the canary runs at least
   `weight`% of apps[].replicas, so at 100 it carries what the stable track did) and
   carrying the traffic it is about to get (weight and a digest of the match rules):
   a weight step or a rule change alone makes Pulumi await both tracks' health.
1. Their Services.
2. The route (or Ingresses), which moves the traffic.

Promotion: step `weight` up to 100, then set `image` to the canary image and `weight`
to 0 - the stable Deployment rolls to it before the route moves traffic back - then
remove `canaryImage`: the route drops the canary before its Deployment is deleted.
Rollback: `weight: 0` (match rules still reach the canary) or remove `canaryImage`."""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, CanaryStrategy, parse_image
from .builder import Builder, object_name
from .pod import CANARY, HTTP_PORT, STABLE, app_labels, name_of
from .rollout import ZERO_DOWNTIME_ROLLOUT

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
NGINX_ANNOTATION = "nginx.ingress.kubernetes.io"
# The routing moves traffic only once both tracks (wave 0) and their Services (wave 1)
# are in place and healthy.
ROUTE_WAVE = 2
# The value a canary cookie must have, as ingress-nginx's canary-by-cookie defines it.
COOKIE_ALWAYS = "always"


def backend_weights(weight: int) -> tuple[int, int]:
    """(stable, canary) shares of the requests no match rule claims."""
    return 100 - weight, weight


def canary_replicas(app: AppConfig, strategy: CanaryStrategy) -> int:
    """At least the canary's share of the app's replicas, and at least canaryReplicas."""
    return max(strategy.canary_replicas, math.ceil(app.replicas * strategy.weight / 100))


def match_rules_digest(strategy: CanaryStrategy) -> str:
    """Stands for the match rules in the canary's traffic annotation: new rules, new digest."""
    rules = strategy.match.model_dump(mode="json", by_alias=True)
    return hashlib.sha256(json.dumps(rules, sort_keys=True).encode()).hexdigest()[:10]


def _object_names(app: AppConfig) -> tuple[str, str]:
    return object_name(app, STABLE), object_name(app, CANARY)


def http_route_spec(app: AppConfig, strategy: CanaryStrategy) -> dict[str, Any]:
    """The HTTPRoute spec (Gateway API field names, as the API server expects them)."""
    stable_name, canary_name = _object_names(app)
    gateway = strategy.gateway
    parent: dict[str, Any] = {
        "group": GATEWAY_API_GROUP,
        "kind": "Gateway",
        "name": gateway.name,
        "namespace": gateway.namespace,
    }
    if gateway.section_name:
        parent["sectionName"] = gateway.section_name

    def backend(service: str, weight: int | None = None) -> dict[str, Any]:
        ref: dict[str, Any] = {"group": "", "kind": "Service", "name": service, "port": app.service_port}
        if weight is not None:
            ref["weight"] = weight
        return ref

    every_path = {"type": "PathPrefix", "value": "/"}
    rules: list[dict[str, Any]] = []
    if strategy.canary_image is None:
        rules.append({"matches": [{"path": every_path}], "backendRefs": [backend(stable_name)]})
    else:
        headers = [{"type": h.type, "name": h.name, "value": h.value} for h in strategy.match.headers]
        if strategy.match.cookie:
            headers.append(
                {
                    "type": "RegularExpression",
                    "name": "Cookie",
                    "value": rf"(^|;\s*){re.escape(strategy.match.cookie)}={COOKIE_ALWAYS}(;|$)",
                }
            )
        if headers:
            # One match per header: any of them sends the request to the canary.
            matches = [{"path": every_path, "headers": [header]} for header in headers]
            rules.append({"matches": matches, "backendRefs": [backend(canary_name)]})
        stable_weight, canary_weight = backend_weights(strategy.weight)
        rules.append(
            {
                "matches": [{"path": every_path}],
                "backendRefs": [backend(stable_name, stable_weight), backend(canary_name, canary_weight)],
            }
        )
    spec: dict[str, Any] = {"parentRefs": [parent], "rules": rules}
    if strategy.hostnames:
        spec["hostnames"] = list(strategy.hostnames)
    return spec


def nginx_canary_annotations(strategy: CanaryStrategy) -> dict[str, str]:
    annotations = {
        f"{NGINX_ANNOTATION}/canary": "true",
        f"{NGINX_ANNOTATION}/canary-weight": str(strategy.weight),
    }
    for header in strategy.match.headers:  # at most one (config rule)
        annotations[f"{NGINX_ANNOTATION}/canary-by-header"] = header.name
        value_kind = "value" if header.type == "Exact" else "pattern"
        annotations[f"{NGINX_ANNOTATION}/canary-by-header-{value_kind}"] = header.value
    if strategy.match.cookie:
        annotations[f"{NGINX_ANNOTATION}/canary-by-cookie"] = strategy.match.cookie
    return annotations


def deploy_canary(build: Builder, strategy: CanaryStrategy) -> tuple[k8s.core.v1.Service, dict[str, Any]]:
    app = build.app
    assert app.image is not None  # AppConfig requires it for this strategy
    stable_name, canary_name = _object_names(app)
    running_canary = strategy.canary_image is not None
    stable_weight, canary_weight = backend_weights(strategy.weight if running_canary else 0)

    build.deployment(
        STABLE,
        wave=0,
        image=parse_image(app.image),
        replicas=app.replicas,
        strategy=ZERO_DOWNTIME_ROLLOUT,
        traffic_weight=stable_weight,
    )
    if strategy.canary_image is not None:
        build.deployment(
            CANARY,
            wave=0,
            image=parse_image(strategy.canary_image),
            replicas=canary_replicas(app, strategy),
            strategy=ZERO_DOWNTIME_ROLLOUT,
            traffic_weight=canary_weight,
            traffic_rules=match_rules_digest(strategy),
        )
    stable = build.service("service", stable_name, STABLE, wave=1)
    canary_service = build.service("canary-service", canary_name, CANARY, wave=1) if running_canary else None

    route_name: pulumi.Output[str]
    if strategy.router == "gateway-api":
        route = build.add(
            ROUTE_WAVE,
            lambda opts: k8s.apiextensions.CustomResource(
                f"{build.name}-route",
                api_version=f"{GATEWAY_API_GROUP}/v1",
                kind="HTTPRoute",
                metadata=build.meta(stable_name, app_labels(app), wave=ROUTE_WAVE),
                spec=http_route_spec(app, strategy),
                opts=opts,
            ),
        )
        # The name is fixed; taking it through the id makes users wait for the route.
        route_name = route.id.apply(lambda _: stable_name)
    else:
        route_name = name_of(_ingress(build, "ingress", stable_name, strategy))
        if running_canary:
            _ingress(build, "canary-ingress", canary_name, strategy, nginx_canary_annotations(strategy))
    return stable, {
        "canaryServiceName": name_of(canary_service) if canary_service is not None else None,
        "routeName": route_name,
        "canaryWeight": canary_weight,
    }


def _ingress(
    build: Builder, suffix: str, service: str, strategy: CanaryStrategy, annotations: dict[str, str] | None = None
) -> k8s.networking.v1.Ingress:
    paths: list[k8s.networking.v1.HTTPIngressPathArgsDict] = [
        {"path": "/", "path_type": "Prefix", "backend": {"service": {"name": service, "port": {"name": HTTP_PORT}}}}
    ]
    rules: list[k8s.networking.v1.IngressRuleArgsDict] = [
        {"host": host, "http": {"paths": paths}} for host in strategy.hostnames
    ] or [{"http": {"paths": paths}}]
    return build.add(
        ROUTE_WAVE,
        lambda opts: k8s.networking.v1.Ingress(
            f"{build.name}-{suffix}",
            metadata=build.meta(service, app_labels(build.app), dict(annotations or {}), wave=ROUTE_WAVE),
            spec={"ingress_class_name": strategy.ingress_class_name, "rules": rules},
            opts=opts,
        ),
    )
