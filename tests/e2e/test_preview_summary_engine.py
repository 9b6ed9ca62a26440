"""The preview summary tool on real engine output: the dev stack is brought up, its
config changed so that the next preview creates, updates, replaces and deletes
resources, touches protected ones and breaks a mandatory policy, and the tool's
Markdown is checked against the config change and the engine's own records.

The preview runs exactly as the CI files run it (scripts/ci-stack.sh, `--event-log`),
and also as plain `pulumi preview --json`, whose digest carries no policy results."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import pytest
import yaml

from components.config import RecreateStrategy, validate_stack_config
from components.tools.preview_summary import EXIT_GATE_FAILED
from tests.conftest import repo_stack_file, stack_file_config
from tests.e2e.pulumi_cli import REPO, PulumiProject, Run
from tests.test_preview_summary import count_rows, rows, sections

APPS_KEY = "delivery-platform:apps"
APP_WORKLOAD = "delivery-platform:workloads:AppWorkload"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
# A rolling app that can run a single pod breaks the pack's `zero-downtime-replicas`
# (mandatory); the config model allows it (a single pod gets no PodDisruptionBudget).
NEW_APP = "search"
ZERO_DOWNTIME_POLICY = "zero-downtime-replicas"


def summarise(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "components.tools.preview_summary", "--stack", "dev", *arguments],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


def resource_names(resources: list[dict[str, Any]], component_type: str, app: str) -> dict[str, set[str]]:
    """Names of the app's component and its children by type, from `pulumi stack export`."""
    (component,) = (r for r in resources if r["type"] == component_type and r["urn"].endswith(f"-{app}"))
    names: dict[str, set[str]] = {component_type: {component["urn"].split("::")[-1]}}
    for resource in resources:
        if resource.get("parent") == component["urn"]:
            names.setdefault(resource["type"], set()).add(resource["urn"].split("::")[-1])
    return names


def delivered_by_pulumi(stack: dict[str, Any]) -> dict[str, Any]:
    """The stack file with every app applied by Pulumi: a Git-delivered app's change is a
    release commit, which no preview shows."""
    pulumi_only = copy.deepcopy(stack)
    for app in pulumi_only["config"][APPS_KEY]:
        app["delivery"] = "pulumi"
    return pulumi_only


