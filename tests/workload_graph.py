"""Helpers for the environment and workload tests: build a stack config around a few
apps, run the real program under mocks, and read Kubernetes objects out of the graph."""

from __future__ import annotations

from typing import Any

from components.program import main
from tests.conftest import ProgramRunner
from tests.graph import Graph, Registered

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
DEPLOYMENT_PATCH = "kubernetes:apps/v1:DeploymentPatch"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
JOB = "kubernetes:batch/v1:Job"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
INGRESS = "kubernetes:networking.k8s.io/v1:Ingress"
PDB = "kubernetes:policy/v1:PodDisruptionBudget"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"

# Where the platform's Kubernetes provider comes from: `render` writes YAML (no apply
# order), `kubeconfig` applies to a live cluster.
RENDER = {"kind": "render"}
LIVE = {"kind": "kubeconfig"}

OWN_COMPONENTS = ("delivery-platform:workloads:", "delivery-platform:environment:")

# Marker the Pulumi runtime wraps secret values in when it serializes them.
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def image(repository: str, tag: str) -> str:
    return f"registry.example.com/shop/{repository}:{tag}"


# The namespace of the Gateway canary routes attach to by default (GatewayRef).
GATEWAY_NAMESPACE = "gateway"


def stack(*apps: dict[str, Any], cluster: dict[str, Any] = LIVE, **extra: Any) -> dict[str, Any]:
    """A stack config with the given apps, only the environments they use (unless
    given; they admit the default Gateway's namespace), and CI/CD switched off: those
    components have tests of their own."""
    environments = [
        {"name": name, "allowFromNamespaces": [GATEWAY_NAMESPACE]}
        for name in sorted({app["environment"] for app in apps} or {"test"})
    ]
    return {
        "cluster": cluster,
        "environments": environments,
        "jenkins": {"enabled": False},
        "argocd": {"enabled": False},
        "apps": list(apps),
        **extra,
    }


def run_stack(
    run_program: ProgramRunner, config: dict[str, Any], secrets: dict[str, str] | None = None, stack_name: str = "test"
) -> Graph:
    """Run the real program (config validation, Platform, components) under mocks."""
    return run_program(main, config, secrets=secrets, stack=stack_name)


def ours(graph: Graph, type_: str) -> list[Registered]:
    """Objects of one kind created by the environment and workload components (the
    platform's other components have objects of their own)."""
    return [r for r in graph.of_type(type_) if any(a.type.startswith(OWN_COMPONENTS) for a in graph.ancestors(r))]


def by_name(graph: Graph, type_: str) -> dict[str, Registered]:
    """Objects of one kind by their Kubernetes name (metadata.name)."""
    return {r.input("metadata.name"): r for r in ours(graph, type_)}


def obj(graph: Graph, type_: str, name: str) -> Registered:
    found = by_name(graph, type_)
    assert name in found, f"no {type_} named {name!r}; have {sorted(found)}"
    return found[name]


def pod_labels(workload: Registered) -> dict[str, str]:
    labels: dict[str, str] = workload.input("spec.template.metadata.labels")
    return labels


def container(workload: Registered) -> dict[str, Any]:
    containers = workload.input("spec.template.spec.containers")
    assert len(containers) == 1
    found: dict[str, Any] = containers[0]
    return found


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(key) == value for key, value in selector.items())


def selected_deployments(graph: Graph, service: Registered) -> list[Registered]:
    """The Deployments (in the Service's namespace) whose pods the Service selects."""
    namespace = service.input("metadata.namespace")
    return [
        deployment
        for deployment in ours(graph, DEPLOYMENT)
        if deployment.input("metadata.namespace") == namespace
        and selects(service.input("spec.selector"), pod_labels(deployment))
    ]


def depends_on(resource: Registered, dependency: Registered) -> bool:
    return dependency.urn in resource.depends_on


def annotations_of(resource: Registered) -> dict[str, str]:
    found: dict[str, str] = resource.inputs["metadata"].get("annotations", {})
    return found


def unwrap_secret(value: Any) -> tuple[bool, Any]:
    """(was it marked secret, the plain value)."""
    if isinstance(value, dict) and SECRET_SIG in value.values():
        return True, value["value"]
    return False, value
