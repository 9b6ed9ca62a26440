"""The pack behind pulumi-policy's own analyzer servicer, driven with the protobuf
requests the engine sends (GetAnalyzerInfo, Configure, Analyze, Remediate,
AnalyzeStack): the last step before `pulumi preview --policy-pack policies`."""

from __future__ import annotations

from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime import proto
from pulumi_policy import StackValidationPolicy
from rules import PACK_NAME, all_policies

from tests.policies.corpus import build, mutable_image_deployment, templates
from tests.policies.harness import Pack, analyze_request, servicer, struct

JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "array": list,
    "boolean": bool,
    "integer": (int, float),
    "string": str,
}


def test_analyzer_info_declares_every_policy_with_its_level_severity_and_schema() -> None:
    info = servicer().GetAnalyzerInfo(None, None)
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
    analyzer = servicer()
    resource = mutable_image_deployment()

    response = analyzer.Analyze(analyze_request(resource), None)

    levels = {diagnostic.policyName: diagnostic.enforcementLevel for diagnostic in response.diagnostics}
    # image-pull-policy is a remediate policy: a violation still seen at analysis blocks.
    assert levels == {"image-pinned": proto.MANDATORY, "image-pull-policy": proto.MANDATORY}
    assert all(diagnostic.urn in ("", resource.urn) for diagnostic in response.diagnostics)


def test_configure_changes_enforcement_and_properties() -> None:
    analyzer = servicer()
    analyzer.Configure(
        proto.ConfigureAnalyzerRequest(
            policyConfig={
                "image-pinned": proto.PolicyConfig(
                    enforcementLevel=proto.ADVISORY, properties=struct({"mutableTags": ["rc"]})
                ),
                "image-pull-policy": proto.PolicyConfig(enforcementLevel=proto.DISABLED),
            }
        ),
        None,
    )

    response = analyzer.Analyze(analyze_request(mutable_image_deployment()), None)

    # With "latest" no longer listed as mutable and the pull-policy rule off, nothing is left.
    assert [diagnostic.policyName for diagnostic in response.diagnostics] == []


def test_remediate_returns_the_fixed_properties() -> None:
    response = servicer().Remediate(analyze_request(mutable_image_deployment()), None)

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
                urn=resource.urn, type=resource.type, name=resource.name, properties=struct(dict(resource.props))
            )
            for resource in resources
        ]
    )

    response = servicer().AnalyzeStack(request, None)

    served = {(diagnostic.policyName, diagnostic.urn) for diagnostic in response.diagnostics}
    harnessed = {(finding.policy, finding.urn) for finding in Pack().analyze_stack(resources)}
    assert served == harnessed == {("namespace-default-deny", resources[0].urn)}
