"""Pulumi mocks harness: every test runs a program in a fresh runtime and event loop,
and gets back the whole registered graph (types, names, inputs, parents, providers,
dependencies, options)."""

from __future__ import annotations

import asyncio
import base64
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
from tests.graph import Graph, Registered

REPO = Path(__file__).resolve().parent.parent


def mock_random_password(resource_name: str) -> str:
    """The `result` the mocks give a RandomPassword of that name."""
    return "MockPw" + hashlib.sha256(resource_name.encode()).hexdigest()[:26]


def mock_dns_endpoint(resource_name: str) -> str:
    """The DNS control-plane endpoint the mocks give a GKE cluster of that name."""
    return f"gke-{hashlib.sha256(resource_name.encode()).hexdigest()[:32]}.europe-west1.gke.goog"


class RecordingMocks(Mocks):
    """Echo inputs back as outputs, with plausible ids and a few computed fields the
    components read (cluster endpoints and CA, service account email and member,
    generated passwords and bytes)."""

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
        if args.typ == "random:index/randomPassword:RandomPassword":
            # Unique per resource and never marked secret here (the engine would): a
            # test finds it if a component ever passes it on in plaintext.
            state.setdefault("result", mock_random_password(args.name))
        if args.typ == "random:index/randomBytes:RandomBytes":
            state.setdefault("base64", base64.b64encode(hashlib.sha256(args.name.encode()).digest()[:16]).decode())
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


def stack_file_config(stack: str) -> dict[str, Any]:
    """The `delivery-platform:` keys of Pulumi.<stack>.yaml, without the prefix."""
    document = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return {key.split(":", 1)[1]: value for key, value in document["config"].items() if key.startswith(f"{PROJECT}:")}


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
        mocks: Mocks | None = None,
    ) -> Graph:
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


@pytest.fixture
def run_program() -> Iterator[ProgramRunner]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    yield ProgramRunner()
    pulumi.runtime.set_all_config({})
    loop.close()
    asyncio.set_event_loop(None)
