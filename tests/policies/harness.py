"""Runs the pack's policies on resources the way the engine hands them over.

Props go through what the engine and pulumi-policy do to them: a protobuf Struct
(so every number arrives as a float), `deserialize_properties`, and the
unknown-checking proxy that raises on values not known during preview (or, for
remediations, the secret-preserving proxy). Enforcement levels and policy config
follow the engine: a policy's own level unless the pack config overrides it,
disabled policies skipped, config properties passed to `get_config()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties, serialize_properties
from pulumi_policy.policy import _NotApplicableError, _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy
from rules import PACK_NAME, all_policies

from tests.graph import Graph

STACK_URN_PREFIX = "urn:pulumi:test::delivery-platform::"


def to_wire(props: Mapping[str, Any]) -> dict[str, Any]:
    """Props as they come out of the engine's gRPC request."""
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    wire: dict[str, Any] = json_format.MessageToDict(struct)
    return wire


def analyze_props(wire: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a validation receives: fresh per policy, as the SDK deserializes per policy."""
    proxied: Mapping[str, Any] = unknown_checking_proxy(deserialize_properties(dict(wire)))
    return proxied


def remediate_props(wire: Mapping[str, Any]) -> Mapping[str, Any]:
    proxied: Mapping[str, Any] = unknown_checking_proxy(deserialize_properties(dict(wire), True))
    return proxied


@dataclass(frozen=True)
class Res:
    """A resource as registered: its type, Pulumi name, props (inputs; also used as
    outputs for stack policies), provider inputs and options."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""  # default: a URN of a top-level resource of the test stack
    provider: Mapping[str, Any] | None = None
    provider_type: str = "pulumi:providers:kubernetes"
    parent: str | None = None
    depends_on: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.urn:
            object.__setattr__(self, "urn", f"{STACK_URN_PREFIX}{self.type}::{self.name}")

    @property
    def wire(self) -> dict[str, Any]:
        return to_wire(self.props)

    def options(self) -> PolicyResourceOptions:
        return PolicyResourceOptions(
            False, list(self.ignore_changes), None, [], PolicyCustomTimeouts(0, 0, 0), [], self.parent
        )

    def provider_resource(self) -> PolicyProviderResource | None:
        if self.provider is None:
            return None
        return PolicyProviderResource(
            self.provider_type,
            analyze_props(to_wire(self.provider)),
            f"{STACK_URN_PREFIX}{self.provider_type}::provider",
            "provider",
        )


@dataclass(frozen=True)
class Finding:
    policy: str
    urn: str
    message: str
    enforcement: EnforcementLevel


class Pack:
    """The policy pack with a policy-pack config, in the format of
    `--policy-pack-config`: {"<policy>": "<level>" | {"enforcementLevel": ..., <props>}}."""

    def __init__(self, config: Mapping[str, Any] | None = None, policies: Sequence[Policy] | None = None) -> None:
        self.policies = list(policies) if policies is not None else all_policies()
        self.levels: dict[str, EnforcementLevel] = {}
        self.properties: dict[str, dict[str, Any]] = {}
        for name, value in (config or {}).items():
            if isinstance(value, str):
                self.levels[name] = EnforcementLevel(value)
                continue
            given = dict(value)
            if "enforcementLevel" in given:
                self.levels[name] = EnforcementLevel(given.pop("enforcementLevel"))
            self.properties[name] = given
        self.not_applicable: list[tuple[str, str]] = []

    def level(self, policy: Policy) -> EnforcementLevel:
        level = self.levels.get(policy.name, policy.enforcement_level)
        assert level is not None
        return level

    def _config(self, policy: Policy) -> dict[str, Any] | None:
        return dict(self.properties[policy.name]) if policy.name in self.properties else None

    def analyze(self, resource: Res) -> list[Finding]:
        findings: list[Finding] = []
        wire = resource.wire
        for policy in self.policies:
            level = self.level(policy)
            if level is EnforcementLevel.DISABLED or not isinstance(policy, ResourceValidationPolicy):
                continue
            # A violation left after remediation is reported as mandatory, like the SDK does.
            reported = EnforcementLevel.MANDATORY if level is EnforcementLevel.REMEDIATE else level
            args = ResourceValidationArgs(
                resource.type,
                analyze_props(wire),
                resource.urn,
                resource.name,
                resource.options(),
                resource.provider_resource(),
                self._config(policy),
            )

            try:
                result = policy.validate(args, _reporter(findings, policy.name, reported, resource.urn))
                assert result is None, "the pack's validations are synchronous"
            except _NotApplicableError:
                self.not_applicable.append((policy.name, resource.urn))
        return findings

    def remediate(self, resource: Res) -> dict[str, Any]:
        """Props after every remediate-level policy ran, in pack order (as the engine does)."""
        props = remediate_props(resource.wire)
        for policy in self.policies:
            if self.level(policy) is not EnforcementLevel.REMEDIATE or not isinstance(policy, ResourceValidationPolicy):
                continue
            args = ResourceValidationArgs(
                resource.type,
                props,
                resource.urn,
                resource.name,
                resource.options(),
                resource.provider_resource(),
                self._config(policy),
            )
            result: Any = policy.remediate(args)  # synchronous here, despite the SDK's annotation
            if result is not None:
                props = result
        plain: dict[str, Any] = json_format.MessageToDict(struct(serialize_properties(props)))
        return plain

    def analyze_stack(self, resources: Sequence[Res]) -> list[Finding]:
        findings: list[Finding] = []
        wires = [resource.wire for resource in resources]
        for policy in self.policies:
            level = self.level(policy)
            if level is EnforcementLevel.DISABLED or not isinstance(policy, StackValidationPolicy):
                continue
            reported = EnforcementLevel.MANDATORY if level is EnforcementLevel.REMEDIATE else level

            stack = StackValidationArgs(_stack_resources(resources, wires), self._config(policy))
            result = policy.validate(stack, _reporter(findings, policy.name, reported, ""))
            assert result is None, "the pack's validations are synchronous"
        return findings

    def check(self, resources: Sequence[Res]) -> list[Finding]:
        """Everything a preview reports: each resource, then the stack."""
        return [finding for resource in resources for finding in self.analyze(resource)] + self.analyze_stack(resources)


def _reporter(
    findings: list[Finding], policy: str, level: EnforcementLevel, resource_urn: str
) -> Callable[[str, str | None], None]:
    """The report callback: resource policies report on their resource, stack policies
    on the URN they name (or the stack)."""

    def report(message: str, urn: str | None = None) -> None:
        findings.append(Finding(policy, resource_urn or urn or "", message, level))

    return report


def struct(props: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(props))
    return message


def servicer() -> Any:
    """pulumi-policy's own analyzer servicer with the pack's policies, as the pack serves them."""
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", all_policies(), EnforcementLevel.ADVISORY)


def analyze_request(resource: Res, provider: Mapping[str, Any] | None = None) -> Any:
    """The AnalyzeRequest (also a RemediateRequest) the engine sends for `resource`."""
    request = proto.AnalyzeRequest(
        urn=resource.urn, type=resource.type, name=resource.name, properties=struct(resource.props)
    )
    if provider is not None:
        request.provider.CopyFrom(
            proto.AnalyzerProviderResource(
                type=resource.provider_type, urn="urn:provider", name="provider", properties=struct(provider)
            )
        )
    return request


def _stack_resources(resources: Sequence[Res], wires: Sequence[Mapping[str, Any]]) -> list[PolicyResource]:
    """PolicyResources linked to their parents and dependencies, as AnalyzeStack builds them."""
    built = {
        resource.urn: PolicyResource(
            resource.type,
            analyze_props(wire),
            resource.urn,
            resource.name,
            resource.options(),
            resource.provider_resource(),
            None,
            [],
            {},
        )
        for resource, wire in zip(resources, wires, strict=True)
    }
    for resource in resources:
        policy_resource = built[resource.urn]
        policy_resource.parent = built.get(resource.parent or "")
        policy_resource.dependencies = [built[urn] for urn in resource.depends_on if urn in built]
        policy_resource.property_dependencies = {
            key: [built[urn] for urn in urns if urn in built] for key, urns in resource.property_dependencies.items()
        }
    return list(built.values())


def policy_names(findings: Iterable[Finding]) -> set[str]:
    return {finding.policy for finding in findings}


def _jsonable(value: Any) -> Any:
    """Recorded inputs as the engine would marshal them (assets and the like as text)."""
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def from_graph(graph: Graph) -> list[Res]:
    """The resources a mocks run registered, as the engine would hand them to the pack.
    Kubernetes objects without a name get the one the mocks reported as their output
    (the provider's Check would autoname them before the analyzers run)."""
    by_urn = {resource.urn: resource for resource in graph}
    found = []
    for resource in graph:
        props = _jsonable(resource.inputs)
        metadata = props.get("metadata")
        if resource.type.startswith("kubernetes:") and isinstance(metadata, dict):
            metadata.setdefault("name", f"{resource.name}-generated")
        provider = by_urn.get(resource.provider_urn)
        found.append(
            Res(
                type=resource.type,
                name=resource.name,
                props=props,
                urn=resource.urn,
                provider=_jsonable(provider.inputs) if provider is not None else None,
                provider_type=provider.type if provider is not None else "pulumi:providers:kubernetes",
                parent=resource.parent or None,
                depends_on=tuple(resource.depends_on),
                ignore_changes=tuple(resource.options.get("ignoreChanges", ())),
            )
        )
    return found
