"""The pack behind pulumi-policy's own analyzer servicer, driven with the protobuf
requests the engine sends (GetAnalyzerInfo, Configure, Analyze, Remediate,
AnalyzeStack): the last step before `pulumi preview --policy-pack policies`."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer
from rules import PACK_NAME, all_policies

from tests.policies.corpus import build, templates
from tests.policies.harness import Pack, Res


def _servicer() -> Any:
    return _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", all_policies(), EnforcementLevel.ADVISORY)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(props)
    return struct


def _request(resource: Res) -> Any:
    return proto.AnalyzeRequest(
        urn=resource.urn, type=resource.type, name=resource.name, properties=_struct(dict(resource.props))
    )


def _latest_without_pull_policy() -> Res:
    resource, _ = build(
        {
            "from": "deployment",
            "set": {"spec.template.spec.containers[0].image": "registry.example.com/shop/web:latest"},
            "unset": ["spec.template.spec.containers[0].imagePullPolicy"],
        },
        templates(),
    )
    return resource


JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "array": list,
    "boolean": bool,
    "integer": (int, float),
    "string": str,
}


def test_analyzer_info_declares_every_policy_with_its_level_severity_and_schema() -> None:
    info = _servicer().GetAnalyzerInfo(None, None)
    policies = {policy.name: policy for policy in all_policies()}

    assert info.name == PACK_NAME
    assert [declared.name for declared in info.policies] == list(policies)
    for declared in info.policies:
        policy = policies[declared.name]
        assert policy.enforcement_level is not None
        assert declared.enforcementLevel == proto.EnforcementLevel.Value(policy.enforcement_level.name)
        assert declared.severity != proto.POLICY_SEVERITY_UNSPECIFIED
        assert declared.remediation_steps
        stack = isinstance(policy, StackValidationPolicy)
        assert declared.policy_type == (proto.POLICY_TYPE_STACK if stack else proto.POLICY_TYPE_RESOURCE)
        for key, schema in json_format.MessageToDict(declared.configSchema.properties).items():
            assert schema["description"], f"{declared.name}.{key}"
            assert isinstance(schema["default"], JSON_TYPES[schema["type"]]), f"{declared.name}.{key}"


def test_analyze_reports_violations_by_policy_name_with_their_levels() -> None:
    servicer = _servicer()
    resource = _latest_without_pull_policy()

    response = servicer.Analyze(_request(resource), None)

    levels = {diagnostic.policyName: diagnostic.enforcementLevel for diagnostic in response.diagnostics}
    # image-pull-policy is a remediate policy: a violation still seen at analysis blocks.
    assert levels == {"image-pinned": proto.MANDATORY, "image-pull-policy": proto.MANDATORY}
    assert all(diagnostic.urn in ("", resource.urn) for diagnostic in response.diagnostics)


def test_configure_changes_enforcement_and_properties() -> None:
    servicer = _servicer()
    servicer.Configure(
        proto.ConfigureAnalyzerRequest(
            policyConfig={
                "image-pinned": proto.PolicyConfig(
                    enforcementLevel=proto.ADVISORY, properties=_struct({"mutableTags": ["rc"]})
                ),
                "image-pull-policy": proto.PolicyConfig(enforcementLevel=proto.DISABLED),
            }
        ),
        None,
    )

    response = servicer.Analyze(_request(_latest_without_pull_policy()), None)

    # With "latest" no longer listed as mutable and the pull-policy rule off, nothing is left.
    assert [diagnostic.policyName for diagnostic in response.diagnostics] == []


def test_remediate_returns_the_fixed_properties() -> None:
    response = _servicer().Remediate(_request(_latest_without_pull_policy()), None)

    [remediation] = response.remediations
    fixed = json_format.MessageToDict(remediation.properties)
    assert remediation.policyName == "image-pull-policy"
    assert fixed["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"


def test_analyze_stack_agrees_with_the_harness() -> None:
    library = templates()
    resources = [build({"from": name}, library)[0] for name in ("namespace", "deployment")]
    request = proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(
                urn=resource.urn, type=resource.type, name=resource.name, properties=_struct(dict(resource.props))
            )
            for resource in resources
        ]
    )

    response = _servicer().AnalyzeStack(request, None)

    served = {(diagnostic.policyName, diagnostic.urn) for diagnostic in response.diagnostics}
    harnessed = {(finding.policy, finding.urn) for finding in Pack().analyze_stack(resources)}
    assert served == harnessed == {("namespace-default-deny", resources[0].urn)}
