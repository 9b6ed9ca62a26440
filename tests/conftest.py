"""Pulumi mocks harness: every test runs a program in a fresh runtime and event loop,
and gets back the whole registered graph (types, names, inputs, parents, providers,
dependencies, options)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, Mocks

from components.config import PROJECT
from components.release.stackfile import is_secure, platform_settings
from tests.graph import Graph, Registered

REPO = Path(__file__).resolve().parent.parent


# The passwords every program run gets as stack secrets, as a stack file's encrypted
# values would provide them (unique, so a test finds any copy of one in the graph).
PLATFORM_SECRETS = {
    "jenkinsAdminPassword": "test-jenkins-admin-Jq4v8Rz2",
    "argocdAdminPassword": "test-argocd-admin-Wm3k9Tx7",
    "argocdRedisPassword": "test-argocd-redis-Hb6n2Lc5",
}


def mock_dns_endpoint(resource_name: str) -> str:
    """The DNS control-plane endpoint the mocks give a GKE cluster of that name."""
    return f"gke-{hashlib.sha256(resource_name.encode()).hexdigest()[:32]}.europe-west1.gke.goog"


class RecordingMocks(Mocks):
    """Echo inputs back as outputs, with plausible ids and a few computed fields the
    components read (cluster endpoints and CA, service account email and member)."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state = dict(args.inputs)
        if args.typ == "gcp:container/cluster:Cluster":
            state.setdefault("endpoint", "203.0.113.10")
            state["masterAuth"] = {**(state.get("masterAuth") or {}), "clusterCaCertificate": "Q0EtREFUQQ=="}
            endpoints = dict(state.get("controlPlaneEndpointsConfig") or {})
            dns = dict(endpoints.get("dnsEndpointConfig") or {})
            dns.setdefault("endpoint", mock_dns_endpoint(args.name))
            state["controlPlaneEndpointsConfig"] = {**endpoints, "dnsEndpointConfig": dns}
        if args.typ == "gcp:serviceaccount/account:Account":
            email = f"{state['accountId']}@{state.get('project', 'mock-project')}.iam.gserviceaccount.com"
            state.setdefault("email", email)
            state.setdefault("member", f"serviceAccount:{email}")
        if args.typ.startswith("kubernetes:") and "metadata" in state:
            metadata = dict(state["metadata"] or {})
            metadata.setdefault("name", f"{args.name}-generated")
            state["metadata"] = metadata
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        if args.token == "gcp:organizations/getClientConfig:getClientConfig":
            return {"project": "mock-project", "accessToken": "mock-token"}, None
        return {}, None


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[Registered] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.recorded.append(
                Registered(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    custom=bool(request.custom),
                    inputs=inputs,
                    parent=request.parent,
                    provider=request.provider,
                    depends_on=list(request.dependencies),
                    protect=bool(request.protect),
                    property_dependencies={
                        key: list(dependencies.urns) for key, dependencies in request.propertyDependencies.items()
                    },
                    options={
                        "ignoreChanges": list(request.ignoreChanges),
                        "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                        "replaceOnChanges": list(request.replaceOnChanges),
                        "additionalSecretOutputs": list(request.additionalSecretOutputs),
                        "retainOnDelete": bool(request.retainOnDelete),
                        "aliases": [alias.spec.type for alias in request.aliases if alias.spec.type],
                    },
                )
            )
        return response


def repo_stack_file(stack: str) -> dict[str, Any]:
    """This repository's Pulumi.<stack>.yaml, parsed."""
    document: dict[str, Any] = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return document


def stack_file_config(stack: str) -> dict[str, Any]:
    """The `delivery-platform:` keys of Pulumi.<stack>.yaml, without the prefix; its
    encrypted secrets are left out (runs get PLATFORM_SECRETS instead)."""
    return platform_settings(repo_stack_file(stack))


def stack_file_secrets(stack: str) -> list[str]:
    """The secret keys Pulumi.<stack>.yaml carries encrypted."""
    return [key.split(":", 1)[1] for key, value in repo_stack_file(stack)["config"].items() if is_secure(value)]


class ProgramRunner:
    """Runs `program()` under mocks with the given stack config (raw values, as in a
    stack file) and returns the registered graph. Exceptions from the program
    propagate; `last_graph` still holds what was registered before them."""

    def __init__(self) -> None:
        self.last_graph = Graph([])

    def __call__(
        self,
        program: Callable[[], Any],
        config: dict[str, Any] | None = None,
        secrets: dict[str, str] | None = None,
        stack: str = "test",
        preview: bool = False,
        *,
        platform_secrets: bool = True,
        mocks: Mocks | None = None,
    ) -> Graph:
        """`secrets` are added to PLATFORM_SECRETS (unless `platform_secrets` is false)."""
        secrets = {**(PLATFORM_SECRETS if platform_secrets else {}), **(secrets or {})}
        mocks = mocks or RecordingMocks()
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
        values = {
            f"{PROJECT}:{key}": value if isinstance(value, str) else json.dumps(value)
            for key, value in (config or {}).items()
        }
        values.update({f"{PROJECT}:{key}": value for key, value in (secrets or {}).items()})
        pulumi.runtime.set_all_config(values, [f"{PROJECT}:{key}" for key in (secrets or {})])
        self.last_graph = Graph(monitor.recorded)
        pulumi.runtime.mocks.test(program)()  # type: ignore[no-untyped-call]
        return self.last_graph


UNREACHABLE_IN_TESTS = "no chart source is reached from unit tests"


@pytest.fixture(autouse=True)
def no_chart_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never touch the network: every chart source counts as unreachable
    (only stacks with `whenUnreachable: skip` ever ask)."""
    monkeypatch.setattr("components.charts.unreachable_because", lambda chart, repository_opts: UNREACHABLE_IN_TESTS)


@pytest.fixture
def run_program() -> Iterator[ProgramRunner]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield ProgramRunner()
    pulumi.runtime.set_all_config({})
    loop.close()
    asyncio.set_event_loop(None)
