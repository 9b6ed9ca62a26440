"""What every strategy component shares: the app's ServiceAccount, Deployments and
Services built from the one pod template, and the outputs they all register."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, ImageRef
from ..config.base import ConfigModel
from .pod import HTTP_PORT, Track, app_labels, name_of, object_meta, pod_template, selector_labels, serving_labels

StrategyT = TypeVar("StrategyT", bound=ConfigModel)

# The rollout of every Deployment that serves while it changes (blue/green colours,
# canary tracks): a new pod must be Ready before an old one goes.
ZERO_DOWNTIME_ROLLOUT: k8s.apps.v1.DeploymentStrategyArgsDict = {
    "type": "RollingUpdate",
    "rolling_update": {"max_surge": "25%", "max_unavailable": 0},
}

# pulumi-kubernetes' own Deployment await (4.25) can report a rollout finished before it
# has begun: it may take the status of the previous revision, all Ready, for the new
# one's (seen against a real API server: a Blue/Green Service moved to the new colour
# while it still ran its old version). A condition in this annotation replaces that
# await; the provider checks it only once status.observedGeneration has caught up.
WAIT_FOR = "pulumi.com/waitFor"
# Rolled out: every replica the Deployment wants (its live spec.replicas, whoever set it:
# the stack, an autoscaler, a patch) runs the current pod template and is available, and
# no other pod is left - at 0 replicas not even a terminating one, so a Recreate scaled
# to 0 is done only once its old pods are gone. The status leaves zero counts out, hence
# the second branch. An RFC 9535 filter that selects the status object (the only member
# with observedGeneration) when it holds; the parentheses are not optional: the
# provider's parser rejects `a == b && c == d && e == f` unbracketed.
ROLLED_OUT = (
    "jsonpath={$[?@.observedGeneration && ("
    "((@.updatedReplicas == $.spec.replicas && @.availableReplicas == $.spec.replicas)"
    " && @.replicas == $.spec.replicas)"
    " || (($.spec.replicas == 0 && !@.replicas) && (!@.terminatingReplicas || @.terminatingReplicas == 0))"
    ")]}"
)


def expect_strategy(app: AppConfig, kind: type[StrategyT]) -> StrategyT:
    strategy = app.strategy
    if not isinstance(strategy, kind):
        raise TypeError(f"app {app.name!r} has strategy {app.strategy.type!r}, not the one this component deploys")
    return strategy


class AppWorkload(pulumi.ComponentResource):
    """Base of the strategy components. Every child is parented to the component (so it
    inherits the caller's provider), named `<component name>-<suffix>`, and placed in
    the environment's namespace explicitly."""

    namespace: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    # Deployment object names by track (stable, canary, blue, green).
    deployment_names: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        type_token: str,
        name: str,
        app: AppConfig,
        *,
        namespace: pulumi.Input[str],
        pull_secret: pulumi.Input[str] | None,
        opts: pulumi.ResourceOptions | None,
    ) -> None:
        super().__init__(type_token, name, None, opts)
        self._name = name
        self._app = app
        self._namespace = namespace
        # from_input would wrap an Output (the usual case: the Environment's) in two new
        # ones, each a task the SDK tracks and awaits before the program may finish.
        self.namespace = namespace if isinstance(namespace, pulumi.Output) else pulumi.Output.from_input(namespace)
        self.deployment_names = {}
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=object_meta(app.service_account or app.name, namespace, app_labels(app)),
            # Pods opt out too (pod template); this covers anything else run as it.
            automount_service_account_token=False,
            image_pull_secrets=[{"name": pull_secret}] if pull_secret is not None else None,
            opts=self._child(),
        )
        self.service_account_name = name_of(account)

    def _child(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _meta(
        self, object_name: str, labels: dict[str, str], annotations: dict[str, pulumi.Input[str]] | None = None
    ) -> k8s.meta.v1.ObjectMetaArgsDict:
        return object_meta(object_name, self._namespace, labels, annotations)

    def _deployment(
        self,
        suffix: str,
        object_name: str,
        track: Track,
        *,
        image: ImageRef,
        replicas: int | None,
        strategy: k8s.apps.v1.DeploymentStrategyArgsDict,
        min_ready_seconds: int = 0,
        annotations: dict[str, pulumi.Input[str]] | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> k8s.apps.v1.Deployment:
        """A Deployment of one track. `replicas=None` leaves the count to an autoscaler."""
        labels = serving_labels(self._app, image, track)
        spec: dict[str, Any] = {
            "selector": {"match_labels": selector_labels(self._app, track)},
            "strategy": strategy,
            "min_ready_seconds": min_ready_seconds,
            "template": pod_template(self._app, image, labels, self.service_account_name),
        }
        if replicas is not None:
            spec["replicas"] = replicas
        deployment = k8s.apps.v1.Deployment(
            f"{self._name}-{suffix}",
            metadata=self._meta(object_name, labels, {**(annotations or {}), WAIT_FOR: ROLLED_OUT}),
            spec=spec,
            opts=self._child(depends_on),
        )
        self.deployment_names[track] = name_of(deployment)
        return deployment

    def _service(
        self, suffix: str, object_name: str, track: Track, depends_on: Sequence[pulumi.Resource] = ()
    ) -> k8s.core.v1.Service:
        """A ClusterIP Service selecting exactly the pods of one track."""
        return k8s.core.v1.Service(
            f"{self._name}-{suffix}",
            metadata=self._meta(object_name, app_labels(self._app)),
            spec={
                "type": "ClusterIP",
                "selector": selector_labels(self._app, track),
                "ports": [
                    {"name": HTTP_PORT, "port": self._app.service_port, "target_port": HTTP_PORT, "protocol": "TCP"}
                ],
            },
            opts=self._child(depends_on),
        )

    def _finish(self, service: k8s.core.v1.Service, **extra: pulumi.Input[Any]) -> None:
        self.service_name = name_of(service)
        self.register_outputs(
            {
                "namespace": self.namespace,
                "serviceAccountName": self.service_account_name,
                "serviceName": self.service_name,
                "deploymentNames": self.deployment_names,
                **extra,
            }
        )
