"""The local control plane behaves like a cluster: workloads roll out and become
Available, Services get ready endpoints, Gateway API kinds are served, and namespace
deletion runs to completion."""

from __future__ import annotations

from typing import Any

from tests.e2e.controlplane import LocalControlPlane

NAMESPACE = "e2e-smoke"
APP = {"app": "echo"}


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo", "namespace": NAMESPACE},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": APP},
            "template": {
                "metadata": {"labels": APP},
                "spec": {
                    "containers": [
                        {
                            "name": "echo",
                            # Never pulled: kwok only pretends to run containers.
                            "image": "registry.example/echo:1.0",
                            "ports": [{"containerPort": 8080, "name": "http"}],
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}},
                        }
                    ]
                },
            },
        },
    }


def _service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "echo", "namespace": NAMESPACE},
        "spec": {"selector": APP, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]},
    }


def _http_route() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "echo", "namespace": NAMESPACE},
        "spec": {
            "parentRefs": [{"name": "platform-gateway", "namespace": "gateway-system"}],
            "hostnames": ["echo.example.test"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": "echo", "port": 80}],
                }
            ],
        },
    }


def test_workload_lifecycle(control_plane: LocalControlPlane) -> None:
    client = control_plane.client
    client.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    control_plane.apply_manifests([_deployment(), _service()])

    deployment_path = client.path_for("apps/v1", "Deployment", "echo", NAMESPACE)

    def available() -> dict[str, Any] | None:
        status = client.get(deployment_path).get("status", {})
        conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
        return status if conditions.get("Available") == "True" and status.get("readyReplicas") == 2 else None

    status = control_plane.wait_until("Deployment echo Available with 2 ready replicas", available)
    assert status["availableReplicas"] == 2

    slices_path = client.path_for("discovery.k8s.io/v1", "EndpointSlice", namespace=NAMESPACE)

    def ready_endpoints() -> list[str] | None:
        slices = client.request("GET", slices_path, query={"labelSelector": "kubernetes.io/service-name=echo"})
        addresses = [
            address
            for item in slices["items"]
            for endpoint in item.get("endpoints") or []
            if endpoint.get("conditions", {}).get("ready")
            for address in endpoint["addresses"]
        ]
        return addresses if len(addresses) == 2 else None

    addresses = control_plane.wait_until("2 ready endpoints for Service echo", ready_endpoints)
    assert len(set(addresses)) == 2, f"pods share an IP: {addresses}"

    route = client.apply(_http_route())
    assert route["metadata"]["uid"]
    assert route["spec"]["rules"][0]["backendRefs"][0]["name"] == "echo"

    namespace_path = f"/api/v1/namespaces/{NAMESPACE}"
    client.delete(namespace_path)
    # Completes only if the namespace controller and kwok finish off every pod.
    control_plane.wait_until(
        f"namespace {NAMESPACE} to be deleted", lambda: client.get_or_none(namespace_path) is None, timeout=120
    )
