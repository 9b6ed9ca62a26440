"""Canary: stable and canary Deployments and Services, a Gateway API HTTPRoute with
weighted backends and header/cookie matches (or the legacy ingress-nginx canary
Ingress pair), and promotion by config."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.config import CanaryStrategy, ConfigError, validate_stack_config
from components.workloads.canary import http_route_spec
from tests.conftest import ProgramRunner
from tests.graph import Graph, Registered
from tests.workload_graph import (
    DEPLOYMENT,
    HTTP_ROUTE,
    INGRESS,
    SERVICE,
    annotations_of,
    container,
    depends_on,
    image,
    obj,
    ours,
    run_stack,
    selected_deployments,
    stack,
)

STABLE = image("storefront", "7.2.0-b903")
CANARY = image("storefront", "7.3.0-b921")
GATEWAY = {"name": "edge", "namespace": "gateway-system", "sectionName": "https"}
NGINX = "nginx.ingress.kubernetes.io"
TRAFFIC = "delivery-platform/traffic-weight"


def storefront(**strategy: Any) -> dict[str, Any]:
    return {
        "name": "storefront",
        "environment": "test",
        "image": STABLE,
        "strategy": {"type": "canary", "canaryImage": CANARY, "weight": 10} | strategy,
    }


def route_of(graph: Graph) -> Registered:
    return obj(graph, HTTP_ROUTE, "storefront")


def weighted_rule(route: Registered) -> dict[str, Any]:
    """The catch-all rule: no header matches."""
    rules: list[dict[str, Any]] = route.input("spec.rules")
    (rule,) = [r for r in rules if not any("headers" in m for m in r.get("matches", []))]
    return rule


def weights(route: Registered) -> dict[str, int]:
    return {ref["name"]: ref["weight"] for ref in weighted_rule(route)["backendRefs"]}


def test_stable_and_canary_each_have_a_deployment_and_a_service_selecting_only_it(run_program: ProgramRunner) -> None:
    graph = run_stack(run_program, stack(storefront(canaryReplicas=2) | {"replicas": 4}))
    stable, canary = obj(graph, DEPLOYMENT, "storefront"), obj(graph, DEPLOYMENT, "storefront-canary")
    assert container(stable)["image"] == STABLE
    assert container(canary)["image"] == CANARY
    assert stable.input("spec.replicas") == 4
    assert canary.input("spec.replicas") == 2
    assert selected_deployments(graph, obj(graph, SERVICE, "storefront")) == [stable]
    assert selected_deployments(graph, obj(graph, SERVICE, "storefront-canary")) == [canary]


def test_route_attaches_to_the_configured_gateway_and_splits_by_weight(run_program: ProgramRunner) -> None:
    app = storefront(weight=25, gateway=GATEWAY, hostnames=["shop.example.com"])
    environments = [{"name": "test", "allowFromNamespaces": [GATEWAY["namespace"]]}]
    graph = run_stack(run_program, stack(app, environments=environments))
    route = route_of(graph)
    assert route.inputs["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route.input("metadata.namespace") == "test"
    assert route.input("spec.parentRefs") == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway"} | GATEWAY,
    ]
    assert route.input("spec.hostnames") == ["shop.example.com"]
    assert weights(route) == {"storefront": 75, "storefront-canary": 25}
    for ref in weighted_rule(route)["backendRefs"]:
        assert (ref["group"], ref["kind"], ref["port"]) == (
            "",
            "Service",
            obj(graph, SERVICE, ref["name"]).input("spec.ports")[0]["port"],
        )
    # Traffic moves only to Deployments pulumi-kubernetes has seen become Ready, behind
    # Services that exist.
    for backend in ours(graph, DEPLOYMENT) + ours(graph, SERVICE):
        assert depends_on(route, backend)


def test_header_and_cookie_matches_send_their_requests_to_the_canary(run_program: ProgramRunner) -> None:
    match = {
        "headers": [
            {"name": "x-user-group", "value": "beta"},
            {"name": "accept-language", "value": "^ko\\b", "type": "RegularExpression"},
        ],
        "cookie": "canary",
    }
    route = route_of(run_stack(run_program, stack(storefront(weight=0, match=match))))
    (rule,) = [r for r in route.input("spec.rules") if any("headers" in m for m in r["matches"])]
    assert [ref["name"] for ref in rule["backendRefs"]] == ["storefront-canary"]
    # One match per header: any single one routes the request (OR, not AND).
    headers = [m["headers"] for m in rule["matches"]]
    assert all(len(h) == 1 for h in headers)
    by_name = {h[0]["name"]: h[0] for h in headers}
    assert by_name["x-user-group"] == {"type": "Exact", "name": "x-user-group", "value": "beta"}
    assert by_name["accept-language"]["type"] == "RegularExpression"
    cookie = re.compile(by_name["Cookie"]["value"])
    assert by_name["Cookie"]["type"] == "RegularExpression"
    assert cookie.search("session=abc; canary=always; theme=dark")
    assert not cookie.search("session=abc; canary=never")
    assert not cookie.search("notcanary=always")
    assert weights(route) == {"storefront": 100, "storefront-canary": 0}


def test_every_weight_splits_all_unmatched_traffic_between_the_two_tracks() -> None:
    """All 101 weights, not a sample: the split always accounts for every request, the
    configured weight is the canary's share, and a larger weight never gives the
    canary less."""
    config = validate_stack_config(stack(storefront()))
    app = config.apps[0]
    assert isinstance(app.strategy, CanaryStrategy)
    shares = []
    for weight in range(101):
        spec = http_route_spec(app, app.strategy.model_copy(update={"weight": weight}))
        (split,) = [rule for rule in spec["rules"] if len(rule["backendRefs"]) == 2]
        by_service = {ref["name"]: ref["weight"] for ref in split["backendRefs"]}
        assert set(by_service) == {"storefront", "storefront-canary"}
        assert by_service["storefront"] + by_service["storefront-canary"] == 100
        assert by_service["storefront-canary"] == weight
        shares.append(by_service["storefront-canary"])
    assert shares == sorted(shares)
    assert (shares[0], shares[-1]) == (0, 100)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weight=st.integers(min_value=0, max_value=100), replicas=st.integers(min_value=1, max_value=40))
def test_the_canary_has_the_capacity_for_its_share(run_program: ProgramRunner, weight: int, replicas: int) -> None:
    """Capacity follows the weight: the canary runs at least its share of the stable
    track's pods (at 100, as many), so it never carries more load per pod than the
    stable track did; the stable track keeps its size for an instant rollback."""
    graph = run_stack(run_program, stack(storefront(weight=weight) | {"replicas": replicas}))
    stable = obj(graph, DEPLOYMENT, "storefront").input("spec.replicas")
    canary = obj(graph, DEPLOYMENT, "storefront-canary").input("spec.replicas")
    assert stable == replicas
    assert canary >= 1
    assert canary * 100 >= weight * replicas
    # ...and not more than one pod above it.
    assert (canary - 1) * 100 < max(weight * replicas, 100)
    assert weights(route_of(graph))["storefront-canary"] == weight


def test_a_weight_step_alone_makes_both_tracks_be_awaited_before_the_route_moves(run_program: ProgramRunner) -> None:
    """Pulumi awaits a Deployment only when it updates it: a weight step changes the
    route, so it must change the Deployments behind it too (their traffic
    annotations), or traffic would shift to a canary nobody checked."""
    match = {"headers": [{"name": "x-canary", "value": "yes"}]}

    def tracks(**strategy: Any) -> tuple[Registered, Registered]:
        graph = run_stack(run_program, stack(storefront(**strategy) | {"replicas": 10}))
        return obj(graph, DEPLOYMENT, "storefront"), obj(graph, DEPLOYMENT, "storefront-canary")

    ten, twenty = tracks(weight=10, match=match), tracks(weight=20, match=match)
    for before, after in zip(ten, twenty, strict=True):
        assert annotations_of(before) != annotations_of(after)
        assert container(before) == container(after)
    assert annotations_of(twenty[0])[TRAFFIC] == "80"
    assert annotations_of(twenty[1])[TRAFFIC] == "20"
    # New match rules alone send new requests to the canary: it is awaited too.
    (_, canary_rules_changed) = tracks(weight=10, match={"headers": [{"name": "x-canary", "value": "no"}]})
    assert annotations_of(canary_rules_changed) != annotations_of(ten[1])
    assert annotations_of(canary_rules_changed)[TRAFFIC] == annotations_of(ten[1])[TRAFFIC]


def test_without_a_canary_image_only_the_stable_track_exists(run_program: ProgramRunner) -> None:
    app = storefront()
    del app["strategy"]["canaryImage"]
    app["strategy"]["weight"] = 0
    graph = run_stack(run_program, stack(app))
    assert [d.input("metadata.name") for d in ours(graph, DEPLOYMENT)] == ["storefront"]
    assert [s.input("metadata.name") for s in ours(graph, SERVICE)] == ["storefront"]
    route = route_of(graph)
    (rule,) = route.input("spec.rules")
    assert [ref["name"] for ref in rule["backendRefs"]] == ["storefront"]
    # The stable track takes all traffic again, awaited before the route drops the
    # canary (whose Deployment Pulumi deletes only after every update).
    stable = obj(graph, DEPLOYMENT, "storefront")
    assert annotations_of(stable)[TRAFFIC] == "100"
    assert depends_on(route, stable)


def test_promotion_makes_the_canary_image_stable_and_takes_its_weight_away(run_program: ProgramRunner) -> None:
    promoted = storefront(weight=0) | {"image": CANARY}
    graph = run_stack(run_program, stack(promoted))
    assert container(obj(graph, DEPLOYMENT, "storefront"))["image"] == CANARY
    assert weights(route_of(graph)) == {"storefront": 100, "storefront-canary": 0}


@pytest.mark.parametrize(
    ("header", "value_annotation"),
    [
        ({"name": "x-canary", "value": "yes"}, "canary-by-header-value"),
        ({"name": "x-canary", "value": "^(yes|y)$", "type": "RegularExpression"}, "canary-by-header-pattern"),
    ],
)
def test_legacy_ingress_nginx_router_uses_a_canary_ingress(
    run_program: ProgramRunner, header: dict[str, str], value_annotation: str
) -> None:
    app = storefront(
        router="ingress-nginx",
        weight=30,
        hostnames=["shop.example.com"],
        ingressClassName="nginx-internal",
        match={"headers": [header], "cookie": "canary"},
    )
    graph = run_stack(run_program, stack(app))
    assert ours(graph, HTTP_ROUTE) == []
    stable, canary = obj(graph, INGRESS, "storefront"), obj(graph, INGRESS, "storefront-canary")
    for ingress, service in ((stable, "storefront"), (canary, "storefront-canary")):
        assert ingress.input("metadata.namespace") == "test"
        assert ingress.input("spec.ingressClassName") == "nginx-internal"
        (rule,) = ingress.input("spec.rules")
        assert rule["host"] == "shop.example.com"
        (path,) = rule["http"]["paths"]
        assert (path["path"], path["pathType"]) == ("/", "Prefix")
        assert path["backend"]["service"]["name"] == service
    assert "annotations" not in stable.inputs["metadata"]
    annotations = canary.input("metadata.annotations")
    assert annotations[f"{NGINX}/canary"] == "true"
    assert annotations[f"{NGINX}/canary-weight"] == "30"
    assert annotations[f"{NGINX}/canary-by-header"] == header["name"]
    assert annotations[f"{NGINX}/{value_annotation}"] == header["value"]
    assert annotations[f"{NGINX}/canary-by-cookie"] == "canary"
    assert depends_on(canary, obj(graph, DEPLOYMENT, "storefront-canary"))


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        pytest.param(
            {"weight": 101}, "delivery-platform:apps[0].strategy.weight: must be <= 100", id="weight-over-100"
        ),
        pytest.param({"weight": -1}, "delivery-platform:apps[0].strategy.weight: must be >= 0", id="negative-weight"),
        pytest.param(
            {"weight": 30, "steps": [10, 25, 50]},
            "delivery-platform:apps[0].strategy.weight: 30 is not one of steps [10, 25, 50]",
            id="weight-off-plan",
        ),
        pytest.param(
            {"canaryImage": None},
            "delivery-platform:apps[0].strategy.canaryImage: is required when weight > 0",
            id="weight-without-canary",
        ),
        pytest.param(
            {"canaryImage": "registry.example.com/shop/storefront:canary"},
            "delivery-platform:apps[0].strategy.canaryImage: 'registry.example.com/shop/storefront:canary' uses the "
            "mutable tag 'canary'",
            id="mutable-canary-tag",
        ),
        pytest.param(
            {
                "router": "ingress-nginx",
                "match": {"headers": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]},
            },
            "delivery-platform:apps[0].strategy.match.headers: ingress-nginx routes a canary on one header only",
            id="nginx-one-header",
        ),
        pytest.param(
            {"match": {"cookie": "bad cookie"}},
            "delivery-platform:apps[0].strategy.match.cookie: 'bad cookie' is not a cookie name",
            id="cookie-name",
        ),
        pytest.param(
            {"hostnames": ["Shop.Example.com"]},
            "delivery-platform:apps[0].strategy.hostnames[0]: 'Shop.Example.com' is not a host name",
            id="hostname",
        ),
        pytest.param(
            {"router": "istio"},
            "delivery-platform:apps[0].strategy.router: must be one of 'gateway-api' or 'ingress-nginx'",
            id="router",
        ),
    ],
)
def test_bad_canary_settings_are_rejected_naming_the_key(strategy: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate_stack_config(stack(storefront(**strategy)))
    assert any(problem.startswith(expected) for problem in caught.value.problems), caught.value.problems
