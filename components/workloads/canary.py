"""Canary: the next version runs beside the stable one and gets a weighted share of the
requests, or only the requests that match a header or cookie rule.

Objects: the stable Deployment and Service `{app}`, the canary Deployment and Service
`{app}-canary` (only while `canaryImage` is set), and the routing:

- router `gateway-api` (default): one HTTPRoute (gateway.networking.k8s.io/v1)
  attached to `strategy.gateway`. A first rule sends every request matching a header
  or the cookie to the canary; the catch-all rule splits the rest with backendRef
  weights `100 - weight` (stable) and `weight` (canary). The Gateway (owned by the
  platform team) must admit routes from the app's namespace (listener
  allowedRoutes). On GKE the Gateway's gatewayClassName picks the load balancer:
  gke-l7-global-external-managed (global external Application LB),
  gke-l7-regional-external-managed (regional external), gke-l7-rilb (regional
  internal), gke-l7-gxlb (classic global external). Header matches of type
  RegularExpression, which the cookie rule uses, are implementation-specific in the
  Gateway API: check the gateway implementation supports them.
- router `ingress-nginx` (legacy): a stable Ingress and a canary Ingress carrying
  `nginx.ingress.kubernetes.io/canary`, `canary-weight`, `canary-by-header[-value|
  -pattern]` and `canary-by-cookie`. The ingress-nginx project was retired in March
  2026: no further releases, bug fixes or security patches. Prefer `gateway-api`.

A/B tests and user- or language-based routing are the same match rules: send the
cohort's header (e.g. `x-ab-group: b`, `accept-language` by regular expression) or
cookie to the canary, with or without a weight.

The route depends on both Deployments, which pulumi-kubernetes awaits until Ready, so
traffic never shifts to pods that cannot serve yet (a cold canary is warmed up by the
match rules or a small first step). Promotion: set `image` to the canary image and
`weight` to 0 - the stable Deployment rolls to it - then remove `canaryImage`.
Rollback: `weight: 0` (match rules still reach the canary) or remove `canaryImage`."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, CanaryStrategy, parse_image
from .base import ZERO_DOWNTIME_ROLLOUT, AppWorkload, expect_strategy
from .pod import CANARY, HTTP_PORT, STABLE, app_labels, name_of

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
NGINX_ANNOTATION = "nginx.ingress.kubernetes.io"
# The value a canary cookie must have, as ingress-nginx's canary-by-cookie defines it.
COOKIE_ALWAYS = "always"


def backend_weights(weight: int) -> tuple[int, int]:
    """(stable, canary) shares of the requests no match rule claims."""
    return 100 - weight, weight


def _object_names(app: AppConfig) -> tuple[str, str]:
    return app.name, f"{app.name}-canary"


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


class CanaryApp(AppWorkload):
    """Stable and canary Deployments and Services, routed by an HTTPRoute (or, legacy,
    a pair of ingress-nginx Ingresses)."""

    canary_service_name: pulumi.Output[str] | None
    route_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        app: AppConfig,
        *,
        namespace: pulumi.Input[str],
        pull_secret: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "delivery-platform:workloads:CanaryApp",
            name,
            app,
            namespace=namespace,
            pull_secret=pull_secret,
            opts=opts,
        )
        strategy = expect_strategy(app, CanaryStrategy)
        assert app.image is not None  # AppConfig requires it for this strategy
        stable_name, canary_name = _object_names(app)

        stable_deployment = self._deployment(
            "deployment",
            stable_name,
            STABLE,
            image=parse_image(app.image),
            replicas=app.replicas,
            strategy=ZERO_DOWNTIME_ROLLOUT,
        )
        stable = self._service("service", stable_name, STABLE)
        backends: list[pulumi.Resource] = [stable_deployment, stable]

        canary: k8s.core.v1.Service | None = None
        if strategy.canary_image is not None:
            canary_deployment = self._deployment(
                "canary",
                canary_name,
                CANARY,
                image=parse_image(strategy.canary_image),
                replicas=strategy.canary_replicas,
                strategy=ZERO_DOWNTIME_ROLLOUT,
            )
            canary = self._service("canary-service", canary_name, CANARY)
            backends += [canary_deployment, canary]
        self.canary_service_name = name_of(canary) if canary is not None else None

        if strategy.router == "gateway-api":
            route = k8s.apiextensions.CustomResource(
                f"{name}-route",
                api_version=f"{GATEWAY_API_GROUP}/v1",
                kind="HTTPRoute",
                metadata=self._meta(stable_name, app_labels(app)),
                spec=http_route_spec(app, strategy),
                opts=self._child(depends_on=backends),
            )
            # The name is fixed; taking it through the id makes users wait for the route.
            self.route_name = route.id.apply(lambda _: stable_name)
        else:
            stable_ingress = self._ingress("ingress", stable_name, stable_name, strategy, depends_on=backends[:2])
            self.route_name = name_of(stable_ingress)
            if strategy.canary_image is not None:
                self._ingress(
                    "canary-ingress",
                    canary_name,
                    canary_name,
                    strategy,
                    annotations=nginx_canary_annotations(strategy),
                    depends_on=backends,
                )
        self._finish(
            stable,
            canaryServiceName=self.canary_service_name,
            routeName=self.route_name,
            canaryWeight=strategy.weight if strategy.canary_image is not None else 0,
        )

    def _ingress(
        self,
        suffix: str,
        object_name: str,
        service: str,
        strategy: CanaryStrategy,
        *,
        annotations: dict[str, str] | None = None,
        depends_on: list[pulumi.Resource],
    ) -> k8s.networking.v1.Ingress:
        paths: list[k8s.networking.v1.HTTPIngressPathArgsDict] = [
            {
                "path": "/",
                "path_type": "Prefix",
                "backend": {"service": {"name": service, "port": {"name": HTTP_PORT}}},
            }
        ]
        rules: list[k8s.networking.v1.IngressRuleArgsDict] = [
            {"host": host, "http": {"paths": paths}} for host in strategy.hostnames
        ] or [{"http": {"paths": paths}}]
        return k8s.networking.v1.Ingress(
            f"{self._name}-{suffix}",
            metadata=self._meta(object_name, app_labels(self._app), dict(annotations or {})),
            spec={"ingress_class_name": strategy.ingress_class_name, "rules": rules},
            opts=self._child(depends_on=depends_on),
        )
