"""Blue/Green: two complete Deployments, one per colour, and a Service selector that
moves all traffic from one to the other at once.

Waves:
0. The active colour `{app}-{active}`, rolled out and healthy. Its traffic annotation
   (weight 100) changes whenever it becomes active, so Pulumi awaits its health before
   the switch even when its image and size did not change (a rollback).
1. The Service `{app}` switches its selector to the active colour.
2. The idle colour, scaled to `idleReplicas` only now that no traffic reaches it.
3. The preview Service `{app}-preview` on the idle colour: test the next version in
   production before switching.

Promotion is one config change (`active`); rollback is the same change back, instant
while the old colour still runs (idleReplicas unset keeps it at full size). To free the
capacity later, set idleReplicas to 0 in a second change once the new colour has
proven itself. Logical names are per colour, never per role, so a switch updates
objects in place."""

from __future__ import annotations

from typing import Any

import pulumi_kubernetes as k8s

from ..config import BlueGreenStrategy, parse_image
from .builder import Builder
from .pod import Track, name_of
from .rollout import ZERO_DOWNTIME_ROLLOUT


def deploy_blue_green(build: Builder, strategy: BlueGreenStrategy) -> tuple[k8s.core.v1.Service, dict[str, Any]]:
    app = build.app
    active: Track = strategy.active
    idle: Track = "green" if active == "blue" else "blue"
    images = {"blue": parse_image(strategy.blue.image), "green": parse_image(strategy.green.image)}
    idle_replicas = app.replicas if strategy.idle_replicas is None else strategy.idle_replicas

    build.deployment(
        active, wave=0, image=images[active], replicas=app.replicas, strategy=ZERO_DOWNTIME_ROLLOUT, traffic_weight=100
    )
    stable = build.service("service", app.name, active, wave=1)
    build.deployment(
        idle, wave=2, image=images[idle], replicas=idle_replicas, strategy=ZERO_DOWNTIME_ROLLOUT, traffic_weight=0
    )
    preview = build.service("preview", f"{app.name}-preview", idle, wave=3)
    return stable, {"activeColour": active, "previewServiceName": name_of(preview)}
