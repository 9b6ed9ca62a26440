"""The Argo CD component: namespace, NetworkPolicies, the Secrets the chart's hooks
would create, the admin password hash, spoke registrations, the chart, AppProjects and
Applications."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import system_network as net
from ..charts import ARGOCD_CHART, ChartRelease, deploy_chart, system_namespace_labels
from ..config import AppConfig, ArgoCDConfig, EnvironmentConfig, ManagedCluster
from ..environment import ENVIRONMENT_LABEL
from .gitops import (
    API_VERSION,
    CLUSTER_SECRET_LABEL,
    IN_CLUSTER,
    RESOURCES_FINALIZER,
    app_project_spec,
    application_spec,
    gke_cluster_config,
)
from .passwords import bcrypt_hash
from .values import (
    APPLICATION_CONTROLLER,
    APPLICATIONSET_CONTROLLER,
    NAME_LABEL,
    REDIS_SECRET,
    REDIS_SECRET_KEY,
    RELEASE_NAME,
    REPO_SERVER,
    SERVER,
    SERVER_PORT,
    chart_values,
)

NETWORK_POLICY_LABELS = {"app.kubernetes.io/part-of": "delivery-platform", "app.kubernetes.io/component": "cd"}
# The pods that talk to API servers and Git.
_OUTBOUND = (SERVER, REPO_SERVER, APPLICATION_CONTROLLER, APPLICATIONSET_CONTROLLER)


def _unknown_environments(config: ArgoCDConfig, environments: Sequence[EnvironmentConfig]) -> list[str]:
    known = [env.name for env in environments]
    return [
        f"delivery-platform:argocd.managedClusters[{i}].environments[{j}]: {name!r} is not one of environments {known}"
        for i, cluster in enumerate(config.managed_clusters)
        for j, name in enumerate(cluster.environments)
        if name not in known
    ]


def network_policies(config: ArgoCDConfig) -> dict[str, dict[str, Any]]:
    """Argo CD's namespace: its components talk to each other (server, repo-server,
    controllers, Redis); the server accepts the namespaces the config lists; out: DNS,
    and HTTPS/SSH to API servers and Git from the components that need them, plus the
    GKE metadata server for the hub's Workload Identity (1:N)."""
    outbound = net.pods_named(NAME_LABEL, _OUTBOUND)
    policies = {
        "default-deny": net.default_deny(),
        "allow-same-namespace": net.same_namespace(),
        "allow-dns": net.dns(),
        "allow-egress-https-ssh": net.egress_to_cidrs(
            outbound, config.egress_cidrs, [net.HTTPS_PORT, net.API_SERVER_PORT, net.SSH_PORT]
        ),
    }
    if config.allow_from_namespaces:
        policies["allow-server-from"] = net.ingress_from(
            net.pods({NAME_LABEL: SERVER}),
            [net.in_namespace(namespace) for namespace in config.allow_from_namespaces],
            [SERVER_PORT],
        )
    if config.topology == "1:N":
        policies["allow-gke-metadata"] = net.gke_metadata(net.pods_named(NAME_LABEL, (SERVER, APPLICATION_CONTROLLER)))
    return policies


