"""Argo CD: GitOps for every app. Jenkins only builds; a commit to the release repo is
the deploy, and Argo CD keeps each cluster in step with Git both ways.

Topologies
----------
- `1:1`: an Argo CD in each cluster that manages only that cluster
  (https://kubernetes.default.svc). Failures stay local; everything runs once per
  cluster. The more common choice.
- `1:N`: one hub Argo CD. Every spoke cluster is registered declaratively as a Secret
  labelled `argocd.argoproj.io/secret-type: cluster` whose config runs
  `argocd-k8s-auth gcp`: the hub's application controller and server authenticate
  to GKE through Workload Identity, so no token is ever stored. One place to run, but
  a hub outage stops delivery to every cluster.

Isolation at the GitOps layer: one AppProject per environment that only accepts the
release repo and only deploys into that environment's namespace, never cluster-scoped
objects, and only the kinds an app is made of (NetworkPolicy, ResourceQuota,
LimitRange and RBAC stay the platform's)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

import bcrypt
import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .charts import ARGOCD_CHART, ChartRelease, deploy_chart, system_namespace_labels
from .config import AppConfig, ArgoCDConfig, EnvironmentConfig, ManagedCluster

RELEASE_NAME = "argocd"
IN_CLUSTER = "https://kubernetes.default.svc"
API_VERSION = "argoproj.io/v1alpha1"
CLUSTER_SECRET_LABEL = {"argocd.argoproj.io/secret-type": "cluster"}
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
ENVIRONMENT_LABEL = "delivery-platform/environment"
# The namespaced kinds an app's release files may hold. Missing on purpose: the
# objects that isolate a namespace (NetworkPolicy, ResourceQuota, LimitRange, Role,
# RoleBinding), which the platform owns, so no app can loosen its namespace via Git.
APP_RESOURCE_KINDS = (
    ("", "ConfigMap"),
    ("", "Secret"),
    ("", "Service"),
    ("", "ServiceAccount"),
    ("", "PersistentVolumeClaim"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "Ingress"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
)
# Replicas per the chart's "HA mode without autoscaling": the application controller
# stays at one (more replicas shard clusters, they do not fail over).
HA_REPLICAS = 2
# Argo CD hashes passwords it sets itself at Go's bcrypt.DefaultCost (10). The password
# is 32 random characters, so the cost is not what protects it.
BCRYPT_COST = 10
_BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_BCRYPT_BASE64 = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def bcrypt_hash(password: str, salt_base64: str) -> str:
    """The bcrypt hash Argo CD expects in admin.password, salted with 16 random bytes
    (base64) kept in state: the same password always gives the same hash, so the
    chart's values change only when the password does."""
    salt = base64.b64encode(base64.b64decode(salt_base64)).decode().rstrip("=")
    bcrypt_salt = f"$2a${BCRYPT_COST:02d}${salt.translate(str.maketrans(_BASE64, _BCRYPT_BASE64))}"
    return bcrypt.hashpw(password.encode(), bcrypt_salt.encode()).decode()


def gke_cluster_config(cluster: ManagedCluster) -> str:
    """The `config` of a GKE cluster Secret: exec auth through Workload Identity."""
    return json.dumps(
        {
            "execProviderConfig": {
                "command": "argocd-k8s-auth",
                "args": ["gcp"],
                "apiVersion": "client.authentication.k8s.io/v1beta1",
            },
            "tlsClientConfig": {"insecure": False, "caData": cluster.ca_data},
        }
    )


def _unknown_environments(config: ArgoCDConfig, environments: Sequence[EnvironmentConfig]) -> list[str]:
    known = [env.name for env in environments]
    return [
        f"delivery-platform:argocd.managedClusters[{i}].environments[{j}]: {name!r} is not one of environments {known}"
        for i, cluster in enumerate(config.managed_clusters)
        for j, name in enumerate(cluster.environments)
        if name not in known
    ]


