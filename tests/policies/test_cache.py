"""The pack's conversion caches (policies/rules/cache.py), installed the way the pack's
entry point installs them, behind pulumi-policy's own analyzer servicer."""

from __future__ import annotations

from typing import Any

import pulumi_policy.policy as sdk_policy
import pytest
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi.runtime import proto
from pulumi_policy import ResourceValidationPolicy, StackValidationPolicy
from rules import all_policies, cache

from components import program
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config
from tests.policies.corpus import mutable_image_deployment
from tests.policies.harness import analyze_request, from_graph, servicer

PROVIDER_PROPS = {"namespace": "shop", "renderYamlToDirectory": "build/manifests"}


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the protobuf-to-dict conversions the servicer makes. The SDK functions
    the caches replace are restored after the test."""
    for name in ("json_format", "deserialize_properties", "unknown_checking_proxy"):
        monkeypatch.setattr(sdk_policy, name, getattr(sdk_policy, name))
    monkeypatch.setattr(cache.Installed, "plain", None)
    counted: list[str] = []
    convert = json_format.MessageToDict

    def counting(message: Any, **options: Any) -> Any:
        counted.append(message.DESCRIPTOR.full_name)
        return convert(message, **options)

    monkeypatch.setattr(json_format, "MessageToDict", counting)
    return counted


def test_the_pack_process_uses_the_program_collector_thresholds() -> None:
    """The pack cannot import components/; the two settings are kept equal here."""
    assert cache.COLLECTOR_THRESHOLDS == program.COLLECTOR_THRESHOLDS


def _stack_request(requests: list[Any]) -> Any:
    return proto.AnalyzeStackRequest(
        resources=[
            proto.AnalyzerResource(urn=request.urn, type=request.type, name=request.name, properties=request.properties)
            for request in requests
        ]
    )


def _serve(requests: list[Any]) -> list[bytes]:
    analyzer = servicer()
    responses = [analyzer.Analyze(request, None) for request in requests]
    responses.append(analyzer.AnalyzeStack(_stack_request(requests), None))
    return [response.SerializeToString(deterministic=True) for response in responses]


def test_a_resource_is_converted_once_whatever_the_number_of_policies(conversions: list[str]) -> None:
    resource_policies = [policy for policy in all_policies() if isinstance(policy, ResourceValidationPolicy)]
    request = analyze_request(mutable_image_deployment(), PROVIDER_PROPS)
    servicer().Analyze(request, None)
    uncached = len(conversions)
    conversions.clear()

    cache.install()
    analyzer = servicer()
    analyzer.Analyze(request, None)
    analyzer.Analyze(request, None)

    assert uncached >= len(resource_policies) > 2
    # The resource's properties and its provider's, once each, for both calls.
    assert sorted(conversions) == ["google.protobuf.Struct"] * 2


def test_stack_policies_share_one_conversion_per_resource(conversions: list[str]) -> None:
    stack_policies = [policy for policy in all_policies() if isinstance(policy, StackValidationPolicy)]
    requests = [analyze_request(mutable_image_deployment(), PROVIDER_PROPS)]
    cache.install()

    servicer().AnalyzeStack(_stack_request(requests), None)

    assert len(stack_policies) > 1
    assert len(conversions) == 1


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_the_dev_stack_gets_the_same_findings_with_the_caches(
    conversions: list[str], run_program: ProgramRunner, preview: bool
) -> None:
    graph = run_program(main, config=stack_file_config("dev"), stack="dev", preview=preview)
    requests = [analyze_request(resource, PROVIDER_PROPS) for resource in from_graph(graph)]
    violating = analyze_request(mutable_image_deployment(), PROVIDER_PROPS)
    requests.append(violating)
    uncached = _serve(requests)

    cache.install()

    assert _serve(requests) == uncached
    assert b"image-pull-policy" in uncached[-2], "the violating Deployment was not reported"


def test_a_remediation_does_not_leak_into_the_cached_properties(conversions: list[str]) -> None:
    cache.install()
    analyzer = servicer()
    request = analyze_request(mutable_image_deployment(), PROVIDER_PROPS)

    first, second = (analyzer.Remediate(request, None) for _ in range(2))
    analyzed = analyzer.Analyze(request, None)

    for response in (first, second):
        [remediation] = response.remediations
        fixed = json_format.MessageToDict(remediation.properties)
        assert fixed["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    assert "image-pull-policy" in {diagnostic.policyName for diagnostic in analyzed.diagnostics}


def test_memo_evicts_the_oldest_entry_and_checks_identity() -> None:
    calls: list[object] = []

    def record(value: object) -> int:
        calls.append(value)
        return len(calls)

    memo: cache.Memo[object, int] = cache.Memo(record, capacity=2)
    first, second, third = [1], [2], [3]

    assert [memo(first), memo(second), memo(first)] == [1, 2, 1]
    memo(third)  # evicts `first`, the oldest entry
    assert memo(second) == 2
    assert memo(first) == 4
    assert memo([2]) == 5, "an equal but different object is not the cached one"
    assert len(memo) == 2