def changed_config(stack: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The stack file with one change of each kind, and the apps involved."""
    config = validate_stack_config(stack_file_config("dev"))
    by_strategy = {app.strategy.type: (index, app) for index, app in enumerate(config.apps)}
    changed = copy.deepcopy(stack)
    apps = changed["config"][APPS_KEY]

    blue_green_index, blue_green = by_strategy["blue-green"]
    apps[blue_green_index]["replicas"] = blue_green.replicas + 1
    recreate_index, recreate = by_strategy["recreate"]
    assert isinstance(recreate.strategy, RecreateStrategy)
    assert recreate.strategy.migration is not None
    # A Job's pod template is immutable: the migration Job must be replaced.
    apps[recreate_index]["strategy"]["migration"]["command"] = [*recreate.strategy.migration.command, "--dry-run"]
    canary_index, canary = by_strategy["canary"]
    del apps[canary_index]
    apps.append(
        {
            "name": NEW_APP,
            "environment": config.environments[-1].name,
            "image": f"registry.example.com/shop/{NEW_APP}:1.0.0-b5",
            "replicas": 1,
            "strategy": {"type": "rolling"},
        }
    )
    return changed, {"blue_green": blue_green, "recreate": recreate, "canary": canary}


@dataclass
class RealPreview:
    apps: dict[str, Any]
    blue_green_names: dict[str, set[str]]
    canary_names: dict[str, set[str]]
    preview: Run  # the CI command's own run
    ci_summary: str  # the summary it wrote
    engine_summary: dict[str, Any]  # the summaryEvent of its event log
    summary: subprocess.CompletedProcess[str]  # the tool with --fail-on-mandatory on that log
    digest_summary: subprocess.CompletedProcess[str]  # the tool on `pulumi preview --json`
    digest_gate: subprocess.CompletedProcess[str]  # ... with --fail-on-mandatory

    @property
    def sections(self) -> dict[str, str]:
        return sections(self.summary.stdout)


@pytest.fixture(scope="module")
def real_preview(tmp_path_factory: pytest.TempPathFactory) -> RealPreview:
    workdir = tmp_path_factory.mktemp("preview-summary")
    stack = delivered_by_pulumi(repo_stack_file("dev"))
    project = PulumiProject(workdir, {"dev": stack})
    project.init_stack("dev")
    project.run("up", "--stack", "dev", "--yes", "--skip-preview")

    resources = json.loads(project.run("stack", "export", "--stack", "dev").stdout)["deployment"]["resources"]
    changed, apps = changed_config(stack)
    blue_green_names = resource_names(resources, APP_WORKLOAD, apps["blue_green"].name)
    # Protected in state but not in the program: the update would drop the protection.
    for resource in resources:
        if resource["type"] == DEPLOYMENT and resource["urn"].split("::")[-1] in blue_green_names[DEPLOYMENT]:
            project.run("state", "protect", resource["urn"], "--stack", "dev", "--yes")
    (workdir / "Pulumi.dev.yaml").write_text(yaml.safe_dump(changed, sort_keys=False), encoding="utf-8")

    # As .github/workflows/pulumi-stack.yml and the Jenkinsfile run it; no cloud plugins here.
    output = workdir / "ci"
    preview = project.execute(
        ["bash", str(REPO / "scripts" / "ci-stack.sh"), "preview", "dev", str(output)],
        check=False,
        env={"CI_STACK_PLUGINS": ""},
    )
    events = output / "events-dev.jsonl"
    policy_pack = str(REPO / "policies")
    digest = workdir / "preview.json"
    digest.write_text(
        project.run("preview", "--stack", "dev", "--json", "--policy-pack", policy_pack, check=False).stdout,
        encoding="utf-8",
    )
    return RealPreview(
        apps=apps,
        blue_green_names=blue_green_names,
        canary_names=resource_names(resources, APP_WORKLOAD, apps["canary"].name),
        preview=preview,
        ci_summary=(output / "summary-dev.md").read_text(encoding="utf-8"),
        engine_summary=next(
            json.loads(line)["summaryEvent"] for line in events.read_text().splitlines() if '"summaryEvent"' in line
        ),
        summary=summarise("--fail-on-mandatory", str(events)),
        digest_summary=summarise(str(digest)),
        digest_gate=summarise("--fail-on-mandatory", str(digest)),
    )


def test_the_mandatory_violation_fails_the_preview_and_the_gate(real_preview: RealPreview) -> None:
    replicas = real_preview.apps["blue_green"].replicas
    assert real_preview.preview.returncode == 1
    assert f"replicas: {replicas} => {replicas + 1}" in real_preview.preview.output  # the human diff is in the log
    assert "the policy gate exited" in real_preview.preview.stderr
    assert real_preview.summary.returncode == EXIT_GATE_FAILED, real_preview.summary.stderr
    assert "**Blocked:** 1 mandatory policy violation" in real_preview.summary.stdout
    assert real_preview.ci_summary == real_preview.summary.stdout


def test_counts_are_the_engines(real_preview: RealPreview) -> None:
    counts = count_rows(real_preview.summary.stdout)
    assert {"create", "update", "replace", "delete"} <= set(counts)
    assert {op: n for op, n in counts.items() if op != "unchanged"} == {
        op: n for op, n in real_preview.engine_summary["resourceChanges"].items() if op != "same"
    }


def test_replacements_and_deletions_come_first(real_preview: RealPreview) -> None:
    headings = list(real_preview.sections)
    assert headings.index("Replacements and deletions") < headings.index("Creates and updates")
    destructive = rows(real_preview.sections["Replacements and deletions"])
    operations = [row[0].split()[-1] for row in destructive]
    assert operations == sorted(operations, key=["replace", "delete"].index)
    replacements = [row for row in destructive if row[0].endswith("replace")]
    (replaced,) = (row for row in replacements if row[2] == f"`{JOB}`")
    # The only other one: the Jenkins seed jobs follow the apps, and the provider
    # replaces a ConfigMap whose data changes.
    assert [row[1] for row in replacements if row is not replaced] == ["`dev-jenkins-seed-jobs`"], replacements
    assert real_preview.apps["recreate"].name in replaced[1]
    assert "`spec.template.spec.containers[0].command" in replaced[3]
    deleted = {row[1].strip("`") for row in destructive if row[0].endswith("delete")}
    assert deleted == set().union(*real_preview.canary_names.values())


def test_the_policy_violation_names_policy_level_and_resource(real_preview: RealPreview) -> None:
    policy = real_preview.sections["Policy violations"]
    assert re.search(rf"^#### ❌ `{ZERO_DOWNTIME_POLICY}`: mandatory", policy, flags=re.MULTILINE)
    (violation,) = rows(policy.split(f"`{ZERO_DOWNTIME_POLICY}`", 1)[1])
    assert f"{DEPLOYMENT}::" in violation[0]
    assert NEW_APP in violation[0]
    assert NEW_APP in violation[1]


def test_protected_resources_updates_and_creates(real_preview: RealPreview) -> None:
    deployments = real_preview.blue_green_names[DEPLOYMENT]
    protected = rows(real_preview.sections["Protected resources touched"])
    assert {row[1].strip("`"): (row[0].split()[-1], row[3]) for row in protected} == dict.fromkeys(
        deployments, ("update", "on → off")
    )
    others = rows(real_preview.sections["Creates and updates"])
    replicas = real_preview.apps["blue_green"].replicas
    updates = {row[1].strip("`"): row[3] for row in others if row[0].endswith("update")}
    assert updates == dict.fromkeys(deployments, f"`spec.replicas`: `{replicas}` → `{replicas + 1}`")
    created = [row for row in others if row[0].endswith("create")]
    assert any(row[2] == f"`{DEPLOYMENT}`" and NEW_APP in row[1] for row in created)


def test_the_json_digest_has_the_same_changes_but_no_policy_results(real_preview: RealPreview) -> None:
    assert real_preview.digest_summary.returncode == 0, real_preview.digest_summary.stderr
    digest_sections = sections(real_preview.digest_summary.stdout)
    assert count_rows(real_preview.digest_summary.stdout) == count_rows(real_preview.summary.stdout)
    for heading in ("Replacements and deletions", "Protected resources touched"):
        assert rows(digest_sections[heading]) == rows(real_preview.sections[heading]), heading
    assert "Not in this input" in digest_sections["Policy violations"]
    assert real_preview.digest_gate.returncode == EXIT_GATE_FAILED