def app_project_spec(config: ArgoCDConfig, environment: str) -> dict[str, Any]:
    servers = [cluster.server for cluster in config.clusters_hosting(environment)] or [IN_CLUSTER]
    return {
        "description": f"The {environment} apps: release repo only, namespace {environment} only",
        "sourceRepos": [config.release_repo.url],
        "destinations": [{"server": server, "namespace": environment} for server in servers],
        "clusterResourceBlacklist": [{"group": "*", "kind": "*"}],
        "namespaceResourceWhitelist": [{"group": group, "kind": kind} for group, kind in APP_RESOURCE_KINDS],
    }


def sync_policy(config: ArgoCDConfig) -> dict[str, Any]:
    sync = config.sync
    policy: dict[str, Any] = {
        "syncOptions": list(sync.options),
        "retry": {
            "limit": sync.retry.limit,
            "backoff": {
                "duration": sync.retry.backoff.duration,
                "factor": sync.retry.backoff.factor,
                "maxDuration": sync.retry.backoff.max_duration,
            },
        },
    }
    if sync.automated:
        policy["automated"] = {"prune": sync.prune, "selfHeal": sync.self_heal, "allowEmpty": False}
    return policy


def application_spec(config: ArgoCDConfig, app: AppConfig, server: str) -> dict[str, Any]:
    release = config.release_repo
    # Plain manifests, rendered by the app's strategy component (python -m
    # components.release): nothing for Argo CD to template.
    source: dict[str, Any] = {
        "repoURL": release.url,
        "targetRevision": release.revision,
        "path": release.app_path(app.environment, app.name),
        "directory": {"recurse": False},
    }
    return {
        "project": app.environment,
        "source": source,
        "destination": {"server": server, "namespace": app.environment},
        "syncPolicy": sync_policy(config),
    }


class ArgoCD(pulumi.ComponentResource):
    """Argo CD from the upstream chart with a generated, bcrypt-hashed admin password,
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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = _unknown_environments(config, environments)
        if problems:
            raise ValueError("; ".join(problems))
        super().__init__("delivery-platform:argocd:ArgoCD", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": config.namespace, "labels": system_namespace_labels("cd", enforce="baseline")},
            opts=child,
        )
        self.namespace = namespace.metadata.name

        # A new rotation time means a new password and invalidates older sessions.
        rotation = {"rotatedAt": config.admin_password_rotated_at}
        password = random.RandomPassword(
            f"{name}-admin-password", length=32, special=False, keepers=rotation, opts=child
        )
        salt = random.RandomBytes(f"{name}-admin-password-salt", length=16, keepers=rotation, opts=child)
        self.admin_password = pulumi.Output.secret(password.result)
        hashed: pulumi.Output[str] = pulumi.Output.all(self.admin_password, salt.base64).apply(
            lambda parts: bcrypt_hash(parts[0], parts[1])
        )
        admin_hash: pulumi.Output[str] = pulumi.Output.secret(hashed)

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
            namespace=self.namespace,
            values=self._values(config, admin_hash),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace]),
            still_created="its namespace, cluster Secrets, AppProjects and Applications",
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

    @staticmethod
    def _values(config: ArgoCDConfig, admin_hash: pulumi.Output[str]) -> Mapping[str, Any]:
        replicas = HA_REPLICAS if config.ha else 1
        scaled = {"replicas": replicas, "pdb": {"enabled": config.ha}}
        # 1:N: the hub's controller (syncs) and server (logs, exec in the UI) reach the
        # spokes as this GCP service account (Argo CD's GKE cluster docs).
        identity = (
            {
                "serviceAccount": {
                    "annotations": {WORKLOAD_IDENTITY_ANNOTATION: config.workload_identity_service_account}
                }
            }
            if config.topology == "1:N"
            else {}
        )
        return {
            "configs": {
                "secret": {
                    "argocdServerAdminPassword": admin_hash,
                    # Fixed, or the chart stamps the render time and every `pulumi up`
                    # would change the Secret and end all sessions.
                    "argocdServerAdminPasswordMtime": config.admin_password_rotated_at,
                }
            },
            "redis-ha": {"enabled": config.ha},
            "controller": {"replicas": 1, "pdb": {"enabled": config.ha}, **identity},
            "server": {**scaled, **identity},
            "repoServer": scaled,
            "applicationSet": scaled,
        }
