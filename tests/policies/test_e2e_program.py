"""The program under tests/policies/program does what the real-engine check expects of
it, verified here with the mocks harness: `violations` breaks exactly the rules it
declares, and `remediation` is fixed by the pack and then passes."""

from __future__ import annotations

from pathlib import Path

from pulumi_policy import EnforcementLevel

from tests.conftest import ProgramRunner
from tests.policies.harness import Pack, Res, from_graph
from tests.policies.program.scenarios import REMEDIATED, VIOLATIONS, remediation, violations


def test_violations_break_exactly_the_declared_rules(run_program: ProgramRunner, tmp_path: Path) -> None:
    resources = from_graph(run_program(lambda: violations(str(tmp_path))))

    findings = Pack().check(resources)

    assert {f.policy for f in findings if f.enforcement is EnforcementLevel.MANDATORY} == VIOLATIONS


def test_remediation_is_fixed_by_the_pack_and_then_passes(run_program: ProgramRunner, tmp_path: Path) -> None:
    resources = from_graph(run_program(lambda: remediation(str(tmp_path))))
    pack = Pack()
    policy, value = REMEDIATED
    assert {f.policy for f in pack.check(resources)} == {policy}

    fixed = [Res(type=r.type, name=r.name, props=pack.remediate(r), urn=r.urn) for r in resources]

    [deployment] = [r for r in fixed if r.type == "kubernetes:apps/v1:Deployment"]
    assert deployment.props["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == value
    assert pack.check(fixed) == []
