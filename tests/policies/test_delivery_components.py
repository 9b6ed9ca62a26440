"""The Jenkins and Argo CD components as the pack sees them: each builder's build pod
trips exactly the rules the builder declares it cannot meet, the stacks' pack configs
exempt exactly those, and the components' NetworkPolicies pass the isolation rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.config import validate_stack_config
from components.jenkins import BUILDERS
from tests.conftest import ProgramRunner, stack_file_config
from tests.policies.conftest import PACK_DIR
from tests.policies.harness import Pack, from_graph
from tests.test_argocd import HUB, run_argocd
from tests.test_jenkins import declared_build_pod, run_jenkins

BUILD_POD = {"kind": "PodTemplate", "namespace": "jenkins-agents", "name": "image-builder"}


@pytest.mark.parametrize("builder", ["buildkit", "buildah", "kaniko"])
def test_the_pack_flags_exactly_the_builders_declared_exceptions(run_program: ProgramRunner, builder: str) -> None:
    """Each builder lists the rules its container cannot meet; the pack finds those on
    the build pod and nothing else (so an exemption for them hides nothing more)."""

    graph = run_jenkins(run_program, {"builder": builder})
    urn = declared_build_pod(graph).urn
    findings = [f for f in Pack().check(from_graph(graph)) if f.urn == urn]
    assert {f.policy for f in findings} == set(BUILDERS[builder].policy_exceptions)
    assert all('container "builder"' in f.message for f in findings), [f.message for f in findings]


def test_network_policies_pass_the_packs_isolation_rules(run_program: ProgramRunner) -> None:

    graph = run_jenkins(run_program, {"exposeViaGateway": True, "hostname": "ci.example.com"})
    findings = Pack().check(from_graph(graph))
    assert not [f for f in findings if f.policy in ("no-cross-namespace-access", "namespace-default-deny")]


def test_argocd_network_policies_pass_the_packs_isolation_rules(run_program: ProgramRunner) -> None:
    for config in ({"allowFromNamespaces": ["gateway"]}, HUB):
        findings = Pack().check(from_graph(run_argocd(run_program, config)))
        assert not [f for f in findings if f.policy in ("no-cross-namespace-access", "namespace-default-deny")]


def _exempted_rules(config: dict[str, Any], target: dict[str, str]) -> set[str]:
    return {
        rule
        for rule, settings in config.items()
        if isinstance(settings, dict)
        for entry in settings.get("exemptObjects", [])
        if {key: entry[key] for key in ("kind", "namespace", "name")} == target
    }


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stacks_pack_config_exempts_its_build_pod_from_exactly_its_builders_needs(stack: str) -> None:
    builder = BUILDERS[validate_stack_config(stack_file_config(stack)).jenkins.builder]
    config = json.loads((PACK_DIR / "config" / f"{stack}.json").read_text(encoding="utf-8"))
    assert _exempted_rules(config, BUILD_POD) == set(builder.policy_exceptions)


def test_every_exemption_names_one_object_and_why() -> None:
    for path in sorted((PACK_DIR / "config").glob("*.json")):
        for rule, settings in json.loads(path.read_text(encoding="utf-8")).items():
            for entry in settings.get("exemptObjects", []) if isinstance(settings, dict) else []:
                assert set(entry) == {"kind", "namespace", "name", "reason"}, f"{path.name} {rule}: {entry}"
                assert len(entry["reason"]) > 40, f"{path.name} {rule}: say why {entry['name']} is exempt"
