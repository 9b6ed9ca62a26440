"""The pack as a deliverable: it starts the way the Python language host starts it and
answers over gRPC, shares the repository's pinned environment, keeps its copy of
the mutable-tag list in step with the config models, and its README states every
policy's default enforcement and severity."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import grpc  # type: ignore[import-untyped]
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2  # type: ignore[import-untyped]
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel
from rules import PACK_NAME, all_policies
from rules.images import MUTABLE_TAGS

from components.config import MUTABLE_TAGS as CONFIG_MUTABLE_TAGS
from tests.policies.conftest import PACK_DIR

REPO = PACK_DIR.parent


def test_mutable_tags_match_the_config_models() -> None:
    assert MUTABLE_TAGS == CONFIG_MUTABLE_TAGS


def test_pack_runs_in_the_repository_virtualenv() -> None:
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text(encoding="utf-8"))

    runtime = project["runtime"]
    virtualenv = (PACK_DIR / runtime["options"]["virtualenv"]).resolve()
    assert runtime["name"] == "python"
    assert virtualenv == (REPO / ".venv").resolve()
    assert (virtualenv / "pyvenv.cfg").exists()


def _pins(lines: list[str]) -> dict[str, str]:
    return dict(line.split("==", 1) for line in lines if "==" in line and not line.lstrip().startswith("#"))


def test_requirements_pin_the_repository_versions() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    repository = _pins(pyproject["project"]["dependencies"])

    pack = _pins((PACK_DIR / "requirements.txt").read_text(encoding="utf-8").splitlines())

    assert pack == {name: repository[name] for name in ("pulumi", "pulumi-policy")}


def test_policy_names_are_unique_kebab_case() -> None:
    names = [policy.name for policy in all_policies()]

    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names)


def _readme_rows() -> dict[str, list[str]]:
    rows = {}
    for line in (PACK_DIR / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        name = cells[0].strip("`")
        if line.startswith("|") and len(cells) >= 4 and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name):
            rows[name] = cells
    return rows


def test_readme_lists_every_policy_with_its_defaults() -> None:
    rows = _readme_rows()

    for policy in all_policies():
        assert policy.name in rows, f"README lacks {policy.name}"
        assert policy.enforcement_level is not None
        assert policy.severity is not None
        _, enforcement, severity, settings = rows[policy.name][:4]
        assert enforcement == policy.enforcement_level.value, policy.name
        assert severity == policy.severity.value, policy.name
        for key in policy.config_schema.properties if policy.config_schema else {}:
            assert f"`{key}`" in settings, f"README row of {policy.name} lacks setting {key}"
    assert set(rows) == {policy.name for policy in all_policies()}


JSON_TYPES: dict[str, type | tuple[type, ...]] = {"array": list, "boolean": bool, "integer": int, "string": str}


@pytest.mark.parametrize("path", sorted((PACK_DIR / "config").glob("*.json")), ids=lambda path: path.stem)
def test_config_files_name_real_policies_and_settings(path: Path) -> None:
    policies = {policy.name: policy for policy in all_policies()}
    levels = {level.value for level in EnforcementLevel}

    for name, value in json.loads(path.read_text(encoding="utf-8")).items():
        assert name in policies or name == "all", f"{path.name}: no policy {name}"
        settings = {} if isinstance(value, str) else dict(value)
        level = value if isinstance(value, str) else settings.pop("enforcementLevel", None)
        assert level is None or level in levels
        if name == "all":
            assert not settings, f"{path.name}: `all` takes only an enforcement level"
            continue
        schema = policies[name].config_schema
        for key, setting in settings.items():
            assert schema is not None, f"{path.name}: {name} has no settings"
            assert key in schema.properties, f"{path.name}: {name} has no setting {key}"
            assert isinstance(setting, JSON_TYPES[schema.properties[key]["type"]]), f"{path.name}: {name}.{key}"


@pytest.fixture
def pack_process() -> Iterator[str]:
    """The pack started as the language host starts a Python policy pack: `python -m
    pulumi.policy <engine> <pack dir>` in the pack directory; yields its address."""
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(PACK_DIR)],
        cwd=PACK_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().strip()
        assert port.isdigit(), process.stderr.read() if process.stderr else port
        yield f"127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=10)


def test_pack_serves_its_policies_over_grpc(pack_process: str) -> None:
    props = struct_pb2.Struct()
    props.update(
        {
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
        }
    )
    with grpc.insecure_channel(pack_process) as channel:
        analyzer = analyzer_pb2_grpc.AnalyzerStub(channel)
        info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
        response = analyzer.Analyze(
            proto.AnalyzeRequest(urn="urn:x", type="kubernetes:apps/v1:Deployment", name="web", properties=props),
            timeout=30,
        )

    assert info.name == PACK_NAME
    assert len(info.policies) == len(all_policies())
    assert {"image-pinned", "no-default-namespace"} <= {diagnostic.policyName for diagnostic in response.diagnostics}
