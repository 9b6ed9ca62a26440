"""Before anything is timed: the components and the raw baseline must register the
same Kubernetes objects - same type, logical name, inputs, provider and
dependencies - or the timings compare different work."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.conftest import ProgramRunner
from tests.graph import Graph

from .fleet import STACK, fleet
from .programs import event_loop, program

Key = tuple[str, str]  # (type, logical name)


@dataclass(frozen=True)
class Registration:
    """What the engine is asked to manage for one custom resource, with every
    reference (provider, dependencies) by type and name rather than by URN, because
    URNs include the component parents the raw baseline does not have."""

    inputs: dict[str, Any]
    provider: Key | None
    depends_on: frozenset[Key]


def registered(kind: str, config: dict[str, Any]) -> Graph:
    """Every resource `kind` (components or raw) registers for the stack `config` under
    the unit-test mocks harness."""
    with event_loop():
        return ProgramRunner()(program(kind), config, stack=STACK)


def custom_resources(graph: Graph) -> dict[Key, Registration]:
    by_urn = {r.urn: (r.type, r.name) for r in graph}
    found: dict[Key, Registration] = {}
    for resource in graph:
        if not resource.custom:
            continue
        key = (resource.type, resource.name)
        if key in found:
            raise AssertionError(f"{key} registered twice")
        found[key] = Registration(
            inputs=resource.inputs,
            provider=by_urn.get(resource.provider_urn),
            depends_on=frozenset(by_urn[urn] for urn in resource.depends_on),
        )
    return found


def _leaf_differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where two input trees differ, as `path: components value != raw value`."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return [
            line
            for key in sorted(ours.keys() | theirs.keys())
            for line in _leaf_differences(ours.get(key), theirs.get(key), f"{path}.{key}" if path else key)
        ]
    if isinstance(ours, list) and isinstance(theirs, list) and len(ours) == len(theirs):
        return [
            line
            for i, (mine, other) in enumerate(zip(ours, theirs, strict=True))
            for line in _leaf_differences(mine, other, f"{path}[{i}]")
        ]
    if ours == theirs:
        return []
    return [f"{path}: {json.dumps(ours, default=str)} != {json.dumps(theirs, default=str)}"]


def differences(components: dict[Key, Registration], raw: dict[Key, Registration]) -> list[str]:
    """Every way the raw baseline's registrations differ from the components' ones."""
    problems = [f"only the components register {key}" for key in sorted(components.keys() - raw.keys())]
    problems += [f"only the raw baseline registers {key}" for key in sorted(raw.keys() - components.keys())]
    for key in sorted(components.keys() & raw.keys()):
        ours, theirs = components[key], raw[key]
        problems += [f"{key} input {line}" for line in _leaf_differences(ours.inputs, theirs.inputs)]
        if ours.provider != theirs.provider:
            problems.append(f"{key} provider: {ours.provider} != {theirs.provider}")
        if ours.depends_on != theirs.depends_on:
            problems.append(f"{key} depends on: {sorted(ours.depends_on)} != {sorted(theirs.depends_on)}")
    return problems


def assert_same_resources(apps: int) -> int:
    """Raise AssertionError listing every difference; return the number of custom
    resources each program registers."""
    components = custom_resources(registered("components", fleet(apps)))
    raw = custom_resources(registered("raw", fleet(apps)))
    problems = differences(components, raw)
    if problems:
        shown = "\n".join(problems[:20])
        raise AssertionError(f"fleet({apps}): {len(problems)} difference(s) (components != raw baseline)\n{shown}")
    return len(components)
