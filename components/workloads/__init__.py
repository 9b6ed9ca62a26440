"""Application workloads: one component per deployment strategy, all built on the one
pod template in `pod.py`, and `deploy_app` to pick the component for an app's strategy."""

from __future__ import annotations

import pulumi

from ..config import AppConfig, BlueGreenStrategy, CanaryStrategy, RecreateStrategy, RollingStrategy
from .base import AppWorkload
from .bluegreen import BlueGreenApp
from .canary import CanaryApp
from .recreate import RecreateApp
from .rolling import RollingApp


def deploy_app(
    name: str,
    app: AppConfig,
    *,
    namespace: pulumi.Input[str],
    pull_secret: pulumi.Input[str] | None = None,
    ordered_rollout: bool = True,
    opts: pulumi.ResourceOptions | None = None,
) -> AppWorkload:
    """Deploy `app` with the component of its strategy into `namespace`.

    `ordered_rollout=False` is for providers that render manifests instead of applying
    them: there is no apply order to express (see RecreateApp)."""
    match app.strategy:
        case RecreateStrategy():
            return RecreateApp(
                name, app, namespace=namespace, pull_secret=pull_secret, ordered_rollout=ordered_rollout, opts=opts
            )
        case RollingStrategy():
            return RollingApp(name, app, namespace=namespace, pull_secret=pull_secret, opts=opts)
        case BlueGreenStrategy():
            return BlueGreenApp(name, app, namespace=namespace, pull_secret=pull_secret, opts=opts)
        case CanaryStrategy():
            return CanaryApp(name, app, namespace=namespace, pull_secret=pull_secret, opts=opts)


__all__ = ["AppWorkload", "BlueGreenApp", "CanaryApp", "RecreateApp", "RollingApp", "deploy_app"]
