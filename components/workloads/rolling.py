"""RollingUpdate: pods are replaced a few at a time, old and new versions serving side
by side meanwhile. The default strategy.

Waves:
0. the Deployment (maxSurge/maxUnavailable, minReadySeconds), rolled out;
1. its Service and, with `strategy.autoscaling`, the HorizontalPodAutoscaler.

With autoscaling the HPA owns the replica count: the Deployment is created with
minReplicas and never sets the count again, so switching autoscaling on keeps the
running pods (the autoscaler takes over from there) and switching it off takes the
count back to apps[].replicas in the same update (README, "Lifecycle operations")."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config import RollingStrategy, parse_image
from .builder import Builder
from .pod import STABLE, name_of
from .rollout import AUTOSCALER_OWNS_REPLICAS, PULUMI_OWNS_REPLICAS


def deploy_rolling(build: Builder, strategy: RollingStrategy) -> tuple[k8s.core.v1.Service, dict[str, Any]]:
    app = build.app
    assert app.image is not None  # AppConfig requires it for this strategy
    autoscaling = strategy.autoscaling
    deployment = build.deployment(
        STABLE,
        wave=0,
        image=parse_image(app.image),
        replicas=app.replicas if autoscaling is None else autoscaling.min_replicas,
        replicas_owner=PULUMI_OWNS_REPLICAS if autoscaling is None else AUTOSCALER_OWNS_REPLICAS,
        strategy={
            "type": "RollingUpdate",
            "rolling_update": {"max_surge": strategy.max_surge, "max_unavailable": strategy.max_unavailable},
        },
        min_ready_seconds=strategy.min_ready_seconds,
    )
    service = build.service("service", app.name, STABLE, wave=1)
    autoscaler_name: pulumi.Output[str] | None = None
    if autoscaling is not None:
        autoscaler_name = name_of(build.autoscaler(autoscaling, deployment, wave=1))
    return service, {"autoscalerName": autoscaler_name}
