"""Generated configs: whatever a stack file holds, validation ends in a StackConfig or
in the one ConfigError naming keys the user wrote, and an invalid config registers no
resource.

Most generated configs are near-valid: a valid stack config with one field changed to
a value of the same kind taken from elsewhere in the config (another app's name, another
environment, another image, a neighbouring number, a list one element shorter or with an
element repeated). Random structures never get past the field checks; these reach the
cross-field rules (references between sections, strategy rules, budgets, gateway
admission, route clashes), which is where the loader's own code is."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from typing import Any

import pulumi
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from components.config import ConfigError, StackConfig, validate_stack_config
from components.program import main
from tests.conftest import ProgramRunner, stack_file_config

Path = tuple[str | int, ...]

json_leaf = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats(allow_nan=False) | st.text(max_size=12)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)

IMAGE = "registry.example.com/shop/{}:{}"
# A stack using every strategy and most of their options, so a change can break any rule.
RICH: dict[str, Any] = {
    "cluster": {"kind": "render"},
    "environments": [
        {"name": "test", "allowFromNamespaces": ["gateway"], "quota": {"pods": 40}},
        {"name": "uat", "allowFromCidrs": ["35.191.0.0/16", "130.211.0.0/22"]},
    ],
    "jenkins": {"enabled": False},
    "argocd": {"enabled": False},
    "apps": [
        {
            "name": "orders",
            "environment": "test",
            "image": IMAGE.format("orders", "1.8.0-b412"),
            "replicas": 2,
            "strategy": {"type": "recreate", "migration": {"command": ["/migrate"], "backoffLimit": 1}},
        },
        {
            "name": "catalog",
            "environment": "uat",
            "image": IMAGE.format("catalog", "2.3.1-b77"),
            "maxUnavailable": "50%",
            "strategy": {"type": "rolling", "maxSurge": 1, "maxUnavailable": 0, "autoscaling": {"minReplicas": 2}},
        },
        {
            "name": "checkout",
            "environment": "test",
            "replicas": 3,
            "preStopSleepSeconds": 5,
            "terminationGracePeriodSeconds": 30,
            "strategy": {
                "type": "blue-green",
                "active": "blue",
                "idleReplicas": 1,
                "blue": {"image": IMAGE.format("checkout", "4.0.2-b301")},
                "green": {"image": IMAGE.format("checkout", "4.1.0-b318")},
            },
        },
        {
            "name": "storefront",
            "environment": "uat",
            "image": IMAGE.format("storefront", "7.2.0-b903"),
            "replicas": 4,
            "strategy": {
                "type": "canary",
                "canaryImage": IMAGE.format("storefront", "7.3.0-b921"),
                "weight": 25,
                "steps": [10, 25, 50, 100],
                "hostnames": ["shop.example.com"],
                "match": {"headers": [{"name": "x-canary", "value": "always"}], "cookie": "canary"},
            },
        },
        {
            "name": "search",
            "environment": "test",
            "image": IMAGE.format("search", "1.0.0-b1"),
            "strategy": {"type": "canary", "weight": 0, "hostnames": ["search.example.com"]},
        },
    ],
}
BASES = [stack_file_config("dev"), stack_file_config("prod"), RICH]


def leaves(node: Any, path: Path = ()) -> list[Path]:
    if isinstance(node, dict):
        return [p for key, value in node.items() for p in leaves(value, (*path, key))]
    if isinstance(node, list):
        return [path, *(p for i, value in enumerate(node) for p in leaves(value, (*path, i)))]
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


def scalars(node: Any) -> list[Any]:
    """Every scalar value in the config: the pool a changed field draws from."""
    if isinstance(node, dict):
        return [v for value in node.values() for v in scalars(value)]
    if isinstance(node, list):
        return [v for value in node for v in scalars(value)]
    return [node]


def key_path(path: Path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@st.composite
def near_valid_configs(draw: st.DrawFn) -> tuple[dict[str, Any], Path]:
    """A valid config with one field changed to a value of the same kind."""
    config = copy.deepcopy(draw(st.sampled_from(BASES)))
    where = draw(st.sampled_from([p for p in leaves(config) if p]))
    old = at(config, where)
    pool = scalars(config)
    new: Any
    if isinstance(old, bool):
        new = not old
    elif isinstance(old, int):
        new = draw(st.sampled_from([old - 1, old + 1, 0, -1, 1, 100, 101, *[v for v in pool if type(v) is int]]))
    elif isinstance(old, str):
        new = draw(st.sampled_from([*(v for v in pool if isinstance(v, str)), old.upper(), f"{old}-x", "", "0%"]))
    elif isinstance(old, list) and old:
        index = draw(st.integers(0, len(old) - 1))
        new = old[:index] + old[index + 1 :] if draw(st.booleans()) else [*old, old[index]]
    else:
        new = draw(json_leaf)
    at(config, where[:-1])[where[-1]] = new
    return config, where


def reported(problems: list[str]) -> list[tuple[str, str]]:
    """(key path, message) of each problem."""
    pairs = [problem.removeprefix("delivery-platform:").split(": ", 1) for problem in problems]
    return [(path, message) for path, message in pairs]


def written(config: dict[str, Any], path: str, message: str) -> bool:
    """Whether a reported key path names something in the config: the key itself, or,
    for a required key that is missing, the mapping it belongs in."""
    node: Any = config
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    for depth, part in enumerate(parts):
        key: str | int = int(part[1:-1]) if part.startswith("[") else part
        in_list = isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node)
        if in_list or (isinstance(node, dict) and key in node):
            node = node[key]
        else:
            return depth == len(parts) - 1 and isinstance(node, dict) and "is required" in message
    return True


@settings(max_examples=1500, deadline=None)
@given(case=near_valid_configs())
def test_near_valid_configs_validate_or_name_keys_the_user_wrote(case: tuple[dict[str, Any], Path]) -> None:
    config, changed = case
    try:
        validate_stack_config(json.loads(json.dumps(config)))
    except ConfigError as error:
        problems = error.problems
    else:
        event("still valid")
        return
    assert problems
    assert len(problems) == len(set(problems))
    for path, message in reported(problems):
        event(re.sub(r"\[\d+\]", "[]", path))
        assert written(config, path, message), (key_path(changed), problems)


CROSS_FIELD_CHANGES = [
    # (changed key, new value taken from elsewhere in the config, what the rule says)
    (("apps", 2, "name"), "orders", "duplicate app 'orders' in environment 'test'"),
    (("apps", 0, "environment"), "staging", "'staging' is not one of environments"),
    (("environments", 0, "name"), "uat", "duplicate environment 'uat'"),
    (("apps", 3, "strategy", "weight"), 30, "30 is not one of steps"),
    (("apps", 1, "strategy", "autoscaling", "minReplicas"), 11, "is greater than maxReplicas"),
    (("apps", 2, "preStopSleepSeconds"), 30, "leaves no time to shut down"),
    (("environments", 0, "allowFromNamespaces", 0), "monitoring", "denies ingress by default"),
    (("apps", 4, "strategy", "hostnames", 0), "shop.example.com", "already routes host name 'shop.example.com'"),
    (("apps", 3, "maxUnavailable"), 0, "allows no voluntary eviction"),
    (("apps", 2, "image"), IMAGE.format("checkout", "4.0.2-b301"), "blue-green apps set strategy.blue.image"),
    (("apps", 1, "name"), "storefront-canary", "both create objects named 'storefront-canary'"),
]


@pytest.mark.parametrize(("path", "value", "fragment"), CROSS_FIELD_CHANGES, ids=str)
def test_single_field_changes_reach_the_cross_field_rules(path: Path, value: Any, fragment: str) -> None:
    """The kind of change the generator makes trips each rule that relates several
    fields or sections: the generated configs are not stopped by field checks alone."""
    config = copy.deepcopy(RICH)
    assert isinstance(validate_stack_config(config), StackConfig)
    at(config, path[:-1])[path[-1]] = value
    with pytest.raises(ConfigError) as caught:
        validate_stack_config(config)
    assert any(fragment in problem for problem in caught.value.problems), caught.value.problems


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
    where = draw(st.sampled_from([p for p in leaves(config) if p and not isinstance(at(config, p), list)]))
    at(config, where[:-1])[where[-1]] = {"unexpected": [draw(json_leaf)]}
    return config, where


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=invalid_configs() | near_valid_configs())
def test_invalid_configs_end_in_the_clear_error_and_register_nothing(
    run_program: ProgramRunner, case: tuple[dict[str, Any], Path]
) -> None:
    config, _ = case
    try:
        validate_stack_config(json.loads(json.dumps(config)))
    except ConfigError as error:
        expected = error.problems
    else:
        return
    with pytest.raises(pulumi.RunError) as caught:
        run_program(main, config, secrets={"registryPassword": "pw"}, stack="fuzz")
    message = str(caught.value)
    assert message.startswith(f"invalid stack configuration ({len(expected)} problem(s)):")
    assert [line.removeprefix("  - ") for line in message.splitlines()[1:]] == expected
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


def test_the_generator_mostly_makes_configs_the_cross_field_rules_see() -> None:
    """Over a fixed sample, most near-valid configs pass the field checks of the
    changed app or environment, so their rules run (a random structure never does)."""
    outcomes: Counter[str] = Counter()

    @settings(max_examples=300, deadline=None, database=None)
    @given(case=near_valid_configs())
    def sample(case: tuple[dict[str, Any], Path]) -> None:
        try:
            validate_stack_config(json.loads(json.dumps(case[0])))
        except ConfigError:
            outcomes["invalid"] += 1
        else:
            outcomes["valid"] += 1

    sample()
    # Both outcomes are common: changes the rules accept, and changes they reject.
    assert outcomes["valid"] > 30
    assert outcomes["invalid"] > 30
