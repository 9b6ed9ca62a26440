"""RollingUpdate: pods are replaced a few at a time, old and new versions serving side
by side meanwhile. The default strategy."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, RollingStrategy, parse_image
from ..config.workloads import Autoscaling
from .base import AppWorkload, expect_strategy
from .pod import STABLE, app_labels, name_of, selector_labels


class RollingApp(AppWorkload):
    """A Deployment with maxSurge/maxUnavailable, a ClusterIP Service, a
    PodDisruptionBudget (unless minAvailable is null) and, with `strategy.autoscaling`,
    an autoscaling/v2 HorizontalPodAutoscaler that then owns the replica count (the
    Deployment leaves `replicas` out, so a `pulumi up` never resets what it scaled to)."""

    disruption_budget_name: pulumi.Output[str] | None
    autoscaler_name: pulumi.Output[str] | None

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
            "delivery-platform:workloads:RollingApp",
            name,
            app,
            namespace=namespace,
            pull_secret=pull_secret,
            opts=opts,
        )
        strategy = expect_strategy(app, RollingStrategy)
        assert app.image is not None  # AppConfig requires it for this strategy
        deployment = self._deployment(
            "deployment",
            app.name,
            STABLE,
            image=parse_image(app.image),
            replicas=None if strategy.autoscaling else app.replicas,
            strategy={
                "type": "RollingUpdate",
                "rolling_update": {"max_surge": strategy.max_surge, "max_unavailable": strategy.max_unavailable},
            },
            min_ready_seconds=strategy.min_ready_seconds,
        )
        service = self._service("service", app.name, STABLE)

        self.disruption_budget_name = None
        if strategy.min_available is not None:
            budget = k8s.policy.v1.PodDisruptionBudget(
                f"{name}-pdb",
                metadata=self._meta(app.name, app_labels(app)),
                spec={
                    "selector": {"match_labels": selector_labels(app, STABLE)},
                    "min_available": strategy.min_available,
                    # Pods that are not Ready protect nothing; letting them be evicted
                    # keeps a crash-looping app from blocking every node drain.
                    "unhealthy_pod_eviction_policy": "AlwaysAllow",
                },
                opts=self._child(),
            )
            self.disruption_budget_name = name_of(budget)

        self.autoscaler_name = None
        if strategy.autoscaling is not None:
            self.autoscaler_name = name_of(self._autoscaler(strategy.autoscaling, deployment))

        self._finish(
            service,
            disruptionBudgetName=self.disruption_budget_name,
            autoscalerName=self.autoscaler_name,
        )

    def _autoscaler(
        self, autoscaling: Autoscaling, deployment: k8s.apps.v1.Deployment
    ) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
        return k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{self._name}-hpa",
            metadata=self._meta(self._app.name, app_labels(self._app)),
            spec={
                "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": name_of(deployment)},
                "min_replicas": autoscaling.min_replicas,
                "max_replicas": autoscaling.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "average_utilization": autoscaling.target_cpu_utilization,
                            },
                        },
                    }
                ],
            },
            opts=self._child(),
        )
