"""The objects every strategy is made of - Deployments with their disruption budgets,
Services, an autoscaler - created as children of the app's component, in the waves
the strategy gives them (rollout.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, ImageRef
from ..config.workloads import Autoscaling
from .pod import (
    HTTP_PORT,
    STABLE,
    Track,
    app_labels,
    name_of,
    object_meta,
    pod_template,
    selector_labels,
    serving_labels,
)
from .rollout import (
    AUTOSCALER_OWNS_REPLICAS,
    PATCH_FORCE,
    PULUMI_ANNOTATION_PREFIX,
    PULUMI_OWNS_REPLICAS,
    REPLICAS_OWNER,
    ROLLED_OUT,
    SYNC_WAVE,
    TRAFFIC_RULES,
    TRAFFIC_WEIGHT,
    WAIT_FOR,
    Ordering,
    ResourceT,
    Waves,
)


def object_name(app: AppConfig, track: Track) -> str:
    """The Deployment (and disruption budget) of a track: `{app}` for the stable track,
    `{app}-{track}` for the others. Whatever the strategy, the stable track's objects
    have the same name and logical name, so a strategy change updates them in place."""
    return app.name if track == STABLE else f"{app.name}-{track}"


class Builder:
    """Creates one app's objects under its component: every object is parented to the
    component (so it inherits the caller's provider), named `<component name>-<suffix>`,
    placed in the environment's namespace explicitly, and ordered by its wave."""

    def __init__(
        self,
        component: pulumi.ComponentResource,
        name: str,
        app: AppConfig,
        namespace: pulumi.Input[str],
        service_account: pulumi.Output[str],
        *,
        ordering: Ordering,
    ) -> None:
        self.component = component
        self.ordering = ordering
        self.name = name
        self.app = app
        self.namespace = namespace
        self.service_account = service_account
        self.waves = Waves()
        # Object names by track, for the component's outputs.
        self.deployment_names: dict[str, pulumi.Output[str]] = {}
        self.budget_names: dict[str, pulumi.Output[str]] = {}

    def options(self, wave: int, **options: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self.component, depends_on=self.waves.before(wave), **options)

    def meta(
        self,
        name: str,
        labels: dict[str, str],
        annotations: dict[str, pulumi.Input[str]] | None = None,
        *,
        wave: int,
    ) -> k8s.meta.v1.ObjectMetaArgsDict:
        """The object's metadata; rendered for Argo CD, its wave is a sync wave and
        pulumi-kubernetes' annotations are left out."""
        annotations = dict(annotations or {})
        if self.ordering == "argocd":
            annotations = {k: v for k, v in annotations.items() if not k.startswith(PULUMI_ANNOTATION_PREFIX)}
            annotations[SYNC_WAVE] = str(wave)
        return object_meta(name, self.namespace, labels, annotations)

    def deployment(
        self,
        track: Track,
        *,
        wave: int,
        image: ImageRef,
        replicas: int,
        strategy: k8s.apps.v1.DeploymentStrategyArgsDict,
        replicas_owner: str = PULUMI_OWNS_REPLICAS,
        serving_replicas: int | None = None,
        min_ready_seconds: int = 0,
        traffic_weight: int | None = None,
        traffic_rules: str | None = None,
        annotations: dict[str, pulumi.Input[str]] | None = None,
        options: dict[str, Any] | None = None,
    ) -> k8s.apps.v1.Deployment:
        """A Deployment of one track, and its disruption budget when it serves with 2 or
        more pods (`serving_replicas`, by default `replicas`).

        `replicas` is the count it declares. When something else owns the count
        (`replicas_owner`: an autoscaler, the Recreate scale-back), the Deployment is
        created with `replicas` and never changes it afterwards: changes to it are
        ignored, and pulumi-kubernetes then sends the live value while the Deployment
        still owns the field and leaves the field out once the other owner has taken
        it, so neither a reset to the API default (1) nor a field-manager conflict can
        happen. `traffic_weight` and `traffic_rules` are the health-gate annotations
        (rollout.py)."""
        app = self.app
        labels = serving_labels(app, image, track)
        selector = selector_labels(app, track)
        meta_annotations: dict[str, pulumi.Input[str]] = {
            **(annotations or {}),
            WAIT_FOR: ROLLED_OUT,
            PATCH_FORCE: "true",
            REPLICAS_OWNER: replicas_owner,
        }
        if traffic_weight is not None:
            meta_annotations[TRAFFIC_WEIGHT] = str(traffic_weight)
        if traffic_rules is not None:
            meta_annotations[TRAFFIC_RULES] = traffic_rules
        extra = dict(options or {})
        if replicas_owner != PULUMI_OWNS_REPLICAS:
            extra["ignore_changes"] = ["spec.replicas"]
        deployment = self.waves.add(
            wave,
            k8s.apps.v1.Deployment(
                f"{self.name}-{'deployment' if track == STABLE else track}",
                metadata=self.meta(object_name(app, track), labels, meta_annotations, wave=wave),
                spec={
                    # Argo CD applies every field a manifest has on every sync: a count
                    # an autoscaler owns must not be in Git at all.
                    **(
                        {}
                        if self.ordering == "argocd" and replicas_owner == AUTOSCALER_OWNS_REPLICAS
                        else {"replicas": replicas}
                    ),
                    "selector": {"match_labels": selector},
                    "strategy": strategy,
                    "min_ready_seconds": min_ready_seconds,
                    "template": pod_template(app, image, labels, self.service_account, spread_over=selector),
                },
                opts=self.options(wave, **extra),
            ),
        )
        self.deployment_names[track] = name_of(deployment)
        serving = replicas if serving_replicas is None else serving_replicas
        if app.max_unavailable is not None and serving >= 2:
            self._budget(track, wave)
        return deployment

    def _budget(self, track: Track, wave: int) -> None:
        """At most maxUnavailable of the track's pods evicted at once (node drains, GKE
        upgrades): a count that never blocks a drain outright, whatever the replicas."""
        app = self.app
        budget = self.waves.add(
            wave,
            k8s.policy.v1.PodDisruptionBudget(
                f"{self.name}-pdb" if track == STABLE else f"{self.name}-{track}-pdb",
                metadata=self.meta(object_name(app, track), app_labels(app), wave=wave),
                spec={
                    "selector": {"match_labels": selector_labels(app, track)},
                    "max_unavailable": app.max_unavailable,
                    # Pods that are not Ready protect nothing; letting them be evicted
                    # keeps a crash-looping app from blocking every node drain.
                    "unhealthy_pod_eviction_policy": "AlwaysAllow",
                },
                opts=self.options(wave),
            ),
        )
        self.budget_names[track] = name_of(budget)

    def service(self, suffix: str, name: str, track: Track, *, wave: int) -> k8s.core.v1.Service:
        """A ClusterIP Service selecting exactly the pods of one track."""
        app = self.app
        return self.waves.add(
            wave,
            k8s.core.v1.Service(
                f"{self.name}-{suffix}",
                metadata=self.meta(name, app_labels(app), wave=wave),
                spec={
                    "type": "ClusterIP",
                    "selector": selector_labels(app, track),
                    "ports": [
                        {"name": HTTP_PORT, "port": app.service_port, "target_port": HTTP_PORT, "protocol": "TCP"}
                    ],
                },
                opts=self.options(wave),
            ),
        )

    def autoscaler(
        self, autoscaling: Autoscaling, deployment: k8s.apps.v1.Deployment, *, wave: int
    ) -> k8s.autoscaling.v2.HorizontalPodAutoscaler:
        app = self.app
        return self.waves.add(
            wave,
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{self.name}-hpa",
                metadata=self.meta(app.name, app_labels(app), wave=wave),
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
                opts=self.options(wave),
            ),
        )

    def add(self, wave: int, make: Callable[[pulumi.ResourceOptions], ResourceT], **options: Any) -> ResourceT:
        """Any other object, made by `make` with the options of `wave`."""
        return self.waves.add(wave, make(self.options(wave, **options)))

    def outputs(self, service: k8s.core.v1.Service) -> dict[str, pulumi.Input[Any]]:
        return {
            "serviceName": name_of(service),
            "deploymentNames": self.deployment_names,
            "disruptionBudgetNames": self.budget_names,
        }
