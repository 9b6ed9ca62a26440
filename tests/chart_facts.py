"""Facts read from the pinned upstream charts, for the contract tests (CI has neither
the charts nor Helm). Each set was read by rendering the chart version named with Helm
v3.18.6 (the Helm library pulumi-kubernetes 4.25.0 renders with, hooks included and
told apart by their `helm.sh/hook` annotation) and the values the components pass in
the variant named, then listing what the chart's pods need and what it creates.
`values_read_with` holds the values those facts depend on: a component whose values
differ there needs the facts read again (components/charts.py says how)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Ref = tuple[str, str]  # (kind, name)


@dataclass(frozen=True)
class ChartFacts:
    chart: str
    version: str
    # Secrets and ConfigMaps the chart's pods reference with `optional: false` (volumes,
    # projected sources, env valueFrom, envFrom): a pod waits for each forever.
    required: frozenset[Ref]
    # The Secrets and ConfigMaps the chart creates as ordinary (non-hook) objects.
    created: frozenset[Ref]
    values_read_with: Mapping[str, Any]
    # (workload, container) -> where in the values its resources are set.
    container_resources: Mapping[tuple[str, str], str] = field(default_factory=dict)


# jenkins 5.9.53, release `jenkins`, every builder, plugin source and exposure: the
# controller StatefulSet mounts ConfigMap `jenkins` (init scripts, plugins.txt) and
# projects the admin Secret named by controller.admin.existingSecret.
JENKINS = ChartFacts(
    chart="jenkins",
    version="5.9.53",
    required=frozenset({("ConfigMap", "jenkins"), ("Secret", "jenkins-admin")}),
    created=frozenset({("ConfigMap", "jenkins"), ("ConfigMap", "jenkins-jenkins-jcasc-config")}),
    values_read_with={"controller.admin.existingSecret": "jenkins-admin", "controller.admin.createSecret": True},
    container_resources={
        ("StatefulSet jenkins", "jenkins"): "controller.resources",
        ("StatefulSet jenkins", "init"): "controller.initContainerResources",
        ("StatefulSet jenkins", "config-reload"): "controller.sidecars.configAutoReload.resources",
        ("StatefulSet jenkins", "config-reload-init"): "controller.sidecars.configAutoReload.resources",
    },
)

_ARGOCD_COMMON_REQUIRED = {
    ("ConfigMap", "argocd-gpg-keys-cm"),
    ("ConfigMap", "argocd-ssh-known-hosts-cm"),
    ("ConfigMap", "argocd-tls-certs-cm"),
    # Redis (standalone or redis-ha with its haproxy) reads its password from here; the
    # chart creates it only in its pre-install hook Job argocd-redis-secret-init, and
    # with that hook on, every Argo CD component needs it too (48 references across the
    # variants with the chart's default values).
    ("Secret", "argocd-redis"),
}
_ARGOCD_COMMON_CREATED = {
    ("ConfigMap", "argocd-cm"),
    ("ConfigMap", "argocd-cmd-params-cm"),
    ("ConfigMap", "argocd-gpg-keys-cm"),
    ("ConfigMap", "argocd-rbac-cm"),
    ("ConfigMap", "argocd-ssh-known-hosts-cm"),
    ("ConfigMap", "argocd-tls-certs-cm"),
    ("Secret", "argocd-secret"),
}
_ARGOCD_VALUES = {"redisSecretInit.enabled": False, "dex.enabled": False, "notifications.enabled": False}
_ARGOCD_CONTAINERS = {
    ("StatefulSet argocd-application-controller", "application-controller"): "controller.resources",
    ("Deployment argocd-server", "server"): "server.resources",
    ("Deployment argocd-repo-server", "repo-server"): "repoServer.resources",
    ("Deployment argocd-repo-server", "copyutil"): "repoServer.resources",
    ("Deployment argocd-applicationset-controller", "applicationset-controller"): "applicationSet.resources",
}

# argo-cd 10.1.1 with its redis-ha 4.38.0 dependency, release `argocd`, 1:1 and 1:N
# alike (the topology changes no reference).
ARGOCD = {
    "ha": ChartFacts(
        chart="argo-cd",
        version="10.1.1",
        required=frozenset(
            _ARGOCD_COMMON_REQUIRED
            | {("ConfigMap", "argocd-redis-ha-configmap"), ("ConfigMap", "argocd-redis-ha-health-configmap")}
        ),
        created=frozenset(
            _ARGOCD_COMMON_CREATED
            | {("ConfigMap", "argocd-redis-ha-configmap"), ("ConfigMap", "argocd-redis-ha-health-configmap")}
        ),
        values_read_with={
            **_ARGOCD_VALUES,
            "redis-ha.enabled": True,
            "redis-ha.existingSecret": "argocd-redis",
            "redis-ha.authKey": "auth",
        },
        container_resources={
            **_ARGOCD_CONTAINERS,
            ("StatefulSet argocd-redis-ha-server", "config-init"): "redis-ha.init.resources",
            ("StatefulSet argocd-redis-ha-server", "redis"): "redis-ha.redis.resources",
            ("StatefulSet argocd-redis-ha-server", "sentinel"): "redis-ha.sentinel.resources",
            ("StatefulSet argocd-redis-ha-server", "split-brain-fix"): "redis-ha.splitBrainDetection.resources",
            ("Deployment argocd-redis-ha-haproxy", "config-init"): "redis-ha.haproxy.init.resources",
            ("Deployment argocd-redis-ha-haproxy", "haproxy"): "redis-ha.haproxy.resources",
        },
    ),
    "single": ChartFacts(
        chart="argo-cd",
        version="10.1.1",
        required=frozenset(_ARGOCD_COMMON_REQUIRED | {("ConfigMap", "argocd-redis-health-configmap")}),
        created=frozenset(_ARGOCD_COMMON_CREATED | {("ConfigMap", "argocd-redis-health-configmap")}),
        values_read_with={**_ARGOCD_VALUES, "redis-ha.enabled": False},
        container_resources={**_ARGOCD_CONTAINERS, ("Deployment argocd-redis", "redis"): "redis.resources"},
    ),
}
