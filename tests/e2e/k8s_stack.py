"""The e2e stack for the local control plane: one app per deployment strategy across
two environments, on cluster kind `kubeconfig`. Jenkins and Argo CD are off (their
charts and pulumi-random cannot be had offline) and no registry is set (kwok never
pulls an image)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from components.config import PROJECT, StackConfig, validate_stack_config
from tests.conftest import repo_stack_file
from tests.e2e.controlplane import LocalControlPlane
from tests.e2e.pulumi_cli import PulumiProject, Run

STACK = "e2e"
TEST_ENV = "strategies-test"
UAT_ENV = "strategies-uat"
# Where the canary HTTPRoute's Gateway lives (nothing serves it here: no gateway
# controller runs, so the route is only checked as an object).
GATEWAY_NAMESPACE = "gateway"

RECREATE = "orders"
ROLLING = "catalog"
BLUE_GREEN = "checkout"
CANARY = "storefront"

REGISTRY = "registry.example.com/shop"


def image(app: str, version: str) -> str:
    return f"{REGISTRY}/{app}:{version}"


def initial_config(kubeconfig: Path) -> dict[str, Any]:
    """Raw stack config (keys without the project prefix), as a user writes it."""
    return {
        "cluster": {"kind": "kubeconfig", "path": str(kubeconfig)},
        # The canary's HTTPRoute lives in UAT_ENV: that namespace admits the Gateway.
        "environments": [{"name": TEST_ENV}, {"name": UAT_ENV, "allowFromNamespaces": [GATEWAY_NAMESPACE]}],
        "jenkins": {"enabled": False},
        "argocd": {"enabled": False},
        "apps": [
            {
                "name": RECREATE,
                "environment": TEST_ENV,
                "image": image(RECREATE, "1.8.0-b412"),
                "replicas": 2,
                "strategy": {"type": "recreate", "migration": {"command": ["/app/migrate", "--to", "latest"]}},
            },
            {
                "name": ROLLING,
                "environment": UAT_ENV,
                "image": image(ROLLING, "2.3.1-b77"),
                "replicas": 3,
                "strategy": {"type": "rolling", "maxSurge": 1, "maxUnavailable": 0},
            },
            {
                "name": BLUE_GREEN,
                "environment": TEST_ENV,
                "replicas": 2,
                "strategy": {
                    "type": "blue-green",
                    "active": "blue",
                    "blue": {"image": image(BLUE_GREEN, "4.0.2-b301")},
                    "green": {"image": image(BLUE_GREEN, "4.0.1-b290")},
                },
            },
            {
                "name": CANARY,
                "environment": UAT_ENV,
                "image": image(CANARY, "7.2.0-b903"),
                "replicas": 2,
                "strategy": {
                    "type": "canary",
                    "canaryImage": image(CANARY, "7.3.0-b921"),
                    "weight": 10,
                    "steps": [10, 25, 50, 100],
                    "hostnames": ["shop.test.example.com"],
                    "gateway": {"name": "platform-gateway", "namespace": GATEWAY_NAMESPACE},
                    "match": {"headers": [{"name": "x-canary", "value": "always"}], "cookie": "canary"},
                },
            },
        ],
    }


def app_entry(config: dict[str, Any], name: str) -> dict[str, Any]:
    entry: dict[str, Any] = next(app for app in config["apps"] if app["name"] == name)
    return entry


def edited(config: dict[str, Any]) -> dict[str, Any]:
    """A deep copy to change for the next `pulumi up`, leaving the previous one intact."""
    return copy.deepcopy(config)


def write_stack_file(workdir: Path, config: dict[str, Any], secure: dict[str, Any] | None = None) -> None:
    """Writes the raw config, plus `secure` values (already encrypted, by key)."""
    path = workdir / f"Pulumi.{STACK}.yaml"
    # Once the stack exists the file also holds the secrets provider's salt: keep it.
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    document["config"] = {f"{PROJECT}:{key}": value for key, value in {**config, **(secure or {})}.items()}
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


def dev_secrets(keys: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The dev stack's encryption salt and its encrypted values of `keys`: with the dev
    passphrase (toolchain/env.sh) a stack file holding both decrypts them."""
    document = repo_stack_file("dev")
    settings: dict[str, Any] = document["config"]
    return str(document["encryptionsalt"]), {key: settings[f"{PROJECT}:{key}"] for key in keys}


# --------------------------------------------------------------------------- the stack's state


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str | None
    name: str


@dataclass(frozen=True)
class StackState:
    """`pulumi stack export`: what the engine recorded, without secrets' plain text."""

    text: str

    @property
    def resources(self) -> list[dict[str, Any]]:
        resources: list[dict[str, Any]] = json.loads(self.text)["deployment"].get("resources") or []
        return resources

    def outputs(self, type_token: str) -> dict[str, dict[str, Any]]:
        """The registered outputs of every resource of a type (e.g. a component), by URN name."""
        return {r["urn"].rsplit("::", 1)[1]: r.get("outputs", {}) for r in self.resources if r["type"] == type_token}

    def one_output(self, type_token: str) -> dict[str, Any]:
        (outputs,) = self.outputs(type_token).values()
        return outputs

    def kubernetes_objects(self) -> list[ObjectRef]:
        """Every object the stack owns. Patches are left out: they change objects that
        belong to something else (a namespace's default ServiceAccount, a Deployment)."""
        refs = []
        for resource in self.resources:
            if not resource["type"].startswith("kubernetes:") or resource["type"].endswith("Patch"):
                continue
            outputs = resource["outputs"]
            metadata = outputs["metadata"]
            refs.append(ObjectRef(outputs["apiVersion"], outputs["kind"], metadata.get("namespace"), metadata["name"]))
        return refs


