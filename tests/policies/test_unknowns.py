"""Property tests: rules never raise, whatever the props, and a value the engine does
not know yet (preview) never creates a violation: it can only hide one ("can't tell")."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.output import Unknown
from pulumi.runtime.mocks import MockResourceArgs
from pulumi_policy import StackValidationPolicy
from pulumi_policy.proxy import (
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
)

from components.program import main
from tests.conftest import ProgramRunner, RecordingMocks, stack_file_config
from tests.policies.conftest import PACK_DIR
from tests.policies.corpus import Case, cases, templates
from tests.policies.harness import Finding, Pack, Res, from_graph

CASES = cases()
STACK_POLICIES = frozenset(policy.name for policy in Pack().policies if isinstance(policy, StackValidationPolicy))
PropPath = tuple[str | int, ...]


def _paths(node: Any, prefix: PropPath = ()) -> Iterator[PropPath]:
    """Every path to a value inside the props."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


def _sentinel(value: Any) -> str:
    """The sentinel the engine sends for an unknown value of this type."""
    if isinstance(value, bool):
        return UNKNOWN_BOOLEAN_VALUE
    if isinstance(value, int | float):
        return UNKNOWN_NUMBER_VALUE
    if isinstance(value, list):
        return UNKNOWN_ARRAY_VALUE
    if isinstance(value, dict):
        return UNKNOWN_OBJECT_VALUE
    return UNKNOWN_STRING_VALUE


def _replace(props: dict[str, Any], path: PropPath, make: Any) -> None:
    node: Any = props
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = make(node[path[-1]])


def _keys(findings: list[Finding]) -> set[tuple[str, str]]:
    """Resource findings by (policy, resource); stack findings by policy alone, since a
    stack rule may attribute the same problem to another resource when a name is unknown."""
    return {(finding.policy, "" if finding.policy in STACK_POLICIES else finding.urn) for finding in findings}


@cache
def _baseline(index: int) -> frozenset[tuple[str, str]]:
    case = CASES[index]
    return frozenset(_keys(Pack(case.config).check(case.resources)))


@dataclass(frozen=True)
class Mutation:
    index: int
    resources: list[Res] = field(repr=False)
    changes: list[str]

    @property
    def case(self) -> Case:
        return CASES[self.index]


@st.composite
def _mutated_case(draw: st.DrawFn, replacement: st.SearchStrategy[Any] | None) -> Mutation:
    """A corpus case with up to three values of one resource replaced: by the unknown
    sentinel of their type, or by `replacement`."""
    index = draw(st.integers(0, len(CASES) - 1))
    case = CASES[index]
    position = draw(st.integers(0, len(case.resources) - 1))
    resource = case.resources[position]
    props = copy.deepcopy(dict(resource.props))
    paths = sorted(set(_paths(props)), key=len)
    changes = []
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True)) if paths else []:
        new = draw(replacement) if replacement is not None else None
        try:
            _replace(props, path, _sentinel if replacement is None else lambda _old, value=new: value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier replacement took this path's ancestor
        changes.append(f"{resource.name}: {'.'.join(map(str, path))} = {new if replacement is not None else 'unknown'}")
    mutated = list(case.resources)
    mutated[position] = Res(
        type=resource.type,
        name=resource.name,
        props=props,
        urn=resource.urn,
        provider=resource.provider,
        depends_on=resource.depends_on,
        ignore_changes=resource.ignore_changes,
    )
    return Mutation(index, mutated, changes)


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 70000),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    st.sampled_from(
        [UNKNOWN_STRING_VALUE, UNKNOWN_OBJECT_VALUE, "0%", "100%", "ALL", "Always", "RuntimeDefault", "0.0.0.0/0"]
    ),
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(_mutated_case(None))
def test_unknown_values_never_create_violations(mutation: Mutation) -> None:
    found = _keys(Pack(mutation.case.config).check(mutation.resources))

    new = found - _baseline(mutation.index)
    assert not new, f"{mutation.case.id}: {mutation.changes} adds {new}"


def _leaf_differences(before: Any, after: Any, path: PropPath = ()) -> list[PropPath]:
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            p
            for key in before.keys() | after.keys()
            for p in _leaf_differences(before.get(key), after.get(key), (*path, key))
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            p for i, (b, a) in enumerate(zip(before, after, strict=True)) for p in _leaf_differences(b, a, (*path, i))
        ]
    return [] if before == after else [path]


# What remediation may change: the pack's only remediating rule sets pull policies.
REMEDIATED_KEYS = {"imagePullPolicy"}


