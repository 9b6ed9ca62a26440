"""One application as one component, whatever its strategy: `AppWorkload`.

The strategy is a value, not a type. Every strategy names its objects the same way -
the ServiceAccount, the Service `{app}` and the stable track's Deployment `{app}` and
disruption budget keep their logical and object names - so changing an app's strategy
updates those objects in place, and objects only one strategy has (a colour, the
canary track, a route, a migration Job) are created before traffic moves to them and
deleted after it has left them. Stacks deployed with the former per-strategy
components (`RecreateApp`, `RollingApp`, `BlueGreenApp`, `CanaryApp`) keep their
objects: those type tokens are aliases of this one."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from ..config import AppConfig, BlueGreenStrategy, CanaryStrategy, RecreateStrategy, RollingStrategy
from .bluegreen import deploy_blue_green
from .builder import Builder
from .canary import deploy_canary
from .pod import app_labels, name_of, object_meta
from .recreate import ReleaseHooks, deploy_recreate
from .rolling import deploy_rolling
from .rollout import SYNC_WAVE, Ordering

TYPE_TOKEN = "delivery-platform:workloads:AppWorkload"
FORMER_TYPE_TOKENS = tuple(
    f"delivery-platform:workloads:{name}" for name in ("RecreateApp", "RollingApp", "BlueGreenApp", "CanaryApp")
)


class AppWorkload(pulumi.ComponentResource):
    """The app's ServiceAccount and the objects of its strategy (see each strategy's
    module for its objects and the waves that order them)."""

    namespace: pulumi.Output[str]
    service_account_name: pulumi.Output[str]
    service_name: pulumi.Output[str]
    # Deployment object names by track (stable, canary, blue, green).
    deployment_names: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        name: str,
        app: AppConfig,
        *,
        namespace: pulumi.Input[str],
        pull_secret: pulumi.Input[str] | None = None,
        ordering: Ordering = "pulumi",
        release_hooks: ReleaseHooks | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`ordering` says who applies the objects (rollout.py): this stack ("pulumi",
        the default), Argo CD from rendered manifests ("argocd"; a Recreate app with a
        migration then needs `release_hooks`), or nobody, for manifests rendered to be
        read ("none")."""
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=token) for token in FORMER_TYPE_TOKENS])
        super().__init__(TYPE_TOKEN, name, None, pulumi.ResourceOptions.merge(aliases, opts))
        # from_input would wrap an Output (the usual case: the Environment's) in two new
        # ones, each a task the SDK tracks and awaits before the program may finish.
        self.namespace = namespace if isinstance(namespace, pulumi.Output) else pulumi.Output.from_input(namespace)
        account = k8s.core.v1.ServiceAccount(
            f"{name}-sa",
            metadata=object_meta(
                app.service_account or app.name,
                namespace,
                app_labels(app),
                # Rendered for Argo CD: before every wave, for sync hooks to run as.
                {SYNC_WAVE: "-1"} if ordering == "argocd" else None,
            ),
            # Pods opt out too (pod template); this covers anything else run as it.
            automount_service_account_token=False,
            image_pull_secrets=[{"name": pull_secret}] if pull_secret is not None else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.service_account_name = name_of(account)
        build = Builder(self, name, app, namespace, self.service_account_name, ordering=ordering)

        strategy = app.strategy
        extra: dict[str, Any]
        match strategy:
            case RecreateStrategy():
                service, extra = deploy_recreate(build, strategy, release_hooks=release_hooks)
            case RollingStrategy():
                service, extra = deploy_rolling(build, strategy)
            case BlueGreenStrategy():
                service, extra = deploy_blue_green(build, strategy)
            case CanaryStrategy():
                service, extra = deploy_canary(build, strategy)
        self.service_name = name_of(service)
        self.deployment_names = build.deployment_names
        self.register_outputs(
            {
                "strategy": strategy.type,
                "namespace": self.namespace,
                "serviceAccountName": self.service_account_name,
                **build.outputs(service),
                **extra,
            }
        )
