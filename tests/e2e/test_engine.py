"""The dev stack through the real engine: up renders every manifest, a second preview
has no changes, a config change shows a diff, destroy removes everything, and a bad
config fails cleanly naming the key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from components.config import validate_stack_config
from components.environment import ENVIRONMENT_LABEL
from tests.conftest import repo_stack_file, stack_file_config
from tests.e2e.pulumi_cli import PulumiProject


def rendered_objects(workdir: Path) -> list[dict[str, Any]]:
    return [
        document
        for path in sorted((workdir / "build" / "manifests").rglob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document
    ]


def test_dev_stack_up_preview_change_destroy(tmp_path: Path) -> None:
    project = PulumiProject(tmp_path, {"dev": repo_stack_file("dev")})
    project.init_stack("dev")
    config = validate_stack_config(stack_file_config("dev"))

    project.run("up", "--stack", "dev", "--yes", "--skip-preview")
    objects = rendered_objects(tmp_path)
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    assert {env.name for env in config.environments} <= namespaces
    # One owner per app: Pulumi renders the Pulumi-delivered apps' Deployments, and
    # only the Git-delivered apps get an Argo CD Application.
    deployed_apps = {
        (o["metadata"]["namespace"], o["metadata"]["labels"]["app.kubernetes.io/name"])
        for o in objects
        if o["kind"] == "Deployment" and o["metadata"].get("namespace") in namespaces
    }
    by_pulumi = {(app.environment, app.name) for app in config.apps if app.delivery == "pulumi"}
    by_git = {(app.environment, app.name) for app in config.apps if app.delivery == "gitops"}
    assert by_pulumi
    assert by_git
    assert deployed_apps == by_pulumi
    applications = {
        (o["metadata"]["labels"][ENVIRONMENT_LABEL], o["metadata"]["labels"]["app.kubernetes.io/name"])
        for o in objects
        if o["kind"] == "Application"
    }
    assert applications == by_git

    outputs = json.loads(project.run("stack", "output", "--stack", "dev", "--json").stdout)
    assert set(outputs["namespaces"]) == {env.name for env in config.environments}
    assert set(outputs["apps"]) == {f"{environment}/{name}" for environment, name in by_pulumi}

    project.run("preview", "--stack", "dev", "--expect-no-changes")

    # A Git-delivered app's config change is a release commit, not a Pulumi diff.
    index = next(i for i, app in enumerate(config.apps) if app.delivery == "pulumi" and app.strategy.type == "recreate")
    replicas = config.apps[index].replicas
    project.run("config", "set", "--path", f"delivery-platform:apps[{index}].replicas", str(replicas + 1))
    diff = project.run("preview", "--stack", "dev", "--diff", "--expect-no-changes", check=False)
    assert diff.returncode != 0, diff.output
    assert f"replicas: {replicas} => {replicas + 1}" in diff.output

    project.run("destroy", "--stack", "dev", "--yes", "--skip-preview")
    assert rendered_objects(tmp_path) == []


def test_bad_config_fails_naming_the_key_without_a_traceback(tmp_path: Path) -> None:
    stack = repo_stack_file("dev")
    config = copy.deepcopy(stack["config"])
    assert isinstance(config, dict)
    config["delivery-platform:apps"][3]["strategy"]["weight"] = 150
    # The stack file keeps its encryption salt: the dev passwords are encrypted with it.
    project = PulumiProject(tmp_path, {"dev": {**stack, "config": config}})
    project.init_stack("dev")

    preview = project.run("preview", "--stack", "dev", check=False)
    assert preview.returncode != 0
    assert "delivery-platform:apps[3].strategy.weight: must be <= 100" in preview.output
    assert "Traceback" not in preview.output
    assert not (tmp_path / "build").exists()
