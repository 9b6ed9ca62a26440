"""The build pod: the Jenkins agent (jnlp), the daemonless builder and the deploy tool.

One spec serves twice: as the JCasC pod template the chart adds to its Kubernetes
cloud (Jenkins starts a pod from it for every build), and as a PodTemplate object in
the agents namespace, so the policy pack checks the build pod with the same rules as
every workload (it never reads JCasC text)."""

from __future__ import annotations

from typing import Any

from ..charts import RESTRICTED_CONTAINER
from ..config import JenkinsConfig
from .builders import Builder
from .groovy import jcasc_literal, to_yaml
from .pipelines import BUILD_POD_LABEL

# The chart's default agent pod template (agent.podName); the build template inherits
# its connection settings and overrides the jnlp container below.
DEFAULT_POD_TEMPLATE = "default"
# The inbound agent the chart pins (jenkins 5.9.53: agent.image); values.py passes the
# same image to the chart, so the default template and the build pods agree.
AGENT_IMAGE_REPOSITORY = "jenkins/inbound-agent"
AGENT_IMAGE_TAG = "3385.vf1123fb_515da_-1"
AGENT_IMAGE = f"{AGENT_IMAGE_REPOSITORY}:{AGENT_IMAGE_TAG}"
AGENT_USER = 1000  # `jenkins` in the inbound-agent image
# The deploy stage's tools, pinned: the Pulumi image matching the SDK this program pins
# (Python 3.11) runs the release tool (GitOps apps) and `pulumi up` (the others).
PULUMI_IMAGE = "pulumi/pulumi-python-3.11:3.272.0"
BUILD_POD_LABELS = {"app.kubernetes.io/name": "jenkins-build", "app.kubernetes.io/part-of": "delivery-platform"}
RESTRICTED_CONTEXT: dict[str, Any] = {**RESTRICTED_CONTAINER, "runAsUser": AGENT_USER}
AGENT_RESOURCES = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}}
_DEPLOY_RESOURCES = {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}
_TMP = {"name": "tmp", "mountPath": "/tmp"}


def _builder_resources(config: JenkinsConfig) -> dict[str, dict[str, str]]:
    resources = config.builder_resources
    limits = {"memory": resources.memory_limit}
    if resources.cpu_limit:
        limits["cpu"] = resources.cpu_limit
    return {"requests": {"cpu": resources.cpu_request, "memory": resources.memory_request}, "limits": limits}


def _agent_container() -> dict[str, Any]:
    return {
        "name": "jnlp",
        "image": AGENT_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": RESTRICTED_CONTEXT,
        "resources": AGENT_RESOURCES,
        "volumeMounts": [_TMP],
    }


def _deploy_container() -> dict[str, Any]:
    """Python 3.11 and the Pulumi CLI: both deploys run this repository's tools (the
    release tool renders GitOps apps, `pulumi up` applies the others)."""
    return {
        "name": "pulumi",
        "image": PULUMI_IMAGE,
        "imagePullPolicy": "IfNotPresent",
        "command": ["cat"],
        "tty": True,
        # Pulumi keeps plugins and credentials under $HOME: the (writable) workspace.
        "env": [{"name": "HOME", "value": "/home/jenkins/agent"}],
        "securityContext": RESTRICTED_CONTEXT,
        "resources": {**_DEPLOY_RESOURCES, "limits": {"memory": "2Gi"}},
        "volumeMounts": [_TMP],
    }


def build_pod(config: JenkinsConfig, builder: Builder, image: str, push_secret: str | None) -> dict[str, Any]:
    """The build pod (metadata and spec): agent, builder and deploy tool."""
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {}}]
    mounts: list[dict[str, Any]] = []
    if builder.storage_path:
        volumes.append({"name": "builder-storage", "emptyDir": {}})
        mounts.append({"name": "builder-storage", "mountPath": builder.storage_path})
    if push_secret:
        volumes.append(
            {
                "name": "registry-auth",
                "secret": {"secretName": push_secret, "items": [{"key": ".dockerconfigjson", "path": "config.json"}]},
            }
        )
        mounts.append({"name": "registry-auth", "mountPath": builder.registry_auth_dir, "readOnly": True})
    builder_container = {
        "name": "builder",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": list(builder.idle_command),
        "tty": True,
        "env": [{"name": key, "value": value} for key, value in builder.env.items()],
        "securityContext": dict(builder.security_context),
        "resources": _builder_resources(config),
        "volumeMounts": mounts,
    }
    return {
        "metadata": {"labels": dict(BUILD_POD_LABELS)},
        "spec": {
            # The agent ServiceAccount's Role (read pods and logs of its own namespace)
            # is what builds may use the API for.
            "automountServiceAccountToken": True,
            "containers": [_agent_container(), builder_container, _deploy_container()],
            "volumes": volumes,
        },
    }


def jcasc_pod_template(
    config: JenkinsConfig, builder: Builder, image: str, service_account: str, push_secret: str | None
) -> str:
    """The build pod template in JCasC form (the chart adds it to its Kubernetes cloud)."""
    template = {
        "name": BUILD_POD_LABEL,
        "label": BUILD_POD_LABEL,
        "inheritFrom": DEFAULT_POD_TEMPLATE,
        "namespace": config.agent_namespace,
        "serviceAccount": service_account,
        "yamlMergeStrategy": "merge",
        "yaml": to_yaml({"apiVersion": "v1", "kind": "Pod", **build_pod(config, builder, image, push_secret)}),
    }
    return jcasc_literal(to_yaml([template]))
