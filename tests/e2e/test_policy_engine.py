"""The policy pack through the real engine's policy analyzer: the dev stack passes,
a violating program fails naming each broken rule, and remediation visibly fixes a
resource before it is rendered."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import repo_stack_file
from tests.e2e.pulumi_cli import REPO, PulumiProject
from tests.policies.program.scenarios import REMEDIATED, VIOLATIONS

PACK = str(REPO / "policies")
PROGRAM = REPO / "tests" / "policies" / "program"


def test_dev_stack_passes_the_policy_pack(tmp_path: Path) -> None:
    project = PulumiProject(tmp_path, {"dev": repo_stack_file("dev")})
    project.init_stack("dev")
    preview = project.run(
        "preview",
        "--stack",
        "dev",
        "--policy-pack",
        PACK,
        "--policy-pack-config",
        str(REPO / "policies" / "config" / "dev.json"),
    )
    assert "✅ delivery-platform@v" in preview.output, preview.output
    assert "mandatory" not in preview.output


def test_violating_program_fails_naming_every_broken_rule(tmp_path: Path) -> None:
    project = PulumiProject(tmp_path, source=PROGRAM, files=("scenarios.py",))
    project.init_stack("violations")
    preview = project.run("preview", "--stack", "violations", "--policy-pack", PACK, check=False)
    assert preview.returncode != 0
    missing = {rule for rule in VIOLATIONS if rule not in preview.output}
    assert not missing, preview.output


def test_remediation_fixes_the_resource_before_it_is_rendered(tmp_path: Path) -> None:
    project = PulumiProject(tmp_path, source=PROGRAM, files=("scenarios.py",))
    project.init_stack("remediation")
    project.run("config", "set", "scenario", "remediation", "--stack", "remediation")
    up = project.run("up", "--stack", "remediation", "--yes", "--skip-preview", "--policy-pack", PACK)
    policy, value = REMEDIATED
    assert f"[remediate]  {policy}" in up.output
    [manifest] = (tmp_path / "build" / "rendered").rglob("apps_v1-deployment-*.yaml")
    deployment = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    assert {c["imagePullPolicy"] for c in deployment["spec"]["template"]["spec"]["containers"]} == {value}
