"""What the policy pack must do to a real program: reject one full of mistakes, and
fix one whose only mistake it can fix safely. Kubernetes objects are rendered to YAML
by the provider, so no cluster is needed."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

# Mandatory rules the `violations` scenario breaks; a preview must fail naming each.
VIOLATIONS = frozenset(
    {
        "no-default-namespace",
        "image-pinned",
        "pod-security-baseline",
        "pod-security-restricted",
        "container-resources",
        "container-probes",
        "read-only-root-filesystem",
        "service-exposure",
        "namespace-default-deny",
        "zero-downtime-replicas",
    }
)
# The rule whose remediation the `remediation` scenario shows, and the value it sets.
REMEDIATED = ("image-pull-policy", "IfNotPresent")

LABELS = {"app.kubernetes.io/name": "web"}
PINNED_IMAGE = "registry.example.com/shop/web:1.4.2-b17"


def _provider(output_dir: str) -> pulumi.ResourceOptions:
    provider = k8s.Provider("render", render_yaml_to_directory=os.path.abspath(output_dir))
    return pulumi.ResourceOptions(provider=provider)


def _hardened_container(image: str) -> dict[str, Any]:
    """Everything the pack asks of a container except the pull policy."""
    return {
        "name": "app",
        "image": image,
        "ports": [{"name": "http", "containerPort": 8080}],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
    }


def violations(output_dir: str) -> None:
    """One replica of a privileged `latest` container without resources or probes, in
    `default`, behind a public load balancer."""
    opts = _provider(output_dir)
    k8s.apps.v1.Deployment(
        "web",
        metadata={"name": "web", "namespace": "default", "labels": LABELS},
        spec={
            "replicas": 1,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:latest",
                            "imagePullPolicy": "Always",
                            "securityContext": {"privileged": True},
                        }
                    ],
                },
            },
        },
        opts=opts,
    )
    k8s.core.v1.Service(
        "web",
        metadata={"name": "web", "namespace": "default", "labels": LABELS},
        spec={"type": "LoadBalancer", "selector": LABELS, "ports": [{"port": 80, "targetPort": 8080}]},
        opts=opts,
    )


def remediation(output_dir: str) -> None:
    """A compliant app whose container leaves imagePullPolicy to the tag; the pack sets it."""
    opts = _provider(output_dir)
    namespace = "shop"
    k8s.core.v1.Namespace(
        "shop",
        metadata={"name": namespace, "labels": {"pod-security.kubernetes.io/enforce": "restricted"}},
        opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        "default-deny",
        metadata={"name": "default-deny", "namespace": namespace},
        spec={"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        opts=opts,
    )
    k8s.apps.v1.Deployment(
        "web",
        metadata={"name": "web", "namespace": namespace, "labels": LABELS},
        spec={
            "replicas": 2,
            "selector": {"matchLabels": LABELS},
            "template": {
                "metadata": {"labels": LABELS},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [_hardened_container(PINNED_IMAGE)],
                },
            },
        },
        opts=opts,
    )


SCENARIOS: dict[str, Callable[[str], None]] = {"violations": violations, "remediation": remediation}


if __name__ == "__main__":
    config = pulumi.Config()
    SCENARIOS[config.require("scenario")](config.require("outputDir"))