class ArgoCD(pulumi.ComponentResource):
    """Argo CD from the upstream chart with the stack's admin password (bcrypt-hashed),
    an AppProject per environment and an Application per app (per cluster hosting the
    app's environment), in the 1:1 or 1:N topology the stack chooses."""

    namespace: pulumi.Output[str]
    admin_password: pulumi.Output[str]
    projects: list[str]
    applications: dict[str, str]
    clusters: list[str]
    chart: ChartRelease

    def __init__(
        self,
        name: str,
        config: ArgoCDConfig,
        *,
        environments: Sequence[EnvironmentConfig],
        apps: Sequence[AppConfig],
        admin_password: pulumi.Input[str],
        redis_password: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = _unknown_environments(config, environments)
        if problems:
            raise ValueError("; ".join(problems))
        super().__init__("delivery-platform:argocd:ArgoCD", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": config.namespace, "labels": system_namespace_labels("cd", enforce="restricted")},
            opts=child,
        )
        self.namespace = namespace.metadata.name
        policies = net.network_policies(
            f"{name}-netpol", self.namespace, network_policies(config), NETWORK_POLICY_LABELS, child
        )

        self.admin_password = pulumi.Output.secret(admin_password)
        rotated_at = config.admin_password_rotated_at
        admin_hash: pulumi.Output[str] = pulumi.Output.secret(
            self.admin_password.apply(lambda password: bcrypt_hash(password, rotated_at))
        )
        # What the chart's redis-secret-init hook would create; helm.v4.Chart runs no hooks.
        redis_secret = k8s.core.v1.Secret(
            f"{name}-redis",
            metadata={
                "name": REDIS_SECRET,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/part-of": "argocd", "app.kubernetes.io/component": "redis"},
            },
            type="Opaque",
            string_data={REDIS_SECRET_KEY: pulumi.Output.secret(redis_password)},
            opts=child,
        )

        cluster_secrets = {
            cluster.name: self._cluster_secret(name, cluster, child) for cluster in config.managed_clusters
        }
        self.clusters = list(cluster_secrets)

        chart, self.chart = deploy_chart(
            f"{name}-chart",
            ARGOCD_CHART,
            config.chart,
            config_key="argocd.chart",
            release_name=RELEASE_NAME,
            # The name from config, not the Namespace's output: known in every preview.
            namespace=config.namespace,
            values=chart_values(config, admin_hash),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, redis_secret, *policies]),
            still_created=(
                "its namespace, NetworkPolicies, Redis Secret, cluster Secrets, AppProjects and Applications"
            ),
        )
        # AppProject and Application are the chart's CRDs.
        crds = [chart] if chart else []

        projects = {
            env.name: k8s.apiextensions.CustomResource(
                f"{name}-project-{env.name}",
                api_version=API_VERSION,
                kind="AppProject",
                metadata={"name": env.name, "namespace": self.namespace, "labels": {ENVIRONMENT_LABEL: env.name}},
                spec=app_project_spec(config, env.name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=crds),
            )
            for env in environments
        }
        self.projects = list(projects)

        self.applications = {}
        for app in apps:
            # One Application per cluster hosting the app's environment; a spoke must be
            # registered before an Application can target it.
            targets = [
                (f"-{spoke.name}", spoke.server, [cluster_secrets[spoke.name]])
                for spoke in config.clusters_hosting(app.environment)
            ]
            for suffix, server, registration in targets or [("", IN_CLUSTER, [])]:
                application = f"{app.environment}-{app.name}{suffix}"
                metadata: dict[str, Any] = {
                    "name": application,
                    "namespace": self.namespace,
                    "labels": {"app.kubernetes.io/name": app.name, ENVIRONMENT_LABEL: app.environment},
                }
                if config.cascade_delete:
                    metadata["finalizers"] = [RESOURCES_FINALIZER]
                k8s.apiextensions.CustomResource(
                    f"{name}-app-{application}",
                    api_version=API_VERSION,
                    kind="Application",
                    metadata=metadata,
                    spec=application_spec(config, app, server),
                    opts=pulumi.ResourceOptions(
                        parent=self, depends_on=[*crds, projects[app.environment], *registration]
                    ),
                )
                self.applications[application] = server

        self.register_outputs(
            {
                "namespace": self.namespace,
                "topology": config.topology,
                "adminPassword": self.admin_password,
                "projects": self.projects,
                "applications": self.applications,
                "clusters": self.clusters,
                "chart": self.chart.output(),
            }
        )

    def _cluster_secret(self, name: str, cluster: ManagedCluster, opts: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            f"{name}-cluster-{cluster.name}",
            metadata={"name": f"cluster-{cluster.name}", "namespace": self.namespace, "labels": CLUSTER_SECRET_LABEL},
            type="Opaque",
            string_data={"name": cluster.name, "server": cluster.server, "config": gke_cluster_config(cluster)},
            opts=opts,
        )
