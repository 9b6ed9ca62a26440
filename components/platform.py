"""The whole delivery platform for one stack, composed from the other components."""

from __future__ import annotations

import os
from collections.abc import Mapping

import pulumi
import pulumi_kubernetes as k8s

from .argocd import ArgoCD
from .config import GkeAutopilotConfig, GkeStandardConfig, KubeconfigCluster, RenderCluster, StackConfig
from .environment import Environment
from .gke import GkeCluster
from .jenkins import Jenkins
from .release_hooks import ReleaseHookAccess
from .workloads import AppWorkload


class Platform(pulumi.ComponentResource):
    """Builds the cluster (or connects to one), then everything that runs on it, all
    through one Kubernetes provider so no object ever lands in an ambient cluster."""

    provider: k8s.Provider
    # The GKE cluster when the stack creates one.
    cluster: GkeCluster | None

    def __init__(
        self,
        name: str,
        config: StackConfig,
        registry_password: pulumi.Input[str] | None = None,
        secrets: Mapping[str, pulumi.Input[str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`secrets`: the values of the secret config keys `config.required_secrets()` names."""
        super().__init__("delivery-platform:platform:Platform", name, None, opts)
        secrets = secrets or {}
        outputs: dict[str, pulumi.Input[object]] = {}

        # --- cluster ---
        self.cluster = None
        if isinstance(config.cluster, GkeStandardConfig | GkeAutopilotConfig):
            self.cluster = GkeCluster(
                f"{name}-gke",
                config.cluster,
                protect=config.protect,
                # Binary Authorization admits what the stack's own registry holds.
                admitted_images=[f"{config.registry.server}/**"] if config.registry else [],
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.provider = self.cluster.provider
            outputs["clusterName"] = self.cluster.cluster_name
            outputs["clusterEndpoint"] = self.cluster.endpoint
            outputs["kubeconfig"] = self.cluster.kubeconfig
        else:
            self.provider = self._kubernetes_provider(name, config.cluster)
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.provider)

        # --- environments and apps ---
        self.environments = {
            env.name: Environment(
                f"{name}-{env.name}",
                env,
                registry=config.registry,
                registry_password=registry_password,
                # Workload Identity's metadata server exists on the GKE clusters this stack creates.
                allow_metadata_server=self.cluster is not None,
                opts=k8s_opts,
            )
            for env in config.environments
        }
        self.apps: dict[str, AppWorkload] = {}
        app_outputs: dict[str, pulumi.Input[object]] = {}
        # Apps delivered through Git belong to Argo CD; Pulumi never applies them.
        for app in (app for app in config.apps if app.delivery == "pulumi"):
            key = f"{app.environment}/{app.name}"
            environment = self.environments[app.environment]
            workload = AppWorkload(
                f"{name}-{app.environment}-{app.name}",
                app,
                namespace=environment.namespace,
                pull_secret=environment.pull_secret_name,
                # Rendered manifests have no apply order (see workloads/recreate.py).
                ordering="none" if isinstance(config.cluster, RenderCluster) else "pulumi",
                opts=k8s_opts,
            )
            self.apps[key] = workload
            app_outputs[key] = {
                "strategy": app.strategy.type,
                "namespace": workload.namespace,
                "service": workload.service_name,
                "deployments": workload.deployment_names,
            }
        # What the Argo CD sync hooks of GitOps apps may do (RBAC and egress are never
        # synced from Git): created here, before any sync can need them.
        api_server_cidrs = (
            self.cluster.api_server_cidrs
            if self.cluster is not None
            else list(config.argocd.release_hook_api_server_cidrs)
        )
        self.release_hooks = {
            f"{app.environment}/{app.name}": ReleaseHookAccess(
                f"{name}-{app.environment}-{app.name}-release-hooks",
                app,
                namespace=self.environments[app.environment].namespace,
                api_server_cidrs=api_server_cidrs,
                opts=k8s_opts,
            )
            for app in config.release_hook_apps()
        }
        outputs["namespaces"] = {env_name: env.namespace for env_name, env in self.environments.items()}
        outputs["apps"] = app_outputs

        # --- jenkins ---
        self.jenkins: Jenkins | None = None
        if config.jenkins.enabled:
            self.jenkins = Jenkins(
                f"{name}-jenkins",
                config.jenkins,
                apps=config.apps,
                admin_password=secrets[config.jenkins.admin_password_key],
                # The repo Argo CD syncs, whether this stack runs Argo CD or not.
                release_repo=config.argocd.release_repo,
                stack=pulumi.get_stack(),
                registry=config.registry,
                registry_password=registry_password,
                autopilot=isinstance(config.cluster, GkeAutopilotConfig),
                opts=k8s_opts,
            )
            outputs["jenkins"] = {
                "namespace": self.jenkins.namespace,
                "agentNamespace": self.jenkins.agent_namespace,
                "url": self.jenkins.url,
                "seedJobs": self.jenkins.seed_jobs,
                "chart": self.jenkins.chart.output(),
            }
            outputs["jenkinsAdminPassword"] = self.jenkins.admin_password

        # --- argocd ---
        self.argocd: ArgoCD | None = None
        if config.argocd.enabled:
            self.argocd = ArgoCD(
                f"{name}-argocd",
                config.argocd,
                environments=config.environments,
                apps=[app for app in config.apps if app.delivery == "gitops"],
                admin_password=secrets[config.argocd.admin_password_key],
                redis_password=secrets[config.argocd.redis_password_key],
                # Applications sync into the environment namespaces, which must exist.
                opts=pulumi.ResourceOptions.merge(
                    k8s_opts, pulumi.ResourceOptions(depends_on=list(self.environments.values()))
                ),
            )
            outputs["argocd"] = {
                "namespace": self.argocd.namespace,
                "topology": config.argocd.topology,
                "projects": self.argocd.projects,
                "applications": self.argocd.applications,
                "clusters": self.argocd.clusters,
                "chart": self.argocd.chart.output(),
            }
            outputs["argocdAdminPassword"] = self.argocd.admin_password

        # Everything above is also what the program exports as stack outputs.
        self.outputs: dict[str, pulumi.Input[object]] = dict(outputs)
        outputs["kubernetesProvider"] = self.provider
        self.register_outputs(outputs)

    def _kubernetes_provider(self, name: str, cluster: KubeconfigCluster | RenderCluster) -> k8s.Provider:
        child = pulumi.ResourceOptions(parent=self)
        if isinstance(cluster, RenderCluster):
            return k8s.Provider(
                f"{name}-render",
                render_yaml_to_directory=os.path.abspath(cluster.output_dir),
                opts=child,
            )
        kubeconfig: pulumi.Output[str] | None = None
        if cluster.path:
            with open(os.path.expanduser(cluster.path), encoding="utf-8") as handle:
                # The contents usually hold credentials (client keys, tokens) and become
                # the provider's inputs, which the state would otherwise keep in plain text.
                kubeconfig = pulumi.Output.secret(handle.read())
        return k8s.Provider(f"{name}-kubeconfig", kubeconfig=kubeconfig, context=cluster.context, opts=child)
