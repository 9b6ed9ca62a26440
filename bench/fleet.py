"""A synthetic fleet: N apps spread over three environments, cycling through the four
strategies and their common variants, as the raw stack config a stack file would hold
(keys without the `delivery-platform:` prefix).

The cluster is `render` and Jenkins and Argo CD are off, so the fleet runs through the
real engine offline (no GCP or random plugins) and every object is an app workload or
an environment's namespace furniture - the part of the platform that grows with N."""

from __future__ import annotations

from typing import Any

ENVIRONMENTS = ("test", "uat", "prod")
STRATEGIES = ("recreate", "rolling", "blue-green", "canary")
STACK = "bench"
REGISTRY = "registry.example.com/fleet"


def _image(index: int, build: int) -> str:
    return f"{REGISTRY}/svc-{index:04d}:1.{build}.0-b{index * 10 + build}"


def _strategy(kind: str, index: int, variant: int) -> dict[str, Any]:
    """`variant` (0 or 1) alternates the optional parts of each strategy, so both
    paths of every component are in the fleet."""
    if kind == "recreate":
        strategy: dict[str, Any] = {"type": "recreate"}
        if variant == 0:
            strategy["migration"] = {"command": ["/app/migrate", "--to", "latest"]}
        return strategy
    if kind == "rolling":
        strategy = {"type": "rolling", "maxSurge": 1, "maxUnavailable": 0, "minReadySeconds": 5}
        if variant == 1:
            strategy["autoscaling"] = {"minReplicas": 2, "maxReplicas": 8}
        return strategy
    if kind == "blue-green":
        return {
            "type": "blue-green",
            "active": ("blue", "green")[variant],
            "blue": {"image": _image(index, 1)},
            "green": {"image": _image(index, 2)},
        }
    return {
        "type": "canary",
        "canaryImage": _image(index, 2),
        "weight": 10,
        "steps": [10, 25, 50, 100],
        "hostnames": [f"svc-{index:04d}.example.com"],
        "match": {"headers": [{"name": "x-canary", "value": "always"}], "cookie": "canary"} if variant else {},
    }


def fleet_app(index: int) -> dict[str, Any]:
    """App `index`: strategy by index mod 4, environment by index mod 3 (so every
    environment gets every strategy), variant by which round of four it is in."""
    kind = STRATEGIES[index % len(STRATEGIES)]
    variant = (index // len(STRATEGIES)) % 2
    app: dict[str, Any] = {
        "name": f"svc-{index:04d}",
        "environment": ENVIRONMENTS[index % len(ENVIRONMENTS)],
        "strategy": _strategy(kind, index, variant),
        "env": [{"name": "LOG_LEVEL", "value": "info"}],
    }
    if kind != "blue-green":
        app["image"] = _image(index, 1)
    if not (kind == "rolling" and variant == 1):  # the autoscaler owns the count
        app["replicas"] = 3
    return app


def fleet(n: int) -> dict[str, Any]:
    """The stack config of an n-app fleet."""
    return {
        "cluster": {"kind": "render", "outputDir": "build/manifests"},
        # Canary routes are served by the Gateway in the `gateway` namespace.
        "environments": [{"name": name, "allowFromNamespaces": ["gateway"]} for name in ENVIRONMENTS],
        "jenkins": {"enabled": False},
        "argocd": {"enabled": False},
        "apps": [fleet_app(index) for index in range(n)],
    }


def stack_file(n: int) -> dict[str, Any]:
    """Pulumi.<stack>.yaml content for the fleet (keys with the project prefix)."""
    return {"config": {f"delivery-platform:{key}": value for key, value in fleet(n).items()}}
