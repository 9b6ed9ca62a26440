"""Turn the JSON of `pulumi preview` (or `pulumi up`) into a Markdown summary for a
pull-request comment or a CI job summary.

    python -m components.tools.preview_summary [--stack dev] [--fail-on-mandatory] [FILE]

FILE (or standard input) is either of the two JSON forms the engine writes:

- the engine events: `pulumi preview --event-log FILE` (with PULUMI_DEBUG_COMMANDS=true,
  as the Automation API runs it) or `pulumi preview --json` with
  PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true. One JSON object per line; the only form
  that carries policy violations.
- the digest: plain `pulumi preview --json`. One JSON document with `steps`,
  `diagnostics` and `changeSummary`. Pulumi v3.259 to v3.274 leave every policy event out of
  it, so a summary of a digest says that policy results are missing instead of
  claiming there were none.

The summary puts what can lose data first (replacements, deletions), then the policy
violations grouped by policy, the protected resources the change touches, then
creates and updates with their changed properties, and the engine's errors and
warnings. Its first line is an HTML comment naming the stack, which CI uses to find
and update its previous comment instead of adding one per push.

Exit status: 0 when the summary was written; 1 with --fail-on-mandatory when a
mandatory policy violation exists or the input cannot show policy results (a gate
that saw no policy pack run must not pass); 2 when the input is not preview JSON.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2

# GitHub rejects issue comments longer than 65,536 characters; tables are shortened
# until the summary fits, with a pointer to the job log for the rest.
COMMENT_LIMIT = 65_000
DEFAULT_MAX_ROWS = 50
MIN_ROWS = 5
VALUE_WIDTH = 60

# The engine reports a replacement as several steps on one URN (create-replacement,
# replace, delete-replaced; import-replacement for imports) and counts it once.
_OP_KIND = {
    "same": "same",
    "create": "create",
    "update": "update",
    "delete": "delete",
    "replace": "replace",
    "create-replacement": "replace",
    "delete-replaced": "replace",
    "import-replacement": "replace",
    "import": "import",
    "read": "read",
    "read-replacement": "read",
    "refresh": "refresh",
    "discard": "discard",
    "discard-replaced": "discard",
    "remove-pending-replace": "remove-pending-replace",
}
# Table order: what can lose data first.
_OP_ORDER = ("replace", "delete", "create", "update", "import", "read", "refresh", "discard")
DESTRUCTIVE_OPS = frozenset({"replace", "delete"})
_OP_ICON = {"replace": "🔁", "delete": "🗑️", "create": "✨", "update": "✏️"}

MANDATORY = "mandatory"
_DIAGNOSTIC_SEVERITIES = ("error", "warning")
_STACK_TYPE = "pulumi:pulumi:Stack"
# Colour directives the engine embeds in messages unless run with --color never.
_COLOR_DIRECTIVE = re.compile(r"<\{%[^%]*%\}>")
_PATH_TOKEN = re.compile(r'\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


class InputKind(Enum):
    DIGEST = "digest"
    EVENTS = "events"


class PreviewFormatError(ValueError):
    """The input is not JSON written by `pulumi preview`."""


@dataclass(frozen=True)
class PropertyChange:
    path: str
    kind: str  # add, update, delete, with "-replace" when it forces a replacement
    old: str | None  # rendered value; None when the property is absent or not found
    new: str | None


@dataclass(frozen=True)
class Change:
    op: str  # see _OP_KIND: replacement steps are folded into "replace"
    urn: str
    type: str
    replace_reasons: tuple[str, ...]
    properties: tuple[PropertyChange, ...]
    protected_before: bool
    protected_after: bool

    @property
    def name(self) -> str:
        return resource_name(self.urn)

    @property
    def touches_protected(self) -> bool:
        return self.protected_before or self.protected_after


@dataclass(frozen=True)
class Violation:
    policy: str
    pack: str
    level: str  # mandatory or advisory (the engine reports remediate-level failures as mandatory)
    severity: str
    urn: str
    message: str


@dataclass(frozen=True)
class Remediation:
    policy: str
    urn: str


@dataclass(frozen=True)
class Diagnostic:
    severity: str
    message: str
    urn: str


@dataclass(frozen=True)
class PolicyPack:
    name: str
    version: str


@dataclass(frozen=True)
class Preview:
    kind: InputKind
    operation: str  # "preview", or "up" for the events of an update
    changes: tuple[Change, ...]
    counts: Mapping[str, int]  # per op, the engine's own change summary when it has one
    diagnostics: tuple[Diagnostic, ...]
    # None: the input cannot tell whether a policy pack ran (a digest, or events
    # without the closing summary); empty: it ran the preview without one.
    policy_packs: tuple[PolicyPack, ...] | None
    violations: tuple[Violation, ...]
    remediations: tuple[Remediation, ...]
    policies_evaluated: frozenset[str]

    @property
    def changed(self) -> int:
        return sum(count for op, count in self.counts.items() if op != "same")

    @property
    def mandatory(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.level == MANDATORY)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")

    @property
    def stack(self) -> str | None:
        urns = [c.urn for c in self.changes] + [d.urn for d in self.diagnostics] + [v.urn for v in self.violations]
        return next((stack_of(urn) for urn in urns if urn), None)


# --- URNs and values ---


def _urn_parts(urn: str) -> list[str]:
    # urn:pulumi:<stack>::<project>::<parent types $-joined><type>::<name>; the name may contain "::".
    return urn.split("::", 3)


def resource_name(urn: str) -> str:
    parts = _urn_parts(urn)
    return parts[3] if len(parts) == 4 else urn


def resource_type(urn: str) -> str:
    parts = _urn_parts(urn)
    return parts[2].rsplit("$", 1)[-1] if len(parts) == 4 else ""


def stack_of(urn: str) -> str | None:
    head = _urn_parts(urn)[0]
    return head.removeprefix("urn:pulumi:") if head.startswith("urn:pulumi:") else None


def _lookup(document: object, path: str) -> tuple[bool, object]:
    """The value at a Pulumi property path (`a.b[0]["c.d"]`) and whether it exists."""
    position, value = 0, document
    while position < len(path):
        match = _PATH_TOKEN.match(path, position)
        if match is None:
            return False, None
        key, index, quoted = match.groups()
        position = match.end()
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return False, None
            value = value[int(index)]
            continue
        name = key if key is not None else re.sub(r"\\(.)", r"\1", quoted)
        if not isinstance(value, dict) or name not in value:
            return False, None
        value = value[name]
    return True, value


def _render_value(value: object) -> str:
    # The engine masks secrets as the string "[secret]"; quoting it would suggest a real value.
    text = "[secret]" if value == "[secret]" else json.dumps(value, sort_keys=True)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


def _find_value(states: Sequence[Mapping[str, Any]], path: str) -> str | None:
    for state in states:
        found, value = _lookup(state, path)
        if found:
            return _render_value(value)
    return None


def _clean(message: str) -> str:
    return _COLOR_DIRECTIVE.sub("", message).strip()


# --- parsing ---


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def _change(
    *,
    op: str,
    urn: str,
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    replace_reasons: Iterable[str],
    detailed_diff: Mapping[str, Any],
    diff_reasons: Iterable[str],
) -> Change:
    old_values = [_mapping(old.get("inputs")), _mapping(old.get("outputs"))]
    new_values = [_mapping(new.get("inputs")), _mapping(new.get("outputs"))]
    properties: list[PropertyChange] = []
    for path, diff in sorted(detailed_diff.items()):
        # The digest names the diff kind "kind", the events "diffKind".
        kind = str(_mapping(diff).get("diffKind") or _mapping(diff).get("kind") or "update")
        properties.append(PropertyChange(path, kind, _find_value(old_values, path), _find_value(new_values, path)))
    if not properties:
        properties = [PropertyChange(path, "update", None, None) for path in sorted(diff_reasons)]
    return Change(
        op=_OP_KIND.get(op, op),
        urn=urn,
        type=str(new.get("type") or old.get("type") or resource_type(urn)),
        replace_reasons=tuple(sorted(set(replace_reasons))),
        properties=tuple(properties),
        protected_before=bool(old.get("protect")),
        protected_after=bool(new.get("protect")),
    )


def _keep(change: Change) -> bool:
    # Unchanged resources only matter when their protection changes.
    return change.op != "same" or change.protected_before != change.protected_after


def _merge(changes: dict[str, Change], change: Change) -> None:
    """One entry per resource: the steps of a replacement become one replace."""
    previous = changes.get(change.urn)
    if previous is None:
        changes[change.urn] = change
        return
    keep = change if change.op == "replace" and change.replace_reasons else previous
    changes[change.urn] = Change(
        op="replace" if "replace" in (previous.op, change.op) else keep.op,
        urn=change.urn,
        type=keep.type,
        replace_reasons=tuple(sorted(set(previous.replace_reasons) | set(change.replace_reasons))),
        properties=keep.properties or previous.properties or change.properties,
        protected_before=previous.protected_before or change.protected_before,
        protected_after=previous.protected_after or change.protected_after,
    )


def _diagnostic(payload: Mapping[str, Any]) -> Diagnostic | None:
    severity = str(payload.get("severity", ""))
    if severity not in _DIAGNOSTIC_SEVERITIES or payload.get("ephemeral"):
        return None
    message = _clean(str(payload.get("message", "")))
    # The digest keeps the "warning: " prefix in the message; the events carry it apart.
    message = message.removeprefix(f"{severity}: ")
    return Diagnostic(severity, message, str(payload.get("urn") or ""))


def _counts(summary: Mapping[str, Any], changes: Iterable[Change]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    if summary:
        for op, count in summary.items():
            if isinstance(count, int):
                counts[_OP_KIND.get(op, op)] += count
    else:
        counts.update(change.op for change in changes)
    return dict(counts)


def parse_digest(document: Mapping[str, Any]) -> Preview:
    changes: dict[str, Change] = {}
    for entry in document.get("steps") or []:
        step = _mapping(entry)
        change = _change(
            op=str(step.get("op", "")),
            urn=str(step.get("urn", "")),
            old=_mapping(step.get("oldState")),
            new=_mapping(step.get("newState")),
            replace_reasons=_strings(step.get("replaceReasons")),
            detailed_diff=_mapping(step.get("detailedDiff")),
            diff_reasons=_strings(step.get("diffReasons")),
        )
        if _keep(change):
            _merge(changes, change)
    diagnostics = [_diagnostic(_mapping(d)) for d in document.get("diagnostics") or []]
    return Preview(
        kind=InputKind.DIGEST,
        operation="preview",
        changes=tuple(changes.values()),
        counts=_counts(_mapping(document.get("changeSummary")), changes.values()),
        diagnostics=tuple(d for d in diagnostics if d is not None),
        policy_packs=None,
        violations=(),
        remediations=(),
        policies_evaluated=frozenset(),
    )


def _policy_pack(key: str, version: object) -> PolicyPack:
    # The summary keys packs as "<name>|local|<path>" for a local pack directory.
    return PolicyPack(key.split("|", 1)[0], str(version))


def parse_events(events: Iterable[Mapping[str, Any]]) -> Preview:
    changes: dict[str, Change] = {}
    diagnostics: list[Diagnostic] = []
    violations: list[Violation] = []
    remediations: list[Remediation] = []
    evaluated: set[str] = set()
    summary: Mapping[str, Any] | None = None
    for event in events:
        if "resourcePreEvent" in event:
            step = _mapping(_mapping(event["resourcePreEvent"]).get("metadata"))
            change = _change(
                op=str(step.get("op", "")),
                urn=str(step.get("urn", "")),
                old=_mapping(step.get("old")),
                new=_mapping(step.get("new")),
                replace_reasons=_strings(step.get("keys")),
                detailed_diff=_mapping(step.get("detailedDiff")),
                diff_reasons=_strings(step.get("diffs")),
            )
            if _keep(change):
                _merge(changes, change)
        elif "diagnosticEvent" in event:
            diagnostic = _diagnostic(_mapping(event["diagnosticEvent"]))
            if diagnostic is not None and diagnostic not in diagnostics:
                diagnostics.append(diagnostic)
        elif "policyEvent" in event:
            payload = _mapping(event["policyEvent"])
            violations.append(
                Violation(
                    policy=str(payload.get("policyName", "")),
                    pack=str(payload.get("policyPackName", "")),
                    level=str(payload.get("enforcementLevel", "")),
                    severity=str(payload.get("severity") or ""),
                    urn=str(payload.get("resourceUrn") or ""),
                    message=_clean(str(payload.get("message", ""))),
                )
            )
        elif "policyRemediationEvent" in event:
            payload = _mapping(event["policyRemediationEvent"])
            remediations.append(Remediation(str(payload.get("policyName", "")), str(payload.get("resourceUrn") or "")))
        elif "policyAnalyzeSummaryEvent" in event or "policyAnalyzeStackSummaryEvent" in event:
            payload = _mapping(event.get("policyAnalyzeSummaryEvent") or event.get("policyAnalyzeStackSummaryEvent"))
            evaluated.update(_strings(payload.get("passed")) + _strings(payload.get("failed")))
        elif "summaryEvent" in event:
            summary = _mapping(event["summaryEvent"])
    packs = None
    if summary is not None:
        packs = tuple(_policy_pack(key, version) for key, version in _mapping(summary.get("PolicyPacks")).items())
    return Preview(
        kind=InputKind.EVENTS,
        operation="up" if summary is not None and summary.get("isPreview") is False else "preview",
        changes=tuple(changes.values()),
        counts=_counts(_mapping(summary.get("resourceChanges")) if summary else {}, changes.values()),
        diagnostics=tuple(diagnostics),
        policy_packs=packs,
        violations=tuple(violations),
        remediations=tuple(remediations),
        policies_evaluated=frozenset(evaluated),
    )


def parse_preview(text: str) -> Preview:
    """Parse either JSON form `pulumi preview` writes (see the module docstring)."""
    text = text.strip()
    if not text:
        raise PreviewFormatError("the input is empty")
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict) and "steps" in document:
        return parse_digest(document)
    events: list[Mapping[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            raise PreviewFormatError(f"line {number} is not JSON ({error.msg}): {line[:80]!r}") from None
        if not isinstance(event, dict):
            raise PreviewFormatError(f"line {number} is not an engine event object")
        events.append(event)
    if not any(key.endswith("Event") for event in events for key in event):
        raise PreviewFormatError("no engine events or preview steps found")
    return parse_events(events)


# --- Markdown ---


def comment_marker(stack: str | None) -> str:
    return f"<!-- delivery-platform:preview-summary stack={stack or 'unknown'} -->"


def _text(value: str) -> str:
    """Plain text safe inside a table cell."""
    escaped = html.escape(value.strip(), quote=False).replace("|", "\\|")
    return "<br>".join(line.rstrip() for line in escaped.splitlines())


def _code(value: str) -> str:
    value = " ".join(value.split()).replace("|", "\\|")
    fence = "``" if "`" in value else "`"
    padding = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{padding}{value}{padding}{fence}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], max_rows: int) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[:max_rows]]
    if len(rows) > max_rows:
        lines.append(f"\n… and {len(rows) - max_rows} more (see the job log).")
    return lines


def _resource(urn: str, *, with_urn: bool = False) -> str:
    if resource_type(urn) == _STACK_TYPE:
        return "the whole stack"
    cell = _code(resource_name(urn))
    return f"{cell}<br><sub>{_code(urn)}</sub>" if with_urn else cell


def _op_label(op: str) -> str:
    icon = _OP_ICON.get(op)
    return f"{icon} {op}" if icon else op


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def _protect_label(change: Change) -> str:
    if change.op in DESTRUCTIVE_OPS and change.protected_before:
        return f"on: Pulumi refuses to {change.op} it until it is unprotected"
    before = "on" if change.protected_before else "off"
    after = "on" if change.protected_after else "off"
    return before if before == after else f"{before} → {after}"


def _property(change: PropertyChange) -> str:
    label = _code(change.path)
    if change.kind.endswith("-replace"):
        label += " (forces replacement)"
    if change.old is None and change.new is None:
        return label
    old = _code(change.old) if change.old is not None else "∅"
    new = _code(change.new) if change.new is not None else "∅"
    return f"{label}: {old} → {new}"


def _headline(preview: Preview) -> str:
    changed = preview.changed
    destructive = sum(preview.counts.get(op, 0) for op in DESTRUCTIVE_OPS)
    if preview.mandatory:
        line = f"❌ **Blocked:** {_plural(len(preview.mandatory), 'mandatory policy violation')} must be fixed first."
    elif preview.errors:
        line = f"❌ **`pulumi {preview.operation}` failed:** see the errors below."
    elif changed == 0:
        line = "✅ **No changes.**"
    else:
        line = f"📝 **{_plural(changed, 'resource change')}**"
        line += f", {destructive} of them replace or delete." if destructive else "."
    advisory = len(preview.violations) - len(preview.mandatory)
    if advisory:
        line += f" ⚠️ {_plural(advisory, 'advisory policy violation')}."
    if preview.policy_packs is None:
        line += " ⚠️ Policy results are not in this input."
    return line


def _counts_section(preview: Preview) -> list[str]:
    ops = [op for op in _OP_ORDER if preview.counts.get(op)]
    ops += sorted(op for op in preview.counts if op not in _OP_ORDER and op != "same" and preview.counts[op])
    rows = [[_op_label(op), str(preview.counts[op])] for op in ops]
    if preview.counts.get("same"):
        rows.append(["unchanged", str(preview.counts["same"])])
    return _table(["Operation", "Resources"], rows, max_rows=len(rows)) if rows else []


def _why(change: Change) -> str:
    if change.op == "delete":
        return "removed from the program"
    return ", ".join(_code(reason) for reason in change.replace_reasons) or "replacement requested"


def _destructive_section(changes: Sequence[Change], max_rows: int) -> list[str]:
    destructive = sorted(
        (c for c in changes if c.op in DESTRUCTIVE_OPS), key=lambda c: (_OP_ORDER.index(c.op), c.type, c.name)
    )
    if not destructive:
        return []
    rows = [[_op_label(c.op), _resource(c.urn), _code(c.type), _why(c)] for c in destructive]
    return [
        "### Replacements and deletions",
        "",
        *_table(["Operation", "Resource", "Type", "Why"], rows, max_rows),
    ]


def _description(messages: Sequence[str]) -> str | None:
    """The policy description the engine puts on the first line of each message of
    one policy, when every message starts with it."""
    first_lines = {message.split("\n", 1)[0] for message in messages}
    if len(first_lines) == 1 and all("\n" in message for message in messages):
        return first_lines.pop()
    return None


def _policy_section(preview: Preview, max_rows: int) -> list[str]:
    lines = ["### Policy violations", ""]
    if preview.policy_packs is None:
        if preview.kind is InputKind.DIGEST:
            reason = (
                "`pulumi preview --json` leaves policy events out of its output. Summarise the engine events "
                "instead: `pulumi preview --event-log FILE` (with `PULUMI_DEBUG_COMMANDS=true`) or "
                "`pulumi preview --json` with `PULUMI_ENABLE_STREAMING_JSON_PREVIEW=true`."
            )
        else:
            reason = "The event stream ends before the engine's summary, so it cannot tell which policy packs ran."
        return [*lines, f"⚠️ Not in this input. {reason}"]
    if not preview.policy_packs:
        return [*lines, "⚠️ No policy pack ran: pass `--policy-pack policies` to `pulumi preview`."]
    packs = ", ".join(f"{_code(pack.name)} {pack.version}".rstrip() for pack in preview.policy_packs)
    failed = {v.policy for v in preview.violations}
    evaluated = f" ({len(preview.policies_evaluated)} policies checked)" if preview.policies_evaluated else ""
    if not preview.violations:
        lines.append(f"✅ None. Policy packs: {packs}{evaluated}.")
    else:
        lines.append(f"Policy packs: {packs}{evaluated}; {_plural(len(failed), 'policy', 'policies')} failed.")
    groups: dict[tuple[str, str, str], list[Violation]] = {}
    for violation in preview.violations:
        groups.setdefault((violation.pack, violation.policy, violation.level), []).append(violation)
    # Mandatory groups first: they block the change.
    for (_pack, policy, level), members in sorted(groups.items(), key=lambda g: (g[0][2] != MANDATORY, g[0][1])):
        severity = f", severity {members[0].severity}" if members[0].severity else ""
        lines += ["", f"#### {'❌' if level == MANDATORY else '⚠️'} {_code(policy)}: {level}{severity}", ""]
        description = _description([v.message for v in members])
        if description is not None:
            lines += [f"> {_text(description)}", ""]
        rows = [
            [
                _resource(v.urn, with_urn=True) if v.urn else "the whole stack",
                _text(v.message.split("\n", 1)[1] if description is not None else v.message),
            ]
            for v in sorted(members, key=lambda v: v.urn)
        ]
        lines += _table(["Resource", "Violation"], rows, max_rows)
    if preview.remediations:
        rows = [[_code(r.policy), _resource(r.urn, with_urn=True)] for r in preview.remediations]
        lines += ["", "#### 🔧 Fixed by remediation policies", "", *_table(["Policy", "Resource"], rows, max_rows)]
    return lines


def _protected_section(changes: Sequence[Change], max_rows: int) -> list[str]:
    touched = [c for c in changes if c.touches_protected]
    if not touched:
        return []
    rows = [[_op_label(c.op), _resource(c.urn), _code(c.type), _protect_label(c)] for c in touched]
    return [
        "### 🔒 Protected resources touched",
        "",
        *_table(["Operation", "Resource", "Type", "Protect"], rows, max_rows),
    ]


def _other_changes_section(changes: Sequence[Change], max_rows: int) -> list[str]:
    others = sorted(
        (c for c in changes if c.op not in DESTRUCTIVE_OPS and c.op != "same"),
        key=lambda c: (_OP_ORDER.index(c.op) if c.op in _OP_ORDER else len(_OP_ORDER), c.type, c.name),
    )
    if not others:
        return []
    rows = [
        [_op_label(c.op), _resource(c.urn), _code(c.type), "<br>".join(_property(p) for p in c.properties)]
        for c in others
    ]
    return [
        "### Creates and updates",
        "",
        f"<details><summary>{_plural(len(others), 'resource')}</summary>",
        "",
        *_table(["Operation", "Resource", "Type", "Changed properties"], rows, max_rows),
        "",
        "</details>",
    ]


def _diagnostics_section(diagnostics: Sequence[Diagnostic], max_rows: int) -> list[str]:
    if not diagnostics:
        return []
    ordered = sorted(diagnostics, key=lambda d: _DIAGNOSTIC_SEVERITIES.index(d.severity))
    items = [
        f"- **{d.severity}**{' ' + _resource(d.urn) if d.urn else ''}: {_text(d.message)}" for d in ordered[:max_rows]
    ]
    if len(ordered) > max_rows:
        items.append(f"- … and {len(ordered) - max_rows} more (see the job log).")
    return ["### Errors and warnings", "", *items]


def render(preview: Preview, *, stack: str | None = None, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    stack = stack or preview.stack
    title = f"## Pulumi {preview.operation}: {_code(stack)}" if stack else f"## Pulumi {preview.operation}"
    sections = [
        [comment_marker(stack), title, "", _headline(preview)],
        _counts_section(preview),
        _destructive_section(preview.changes, max_rows),
        _policy_section(preview, max_rows),
        _protected_section(preview.changes, max_rows),
        _other_changes_section(preview.changes, max_rows),
        _diagnostics_section(preview.diagnostics, max_rows),
    ]
    return "\n\n".join("\n".join(section) for section in sections if section) + "\n"


def render_for_comment(preview: Preview, *, stack: str | None = None, max_rows: int = DEFAULT_MAX_ROWS) -> str:
    """`render`, with tables shortened until the text fits in one GitHub comment."""
    markdown = render(preview, stack=stack, max_rows=max_rows)
    while len(markdown) > COMMENT_LIMIT and max_rows > MIN_ROWS:
        max_rows = max(MIN_ROWS, max_rows // 2)
        markdown = render(preview, stack=stack, max_rows=max_rows)
    return markdown


def gate_failures(preview: Preview) -> list[str]:
    """Why a policy gate must not pass this preview; empty when it may."""
    if preview.policy_packs is None:
        return ["the input shows no policy results (see the summary's policy section)"]
    if not preview.policy_packs:
        return ["no policy pack ran"]
    return [f"{_plural(len(preview.mandatory), 'mandatory policy violation')}"] if preview.mandatory else []


# --- command line ---


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m components.tools.preview_summary",
        description="Summarise `pulumi preview` JSON (engine events or the --json digest) as Markdown.",
    )
    parser.add_argument("input", nargs="?", type=Path, help="the preview JSON (default: standard input)")
    parser.add_argument("--stack", help="stack name for the title (default: read from the resource URNs)")
    parser.add_argument("--output", type=Path, help="write the Markdown here instead of standard output")
    parser.add_argument(
        "--fail-on-mandatory",
        action="store_true",
        help="exit 1 on a mandatory policy violation, or when the input cannot show policy results",
    )
    parser.add_argument(
        "--max-rows", type=int, default=DEFAULT_MAX_ROWS, help="rows per table before the rest is elided"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    try:
        text = arguments.input.read_text(encoding="utf-8") if arguments.input else sys.stdin.read()
        preview = parse_preview(text)
    except (OSError, PreviewFormatError) as error:
        print(f"preview_summary: cannot read the preview: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    markdown = render_for_comment(preview, stack=arguments.stack, max_rows=arguments.max_rows)
    if arguments.output:
        arguments.output.write_text(markdown, encoding="utf-8")
    else:
        sys.stdout.write(markdown)
    if arguments.fail_on_mandatory:
        failures = gate_failures(preview)
        if failures:
            print(f"preview_summary: policy gate failed: {'; '.join(failures)}", file=sys.stderr)
            return EXIT_GATE_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
