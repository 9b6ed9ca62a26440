"""What Argo CD syncs: one AppProject per environment that fences it to the release
repo and its own namespace, one Application per app (per cluster hosting its
environment), and the declarative registration of spoke clusters (1:N)."""

from __future__ import annotations

import json
from typing import Any

from ..config import AppConfig, ArgoCDConfig, ManagedCluster

IN_CLUSTER = "https://kubernetes.default.svc"
API_VERSION = "argoproj.io/v1alpha1"
CLUSTER_SECRET_LABEL = {"argocd.argoproj.io/secret-type": "cluster"}
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
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
