"""Generated configs: whatever a stack file holds, validation ends in a StackConfig or
in the one ConfigError, and an invalid config registers no resource."""

from __future__ import annotations

import copy
import json
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from components.config import ConfigError, validate_stack_config
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config

Path = tuple[str | int, ...]

json_leaf = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=12)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def leaves(node: Any, path: Path = ()) -> list[Path]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in leaves(value, (*path, key))]
    if isinstance(node, list):
        return [p for i, value in enumerate(node) for p in leaves(value, (*path, i))]
    return [path]


def mappings(node: Any, path: Path = ()) -> list[Path]:
    found = [path] if isinstance(node, dict) else []
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in children:
        found += mappings(value, (*path, key))
    return found


def at(node: Any, path: Path) -> Any:
    for part in path:
        node = node[part]
    return node


BASES = [stack_file_config("dev"), stack_file_config("prod")]


@st.composite
def invalid_configs(draw: st.DrawFn) -> tuple[dict[str, Any], Path]:
    """A valid stack config with one change that no schema accepts: an unknown key,
    or a scalar replaced by a structure no scalar field can hold."""
    config = copy.deepcopy(draw(st.sampled_from(BASES)))
    if draw(st.booleans()):
        where = draw(st.sampled_from(mappings(config)))
        key = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10).map(lambda s: f"zz{s}"))
        at(config, where)[key] = draw(json_value)
        return config, (*where, key)
    where = draw(st.sampled_from([p for p in leaves(config) if p]))
    at(config, where[:-1])[where[-1]] = {"unexpected": [draw(json_leaf)]}
    return config, where


def key_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=invalid_configs())
def test_invalid_configs_end_in_the_clear_error_and_register_nothing(
    run_program: ProgramRunner, case: tuple[dict[str, Any], Path]
) -> None:
    config, mutated = case
    with pytest.raises(pulumi.RunError) as caught:
        run_program(main, config, stack="fuzz")
    message = str(caught.value)
    assert message.startswith("invalid stack configuration")
    problem_paths = [line.split(": ", 1)[0].removeprefix("  - delivery-platform:") for line in message.splitlines()[1:]]
    # The problem is reported at the changed key or at the object holding it (a tagged
    # union reports a broken tag on the union field).
    assert any(key_path(mutated).startswith(p) for p in problem_paths), (key_path(mutated), message)
    assert run_program.last_graph.resources == []


@settings(max_examples=300, deadline=None)
@given(
    data=st.dictionaries(
        st.sampled_from(["cluster", "apps", "environments", "registry", "jenkins", "argocd", "protect", "unknown"]),
        json_value,
        max_size=4,
    )
)
def test_arbitrary_input_never_raises_anything_but_config_error(data: dict[str, Any]) -> None:
    try:
        validate_stack_config(json.loads(json.dumps(data)))
    except ConfigError as error:
        problems = error.problems
    else:
        return
    assert problems
    assert all(problem.startswith("delivery-platform:") for problem in problems)