def _without_pull_policies(node: Any) -> Any:
    """The props with every imagePullPolicy taken out: what the pack's remediation fills in."""
    if isinstance(node, dict):
        return {key: _without_pull_policies(value) for key, value in node.items() if key not in REMEDIATED_KEYS}
    if isinstance(node, list):
        return [_without_pull_policies(value) for value in node]
    return node


def _assert_remediation_only_sets_pull_policies(pack: Pack, resource: Res) -> bool:
    """Remediation changes nothing but pull policies, and remediating its result
    changes nothing more. Returns whether it changed anything."""
    remediated = pack.remediate(resource)
    changed = _leaf_differences(dict(resource.wire), remediated)
    assert all(path and path[-1] in REMEDIATED_KEYS for path in changed), (resource.name, changed)
    again = Res(type=resource.type, name=resource.name, props=remediated, urn=resource.urn, provider=resource.provider)
    assert pack.remediate(again) == remediated, resource.name
    return bool(changed)


def test_remediation_of_every_corpus_resource_without_pull_policies_only_sets_them() -> None:
    remediated = 0
    for case in CASES:
        pack = Pack(case.config)
        for resource in case.resources:
            stripped = Res(
                type=resource.type,
                name=resource.name,
                props=_without_pull_policies(copy.deepcopy(dict(resource.props))),
                urn=resource.urn,
                provider=resource.provider,
            )
            remediated += _assert_remediation_only_sets_pull_policies(pack, stripped)
    assert remediated > 20, "the corpus must exercise the remediation"


@FAST
@given(_mutated_case(JSON))
def test_rules_never_raise_on_malformed_props(mutation: Mutation) -> None:
    pack = Pack(mutation.case.config)

    findings = pack.check(mutation.resources)

    assert all(finding.message for finding in findings)
    for resource in mutation.resources:
        # Malformed props are fixed where a remediation applies and left alone elsewhere.
        _assert_remediation_only_sets_pull_policies(pack, resource)


class FirstPreviewMocks(RecordingMocks):
    """The worst case of a first `pulumi preview`: no Kubernetes object reports any
    output before it exists, so every value derived from one (a namespace from the
    Environment's Namespace, a ServiceAccount or Secret name, a Job name in the
    scale-back's annotations) reaches the pack unknown."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, state = super().new_resource(args)
        return (None, {}) if args.typ.startswith("kubernetes:") else (resource_id, state)


def _as_the_engine_sends(value: Any) -> Any:
    if isinstance(value, Unknown):
        return UNKNOWN_STRING_VALUE  # the engine marshals every unknown as this string
    if isinstance(value, dict):
        return {key: _as_the_engine_sends(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_as_the_engine_sends(item) for item in value]
    return value


def test_a_first_preview_of_the_dev_stack_finds_nothing_its_update_does_not(run_program: ProgramRunner) -> None:
    """Replaces preview variants that registered no unknown at all under the echoing mocks."""
    pack = Pack(json.loads((PACK_DIR / "config" / "dev.json").read_text(encoding="utf-8")))
    update = from_graph(run_program(main, config=stack_file_config("dev"), stack="dev"))
    graph = run_program(main, config=stack_file_config("dev"), stack="dev", preview=True, mocks=FirstPreviewMocks())
    inputs_with_unknowns = 0
    for resource in graph:
        resource.inputs = _as_the_engine_sends(resource.inputs)
        inputs_with_unknowns += sum(UNKNOWN_STRING_VALUE in str(value) for value in resource.inputs.values())
    preview = from_graph(graph)
    assert inputs_with_unknowns > 20, "the preview must actually carry unknowns"
    assert {r.urn for r in preview} == {r.urn for r in update}

    new = _keys(pack.check(preview)) - _keys(pack.check(update))

    assert not new


TYPES = sorted({template["type"] for template in templates().values()})
KEYS = sorted({str(path[-1]) for template in templates().values() for path in _paths(template["props"])})
KEYED_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=25,
)


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from(TYPES), st.dictionaries(st.sampled_from(KEYS), KEYED_JSON, max_size=5)), max_size=4
    )
)
def test_rules_never_raise_on_arbitrary_resources(drawn: list[tuple[str, dict[str, Any]]]) -> None:
    resources = [Res(type=type_, name=f"r{index}", props=props) for index, (type_, props) in enumerate(drawn)]

    findings = Pack().check(resources)

    assert all(finding.policy and finding.message for finding in findings)
