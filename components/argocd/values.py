"""The argo-cd chart's values (read from argo-cd 10.1.1 with redis-ha 4.38.0).

- No Helm hooks: helm.v4.Chart installs none, so the chart's pre-install Job that
  creates the Redis password Secret is turned off and the component creates that
  Secret itself (REDIS_SECRET, key REDIS_SECRET_KEY), before the chart.
- Only what is configured runs: Dex (no SSO is configured) and the notifications
  controller (no triggers are configured) are off.
- Every container the values reach has resources and the restricted security context.
- HA: redis-ha, two replicas of the stateless parts, PodDisruptionBudgets that leave
  one pod evictable (`maxUnavailable: 1`; the chart's `pdb.enabled` alone renders
  `minAvailable: 0`, which protects nothing).
- The chart's NetworkPolicies stay off; the component owns the namespace's policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi

from ..charts import RESTRICTED_CONTAINER
from ..config import ArgoCDConfig

RELEASE_NAME = "argocd"
# The Secret the chart's redis-secret-init hook would create; every Argo CD component
# and Redis (standalone, redis-ha and its haproxy) read the password from its key
# `auth` (argo-cd 10.1.1 templates/_helpers.tpl "argo-cd.redisPasswordSecretRef",
# redis-ha `existingSecret`/`authKey`).
REDIS_SECRET = "argocd-redis"
REDIS_SECRET_KEY = "auth"
# Replicas per the chart's "HA mode without autoscaling": the application controller
# stays at one (more replicas shard clusters, they do not fail over).
HA_REPLICAS = 2
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
# The pods' `app.kubernetes.io/name` labels (the chart's selector labels) and the
# server's container port, for the NetworkPolicies.
NAME_LABEL = "app.kubernetes.io/name"
SERVER = "argocd-server"
REPO_SERVER = "argocd-repo-server"
APPLICATION_CONTROLLER = "argocd-application-controller"
APPLICATIONSET_CONTROLLER = "argocd-applicationset-controller"
SERVER_PORT = 8080

# Requests sized for a platform of tens of apps; memory limits leave room for a large
# repository render (repo-server) or many clusters' caches (controller).
RESOURCES: Mapping[str, dict[str, Any]] = {
    "controller": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "2Gi"}},
    "server": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    "repoServer": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    "applicationSet": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    "redis": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
    "haproxy": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    "sidecar": {"requests": {"cpu": "25m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
}
DISRUPTION_BUDGET = {"enabled": True, "maxUnavailable": 1}


def _scaled(config: ArgoCDConfig, component: str) -> dict[str, Any]:
    """A stateless component: two replicas and a budget in HA, else one and none."""
    return {
        "replicas": HA_REPLICAS if config.ha else 1,
        "pdb": DISRUPTION_BUDGET if config.ha else {"enabled": False},
        "resources": RESOURCES[component],
        "containerSecurityContext": RESTRICTED_CONTAINER,
    }


def _redis_ha(config: ArgoCDConfig) -> dict[str, Any]:
    if not config.ha:
        return {"enabled": False}
    return {
        "enabled": True,
        "existingSecret": REDIS_SECRET,
        "authKey": REDIS_SECRET_KEY,
        "redis": {"resources": RESOURCES["redis"]},
        "sentinel": {"resources": RESOURCES["sidecar"]},
        "splitBrainDetection": {"resources": RESOURCES["sidecar"]},
        "init": {"resources": RESOURCES["sidecar"]},
        "podDisruptionBudget": {"maxUnavailable": 1},
        "containerSecurityContext": RESTRICTED_CONTAINER,
        "haproxy": {
            "resources": RESOURCES["haproxy"],
            "init": {"resources": RESOURCES["sidecar"]},
            "podDisruptionBudget": {"maxUnavailable": 1},
            "containerSecurityContext": RESTRICTED_CONTAINER,
        },
    }


def chart_values(config: ArgoCDConfig, admin_hash: pulumi.Input[str]) -> dict[str, Any]:
    # 1:N: the hub's controller (syncs) and server (logs, exec in the UI) reach the
    # spokes as this GCP service account (Argo CD's GKE cluster docs).
    identity = (
        {"serviceAccount": {"annotations": {WORKLOAD_IDENTITY_ANNOTATION: config.workload_identity_service_account}}}
        if config.topology == "1:N"
        else {}
    )
    return {
        "global": {"networkPolicy": {"create": False, "defaultDenyIngress": False}},
        "configs": {
            "secret": {
                "argocdServerAdminPassword": admin_hash,
                # Fixed, or the chart stamps the render time and every `pulumi up`
                # would change the Secret and end all sessions.
                "argocdServerAdminPasswordMtime": config.admin_password_rotated_at,
            }
        },
        # The component creates the Secret this hook would (see REDIS_SECRET).
        "redisSecretInit": {"enabled": False},
        "dex": {"enabled": False},
        "notifications": {"enabled": False},
        "redis": {
            "resources": RESOURCES["redis"],
            "containerSecurityContext": RESTRICTED_CONTAINER,
        },
        "redis-ha": _redis_ha(config),
        "controller": {
            "replicas": 1,
            # One replica by design: a budget could only block drains or protect nothing.
            "pdb": {"enabled": False},
            "resources": RESOURCES["controller"],
            "containerSecurityContext": RESTRICTED_CONTAINER,
            **identity,
        },
        "server": {**_scaled(config, "server"), **identity},
        "repoServer": _scaled(config, "repoServer"),
        # The chart's only probe for it is a TCP check of the probe port (both probes).
        "applicationSet": {
            **_scaled(config, "applicationSet"),
            "readinessProbe": {"enabled": True},
            "livenessProbe": {"enabled": True},
        },
    }
