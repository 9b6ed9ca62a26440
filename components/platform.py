"""The whole delivery platform for one stack, composed from the other components."""

from __future__ import annotations

import os

import pulumi
import pulumi_kubernetes as k8s

from .config import KubeconfigCluster, RenderCluster, StackConfig


class Platform(pulumi.ComponentResource):
    """Builds the cluster (or connects to one), then everything that runs on it, all
    through one Kubernetes provider so no object ever lands in an ambient cluster."""

    provider: k8s.Provider

    def __init__(
        self,
        name: str,
        config: StackConfig,
        registry_password: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("delivery-platform:platform:Platform", name, None, opts)
        outputs: dict[str, pulumi.Input[object]] = {}

        # --- cluster ---
        self.provider = self._kubernetes_provider(name, config)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.provider)

        # --- environments and apps ---

        # --- jenkins ---

        # --- argocd ---

        outputs["kubernetesProvider"] = self.provider
        self.register_outputs(outputs)

    def _kubernetes_provider(self, name: str, config: StackConfig) -> k8s.Provider:
        cluster = config.cluster
        child = pulumi.ResourceOptions(parent=self)
        if isinstance(cluster, RenderCluster):
            return k8s.Provider(
                f"{name}-render",
                render_yaml_to_directory=os.path.abspath(cluster.output_dir),
                opts=child,
            )
        if isinstance(cluster, KubeconfigCluster):
            kubeconfig = None
            if cluster.path:
                with open(os.path.expanduser(cluster.path), encoding="utf-8") as handle:
                    kubeconfig = handle.read()
            return k8s.Provider(f"{name}-kubeconfig", kubeconfig=kubeconfig, context=cluster.context, opts=child)
        raise NotImplementedError(f"cluster kind {cluster.kind}")
