"""The jenkins chart's values (read from jenkins 5.9.53): every container the values
reach runs with the restricted security context and explicit resources, plugins come
from the configured source, and the chart creates no NetworkPolicy of its own (the
component owns them)."""

from __future__ import annotations

from typing import Any

from ..config import JenkinsConfig, parse_image
from .pod_templates import AGENT_IMAGE_REPOSITORY, AGENT_IMAGE_TAG, AGENT_RESOURCES, AGENT_USER, RESTRICTED_CONTEXT

# The chart's release name; the chart then names its objects `jenkins` and watches
# ConfigMaps labelled `jenkins-jenkins-config` for JCasC files.
RELEASE_NAME = "jenkins"
JCASC_LABEL = f"{RELEASE_NAME}-jenkins-config"
ADMIN_SECRET = f"{RELEASE_NAME}-admin"
ADMIN_USER_KEY = "jenkins-admin-user"
ADMIN_PASSWORD_KEY = "jenkins-admin-password"
AGENT_SERVICE_ACCOUNT = f"{RELEASE_NAME}-agent"
# The controller's ports (chart values controller.targetPort, controller.agentListenerPort)
# and the labels of its pod (the chart's selector labels), for the NetworkPolicies.
HTTP_PORT = 8080
AGENT_LISTENER_PORT = 50000
CONTROLLER_POD_LABELS = {
    "app.kubernetes.io/component": "jenkins-controller",
    "app.kubernetes.io/instance": RELEASE_NAME,
}

POD_SECURITY_CONTEXT = {
    "runAsUser": AGENT_USER,
    "runAsGroup": AGENT_USER,
    "fsGroup": AGENT_USER,
    "fsGroupChangePolicy": "OnRootMismatch",
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}
# The config-reload sidecar (and its init twin): a small Python watcher.
SIDECAR_RESOURCES = {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}}
# The controller: a JVM with the chart's 4Gi memory limit; the request keeps the
# scheduler from packing it next to anything that would squeeze its heap.
CONTROLLER_RESOURCES = {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"memory": "4Gi"}}
# The init container copies plugins and JCasC files, and downloads plugins.
INIT_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}


def _controller_image(config: JenkinsConfig) -> dict[str, Any]:
    source = config.plugin_source
    if source.controller_image is None:
        return {"pullPolicy": "IfNotPresent"}
    image = parse_image(source.controller_image)
    # The chart joins registry, repository and tag itself.
    host, _, path = image.repository.partition("/")
    registry, repository = (host, path) if path and ("." in host or ":" in host) else ("docker.io", image.repository)
    tag = f"{image.tag}@{image.digest}" if image.digest else image.tag
    return {"registry": registry, "repository": repository, "tag": tag, "pullPolicy": "IfNotPresent"}


def _plugins(config: JenkinsConfig) -> dict[str, Any]:
    source = config.plugin_source
    if source.kind == "image":
        return {"installPlugins": False}
    url = source.url.rstrip("/")
    return {
        "installPlugins": list(config.plugins),
        # Dependencies at the minimum versions the pins need, nothing "latest".
        "installLatestPlugins": False,
        "installLatestSpecifiedPlugins": False,
        # jenkins-plugin-cli in the init container reads the update center (or a
        # mirror with its layout) from these.
        "initContainerEnv": [
            {"name": "JENKINS_UC", "value": url},
            {"name": "JENKINS_UC_DOWNLOAD", "value": f"{url}/download"},
        ],
    }


def chart_values(config: JenkinsConfig, url: str, pod_template: str) -> dict[str, Any]:
    """Values for the jenkins chart; `pod_template` is the build pod's JCasC template."""
    controller: dict[str, Any] = {
        "image": _controller_image(config),
        # createSecret stays true: with existingSecret set the chart creates no Secret
        # of its own but mounts this one for the admin user JCasC defines.
        "admin": {
            "createSecret": True,
            "existingSecret": ADMIN_SECRET,
            "userKey": ADMIN_USER_KEY,
            "passwordKey": ADMIN_PASSWORD_KEY,
        },
        **_plugins(config),
        "serviceType": "ClusterIP",
        "JCasC": {"defaultConfig": True},
        "podSecurityContextOverride": POD_SECURITY_CONTEXT,
        "resources": CONTROLLER_RESOURCES,
        "containerSecurityContext": RESTRICTED_CONTEXT,
        "initContainerResources": INIT_RESOURCES,
        # Loads the seed-jobs ConfigMap (label JCASC_LABEL) at start and on change.
        "sidecars": {
            "configAutoReload": {
                "enabled": True,
                "resources": SIDECAR_RESOURCES,
                "containerSecurityContext": RESTRICTED_CONTEXT,
            }
        },
    }
    if config.expose_via_gateway:
        gateway = config.gateway
        parent = {"name": gateway.name, "namespace": gateway.namespace}
        if gateway.section_name:
            parent["sectionName"] = gateway.section_name
        controller["jenkinsUrl"] = url
        controller["httpRoute"] = {"enabled": True, "parentRefs": [parent], "hostnames": [config.hostname]}
    persistence: dict[str, Any] = {"enabled": True, "size": config.persistence_size}
    if config.storage_class:
        persistence["storageClass"] = config.storage_class
    return {
        "controller": controller,
        "agent": {
            "namespace": config.agent_namespace,
            "image": {"repository": AGENT_IMAGE_REPOSITORY, "tag": AGENT_IMAGE_TAG},
            "resources": AGENT_RESOURCES,
            "restrictedPssSecurityContext": True,
            "podTemplates": {"image-builder": pod_template},
        },
        # The agent ServiceAccount and its Role are the component's.
        "serviceAccountAgent": {"create": False, "name": AGENT_SERVICE_ACCOUNT},
        "persistence": persistence,
        "rbac": {"create": True, "readSecrets": False},
        # The component owns the namespace's NetworkPolicies (default deny + allows).
        "networkPolicy": {"enabled": False},
    }
