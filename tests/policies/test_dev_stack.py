"""The dev stack, as the mocks harness registers it, passes the pack with its config
file: the check CI runs with `pulumi preview --policy-pack policies
--policy-pack-config policies/config/dev.json`, without the engine."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import EnforcementLevel

from components.program import main
from tests.conftest import ProgramRunner, stack_file_config
from tests.policies.conftest import PACK_DIR
from tests.policies.harness import Pack, from_graph


def dev_pack() -> Pack:
    return Pack(json.loads((PACK_DIR / "config" / "dev.json").read_text(encoding="utf-8")))


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_dev_stack_has_no_mandatory_violations(run_program: ProgramRunner, preview: bool) -> None:
    graph = run_program(main, config=stack_file_config("dev"), stack="dev", preview=preview)
    resources = from_graph(graph)

    findings = dev_pack().check(resources)

    blocking = [f for f in findings if f.enforcement is EnforcementLevel.MANDATORY]
    assert resources, "the dev stack registered nothing"
    assert not blocking, "\n".join(f"{f.policy} on {f.urn}: {f.message}" for f in blocking)


def test_dev_stack_needs_no_remediation(run_program: ProgramRunner) -> None:
    """Components set imagePullPolicy themselves; the pack's remediation is a safety net."""
    graph = run_program(main, config=stack_file_config("dev"), stack="dev")
    pack = dev_pack()

    changed = [resource.urn for resource in from_graph(graph) if pack.remediate(resource) != resource.wire]

    assert not changed
