"""Blue/Green: two complete Deployments, one per colour, and a Service selector that
moves all traffic from one to the other at once.

- `{app}-blue` and `{app}-green` run the image of their colour.
- The stable Service `{app}` selects the active colour; it depends on that colour's
  Deployment, and pulumi-kubernetes waits for a Deployment to be fully rolled out and
  Ready, so the selector switch never happens before the new colour can serve.
- The idle colour depends on the stable Service, so scaling it down (idleReplicas 0)
  happens only after traffic has left it.
- The preview Service `{app}-preview` selects the idle colour: test the next version
  in production before switching.

Promotion is one config change (`active`); rollback is the same change back, instant
while the old colour still runs (idleReplicas unset keeps it at full size). To free the
capacity later, set idleReplicas to 0 in a second change once the new colour has
proven itself."""

from __future__ import annotations

import pulumi

from ..config import AppConfig, BlueGreenStrategy, parse_image
from .base import ZERO_DOWNTIME_ROLLOUT, AppWorkload, expect_strategy
from .pod import Track, name_of


class BlueGreenApp(AppWorkload):
    """Blue and green Deployments, the stable Service on the active colour and the
    preview Service on the idle one."""

    active: str
    preview_service_name: pulumi.Output[str]

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
            "delivery-platform:workloads:BlueGreenApp",
            name,
            app,
            namespace=namespace,
            pull_secret=pull_secret,
            opts=opts,
        )
        strategy = expect_strategy(app, BlueGreenStrategy)
        active: Track = strategy.active
        idle: Track = "green" if active == "blue" else "blue"
        images = {"blue": parse_image(strategy.blue.image), "green": parse_image(strategy.green.image)}
        idle_replicas = app.replicas if strategy.idle_replicas is None else strategy.idle_replicas

        # Logical names are per colour, never per role, so promotion updates objects in
        # place instead of replacing them.
        active_deployment = self._deployment(
            active,
            f"{app.name}-{active}",
            active,
            image=images[active],
            replicas=app.replicas,
            strategy=ZERO_DOWNTIME_ROLLOUT,
        )
        stable = self._service("service", app.name, active, depends_on=[active_deployment])
        idle_deployment = self._deployment(
            idle,
            f"{app.name}-{idle}",
            idle,
            image=images[idle],
            replicas=idle_replicas,
            strategy=ZERO_DOWNTIME_ROLLOUT,
            depends_on=[stable],
        )
        preview = self._service("preview", f"{app.name}-preview", idle, depends_on=[idle_deployment])

        self.active = active
        self.preview_service_name = name_of(preview)
        self._finish(stable, activeColour=active, previewServiceName=self.preview_service_name)