# --------------------------------------------------------------------------- the server's objects

# Namespaced kinds a snapshot holds: what the stack creates and what controllers make of it.
NAMESPACED_KINDS = {
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "Pod": "v1",
    "Service": "v1",
    "EndpointSlice": "discovery.k8s.io/v1",
    "Job": "batch/v1",
    "ServiceAccount": "v1",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "ResourceQuota": "v1",
    "LimitRange": "v1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
}


@dataclass(frozen=True)
class Snapshot:
    """The server's objects in some namespaces at one moment, so a test can compare
    phases whatever order the tests run in."""

    namespaces: dict[str, dict[str, Any]]
    objects: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(repr=False)

    def of_kind(self, kind: str, namespace: str) -> dict[str, dict[str, Any]]:
        """Objects of a kind in a namespace, by name."""
        return self.objects[(kind, namespace)]

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        found = self.of_kind(kind, namespace)
        assert name in found, f"no {kind} {namespace}/{name} on the server; there are {sorted(found)}"
        return found[name]


def take_snapshot(control_plane: LocalControlPlane, namespaces: list[str]) -> Snapshot:
    client = control_plane.client
    objects = {}
    for namespace in namespaces:
        for kind, api_version in NAMESPACED_KINDS.items():
            items = client.list_objects(client.path_for(api_version, kind, namespace=namespace))["items"]
            objects[(kind, namespace)] = {item["metadata"]["name"]: item for item in items}
    found = {name: client.get_or_none(f"/api/v1/namespaces/{name}") for name in namespaces}
    return Snapshot({name: ns for name, ns in found.items() if ns is not None}, objects)


# --------------------------------------------------------------------------- driving the stack

# A hung await (a Service waiting for endpoints waits 10 minutes by default) fails the
# run long before the CI job's own limit.
COMMAND_TIMEOUT = 240.0


class E2EStack:
    """An e2e stack in a throw-away copy of the program, applied to the control plane;
    by default the one-app-per-strategy stack of `initial_config`."""

    def __init__(
        self,
        project: PulumiProject,
        control_plane: LocalControlPlane,
        config: dict[str, Any] | None = None,
        *,
        secrets: Sequence[str] = (),
    ) -> None:
        """`secrets`: config secrets the stack needs, taken (encrypted) from the dev stack."""
        self.project = project
        self.control_plane = control_plane
        self.destroyed = False
        self.timings: dict[str, float] = {}
        # What each command printed, by label, for failure messages.
        self.outputs: dict[str, str] = {}
        self._secure: dict[str, Any] = {}
        if secrets:
            salt, self._secure = dev_secrets(secrets)
            path = project.workdir / f"Pulumi.{STACK}.yaml"
            path.write_text(yaml.safe_dump({"encryptionsalt": salt}), encoding="utf-8")
        self.write_config(config or initial_config(control_plane.kubeconfig))
        project.init_stack(STACK)

    def write_config(self, config: dict[str, Any]) -> None:
        write_stack_file(self.project.workdir, config, self._secure)

    def _run(self, label: str, *args: str, check: bool = True) -> Run:
        started = time.monotonic()
        try:
            run = self.project.run(*args, "--stack", STACK, check=check, timeout=COMMAND_TIMEOUT)
        finally:
            self.timings[label] = time.monotonic() - started
        self.outputs[label] = run.output
        return run

    def up(self, label: str, config: dict[str, Any], *extra: str) -> StackConfig:
        """Applies the raw config with `pulumi up` (and `extra` flags); returns it validated."""
        self.write_config(config)
        self._run(label, "up", "--yes", "--skip-preview", *extra)
        return validate_stack_config(config)

    def failing_up(self, label: str, config: dict[str, Any]) -> Run:
        """A `pulumi up` that must fail; returns what it printed."""
        self.write_config(config)
        run = self._run(label, "up", "--yes", "--skip-preview", check=False)
        assert run.returncode != 0, f"{label}: pulumi up succeeded but should have failed:\n{run.output}"
        return run

    def preview_expecting_no_changes(self, label: str) -> Run:
        return self._run(label, "preview", "--expect-no-changes", "--diff", check=False)

    def state(self) -> StackState:
        return StackState(self.project.run("stack", "export", "--stack", STACK).stdout)

    def destroy(self) -> None:
        self._run("destroy", "destroy", "--yes", "--skip-preview")
        self.destroyed = True

    def clean_up(self) -> None:
        """Destroys what is left when the destroy phase failed or did not run, so the
        session's shared cluster holds nothing of this stack."""
        if not self.destroyed:
            self.project.run("destroy", "--stack", STACK, "--yes", "--skip-preview", check=False)
