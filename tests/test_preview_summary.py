"""The preview summary tool on small hand-made inputs shaped like the engine's JSON
(Pulumi v3.259 to v3.274: the `pulumi preview --json` digest and the engine events of
`--event-log`): edge cases the real dev stack cannot produce. tests/e2e covers the
tool on real engine output."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from components.config import PROJECT
from components.tools import preview_summary
from components.tools.preview_summary import (
    COMMENT_LIMIT,
    EXIT_BAD_INPUT,
    EXIT_GATE_FAILED,
    EXIT_OK,
    parse_preview,
    render,
    render_for_comment,
)
from tests.conftest import REPO

STACK = "qa"
PACK = "delivery-platform"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE = "kubernetes:core/v1:Service"
JOB = "kubernetes:batch/v1:Job"
APP = "delivery-platform:workloads:RollingApp"


def urn(type_: str, name: str, parents: Sequence[str] = ("delivery-platform:platform:Platform", APP)) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{'$'.join([*parents, type_])}::{name}"


ROOT = urn("pulumi:pulumi:Stack", f"{PROJECT}-{STACK}", parents=())


def state(resource: str, inputs: Mapping[str, Any] | None = None, *, protect: bool = False) -> dict[str, Any]:
    type_ = resource.split("::")[2].rsplit("$", 1)[-1]
    document: dict[str, Any] = {"urn": resource, "type": type_, "inputs": dict(inputs or {}), "outputs": {}}
    if protect:
        document["protect"] = True
    return document


# --- the digest (`pulumi preview --json`) ---


def digest_step(
    op: str,
    resource: str,
    *,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    replace_reasons: Sequence[str] = (),
    detailed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    step: dict[str, Any] = {"op": op, "urn": resource}
    if old is not None:
        step["oldState"] = old
    if new is not None:
        step["newState"] = new
    if replace_reasons:
        step["replaceReasons"] = list(replace_reasons)
    step["detailedDiff"] = (
        {path: {"kind": kind, "inputDiff": False} for path, kind in detailed.items()} if detailed is not None else None
    )
    return step


def digest(steps: Sequence[Mapping[str, Any]], diagnostics: Sequence[Mapping[str, Any]] = ()) -> str:
    summary: dict[str, int] = {}
    for step in steps:
        summary[step["op"]] = summary.get(step["op"], 0) + 1
    document = {"config": {}, "steps": list(steps), "diagnostics": list(diagnostics), "changeSummary": summary}
    return json.dumps(document)


# --- engine events (`--event-log`, or streamed `--json`) ---


def pre_event(
    op: str,
    resource: str,
    *,
    old: Mapping[str, Any] | None = None,
    new: Mapping[str, Any] | None = None,
    keys: Sequence[str] = (),
    detailed: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "op": op,
        "urn": resource,
        "type": resource.split("::")[2].rsplit("$", 1)[-1],
        "old": old,
        "new": new,
        "detailedDiff": {path: {"diffKind": kind, "inputDiff": False} for path, kind in (detailed or {}).items()},
        "provider": "",
    }
    if keys:
        metadata["keys"] = list(keys)
    return {"resourcePreEvent": {"metadata": metadata}}


def policy_event(policy: str, level: str, resource: str, message: str, severity: str = "high") -> dict[str, Any]:
    return {
        "policyEvent": {
            "resourceUrn": resource,
            "message": message,
            "color": "never",
            "policyName": policy,
            "policyPackName": PACK,
            "policyPackVersion": "0.1.0",
            "policyPackVersionTag": "0.1.0",
            "enforcementLevel": level,
            "severity": severity,
        }
    }


def summary_event(changes: Mapping[str, int], *, packs: bool = True, is_preview: bool = True) -> dict[str, Any]:
    return {
        "summaryEvent": {
            "maybeCorrupt": False,
            "durationSeconds": 1,
            "resourceChanges": dict(changes),
            "PolicyPacks": {f"{PACK}|local|/repo/policies": "0.1.0"} if packs else {},
            "isPreview": is_preview,
            "result": "succeeded",
        }
    }


def events(*items: Mapping[str, Any]) -> str:
    return "\n".join(json.dumps({"sequence": number, "timestamp": 0, **item}) for number, item in enumerate(items))


# --- reading the Markdown back ---


def sections(markdown: str) -> dict[str, str]:
    """Level-3 sections by heading (emoji stripped), in document order."""
    found: dict[str, str] = {}
    for chunk in re.split(r"^### ", markdown, flags=re.MULTILINE)[1:]:
        heading, _, body = chunk.partition("\n")
        found[heading.lstrip("🔒 ").strip()] = body
    return found


def rows(body: str) -> list[list[str]]:
    """Table rows (header and separator left out), cells split on unescaped pipes."""
    table = [line for line in body.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])] for line in table[1:]]


def count_rows(markdown: str) -> dict[str, int]:
    counts_table = markdown.split("\n### ", 1)[0]
    return {row[0].split()[-1]: int(row[1]) for row in rows(counts_table)}


def run_main(arguments: Sequence[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = preview_summary.main(list(arguments))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# --- tests ---


def test_digest_lists_replacements_and_deletions_before_creates_and_updates() -> None:
    job, old_svc, new_app, web = (
        urn(JOB, "qa-migrate"),
        urn(SERVICE, "qa-legacy"),
        urn(DEPLOYMENT, "qa-new"),
        urn(DEPLOYMENT, "qa-web"),
    )
    text = digest(
        [
            digest_step("same", ROOT, old=state(ROOT), new=state(ROOT)),
            digest_step("create", new_app, new=state(new_app)),
            digest_step(
                "update",
                web,
                old=state(web, {"spec": {"replicas": 2}}),
                new=state(web, {"spec": {"replicas": 3}}),
                detailed={"spec.replicas": "update"},
            ),
            digest_step("delete", old_svc, old=state(old_svc)),
            digest_step(
                "replace",
                job,
                old=state(job),
                new=state(job),
                replace_reasons=["spec.template"],
                detailed={"spec.template": "update-replace"},
            ),
        ]
    )
    markdown = render(parse_preview(text))

    assert count_rows(markdown) == {"replace": 1, "delete": 1, "create": 1, "update": 1, "unchanged": 1}
    found = sections(markdown)
    headings = list(found)
    assert headings.index("Replacements and deletions") < headings.index("Creates and updates")
    destructive = rows(found["Replacements and deletions"])
    assert [row[1] for row in destructive] == ["`qa-migrate`", "`qa-legacy`"]  # replacements first
    assert destructive[0][2] == f"`{JOB}`"
    assert destructive[0][3] == "`spec.template`"
    others = {row[1]: row for row in rows(found["Creates and updates"])}
    assert set(others) == {"`qa-new`", "`qa-web`"}
    assert others["`qa-web`"][3] == "`spec.replicas`: `2` → `3`"


def test_engine_events_of_one_replacement_are_one_replace() -> None:
    job = urn(JOB, "qa-migrate")
    old, new = state(job, {"spec": {"template": {"x": 1}}}), state(job, {"spec": {"template": {"x": 2}}})
    text = events(
        pre_event("same", ROOT, old=state(ROOT), new=state(ROOT)),
        pre_event("create-replacement", job, old=old, new=new, keys=["spec.template"]),
        pre_event(
            "replace", job, old=old, new=new, keys=["spec.template"], detailed={"spec.template": "update-replace"}
        ),
        pre_event("delete-replaced", job, old=old),
        summary_event({"replace": 1, "same": 1}),
    )
    preview = parse_preview(text)
    markdown = render(preview)

    assert [(change.op, change.urn) for change in preview.changes] == [("replace", job)]
    assert count_rows(markdown) == {"replace": 1, "unchanged": 1}
    (row,) = rows(sections(markdown)["Replacements and deletions"])
    assert row[1] == "`qa-migrate`"
    assert row[3] == "`spec.template`"


def test_violations_are_grouped_by_policy_with_mandatory_groups_first() -> None:
    description = "Every container names an immutable tag."
    web, api = urn(DEPLOYMENT, "qa-web"), urn(DEPLOYMENT, "qa-api")
    text = events(
        policy_event("required-labels", "advisory", web, "Workloads carry the labels.\nqa-web lacks team", "low"),
        policy_event("image-pinned", "mandatory", web, f"{description}\nqa-web uses :latest"),
        policy_event("image-pinned", "mandatory", api, f"{description}\nqa-api uses :main"),
        policy_event("namespace-default-deny", "mandatory", ROOT, "namespace qa has no default-deny policy"),
        summary_event({"same": 3}),
    )
    markdown = render(parse_preview(text))
    policy_section = sections(markdown)["Policy violations"]
    groups = re.findall(r"^#### \S+ `([^`]+)`: (\w+)(?:, severity (\w+))?$", policy_section, flags=re.MULTILINE)

    # Mandatory first (by policy name), then advisory; each policy once, with its level and severity.
    assert groups == [
        ("image-pinned", "mandatory", "high"),
        ("namespace-default-deny", "mandatory", "high"),
        ("required-labels", "advisory", "low"),
    ]
    image_group = policy_section.split("`image-pinned`", 1)[1].split("#### ", 1)[0]
    assert image_group.count(description) == 1  # the shared description, once above the table
    violations = rows(image_group)
    assert [row[0] for row in violations] == [
        f"`qa-api`<br><sub>`{api}`</sub>",
        f"`qa-web`<br><sub>`{web}`</sub>",
    ]
    assert [row[1] for row in violations] == ["qa-api uses :main", "qa-web uses :latest"]
    stack_group = policy_section.split("`namespace-default-deny`", 1)[1].split("#### ", 1)[0]
    assert rows(stack_group) == [["the whole stack", "namespace qa has no default-deny policy"]]
    assert "**Blocked:** 3 mandatory policy violations" in markdown
    assert "1 advisory policy violation" in markdown


def test_a_remediation_is_listed_with_its_policy() -> None:
    web = urn(DEPLOYMENT, "qa-web")
    remediation = {
        "policyRemediationEvent": {
            "resourceUrn": web,
            "color": "never",
            "policyName": "image-pull-policy",
            "policyPackName": PACK,
            "policyPackVersion": "0.1.0",
            "policyPackVersionTag": "0.1.0",
        }
    }
    markdown = render(parse_preview(events(remediation, summary_event({"same": 1}))))
    fixed = markdown.split("Fixed by remediation policies", 1)[1]
    assert rows(fixed) == [["`image-pull-policy`", f"`qa-web`<br><sub>`{web}`</sub>"]]


def test_protected_resources_touched_are_called_out() -> None:
    kept, unprotected, deleted, newly, quiet = (urn(DEPLOYMENT, f"qa-{n}") for n in "abcde")
    text = events(
        pre_event("update", unprotected, old=state(unprotected, protect=True), new=state(unprotected)),
        pre_event("delete", deleted, old=state(deleted, protect=True)),
        pre_event("same", newly, old=state(newly), new=state(newly, protect=True)),
        pre_event("update", kept, old=state(kept, protect=True), new=state(kept, protect=True)),
        pre_event("same", quiet, old=state(quiet, protect=True), new=state(quiet, protect=True)),
        summary_event({"update": 2, "delete": 1, "same": 2}),
    )
    table = rows(sections(render(parse_preview(text)))["Protected resources touched"])
    protect_by_name = {row[1]: (row[0].split()[-1], row[3]) for row in table}
    assert protect_by_name == {
        "`qa-b`": ("update", "on → off"),
        "`qa-c`": ("delete", "on: Pulumi refuses to delete it until it is unprotected"),
        "`qa-d`": ("same", "off → on"),
        "`qa-a`": ("update", "on"),
    }


def test_changed_properties_show_old_and_new_values() -> None:
    web = urn(DEPLOYMENT, "qa-web")
    old = state(web, {"metadata": {"labels": {"app.kubernetes.io/version": "1.0"}}, "spec": {"args": ["a", "b"]}})
    new = state(
        web,
        {
            "metadata": {"labels": {"app.kubernetes.io/version": "1.1"}},
            "spec": {"args": ["a", "c"]},
            "token": "[secret]",
        },
    )
    detailed = {
        'metadata.labels["app.kubernetes.io/version"]': "update",
        "spec.args[1]": "update",
        "token": "add",
        "spec.paused": "delete",
    }
    text = events(pre_event("update", web, old=old, new=new, detailed=detailed), summary_event({"update": 1}))
    (row,) = rows(sections(render(parse_preview(text)))["Creates and updates"])
    assert row[3].split("<br>") == [
        '`metadata.labels["app.kubernetes.io/version"]`: `"1.0"` → `"1.1"`',
        '`spec.args[1]`: `"b"` → `"c"`',
        "`spec.paused`",  # neither side has it: the path alone
        "`token`: ∅ → `[secret]`",
    ]


def test_table_cells_escape_markdown_and_html() -> None:
    web = urn(DEPLOYMENT, "qa-web")
    message = "Check <script>alert(1)</script>\nname | with pipe\nsecond <b>line</b>"
    text = events(policy_event("odd-policy", "advisory", web, message), summary_event({"same": 1}))
    markdown = render(parse_preview(text))
    policy = sections(markdown)["Policy violations"]
    assert "> Check &lt;script&gt;alert(1)&lt;/script&gt;" in policy.splitlines()
    (row,) = rows(policy)
    assert row[1] == "name \\| with pipe<br>second &lt;b&gt;line&lt;/b&gt;"
    assert "<script>" not in markdown
    assert "<b>" not in markdown


def test_colour_directives_and_debug_messages_are_dropped() -> None:
    web = urn(DEPLOYMENT, "qa-web")
    diagnostics: list[dict[str, Any]] = [
        {"diagnosticEvent": {"prefix": "debug: ", "message": "registering resource\n", "severity": "debug"}},
        {"diagnosticEvent": {"message": "progress\n", "severity": "info", "ephemeral": True}},
        {
            "diagnosticEvent": {
                "urn": web,
                "prefix": "<{%fg 3%}>warning: <{%reset%}>",
                "message": "<{%fg 3%}>cluster unreachable<{%reset%}>\n",
                "severity": "warning",
            }
        },
        {"diagnosticEvent": {"prefix": "error: ", "message": "preview failed\n", "severity": "error"}},
    ]
    markdown = render(parse_preview(events(*diagnostics, summary_event({"same": 1}))))
    items = sections(markdown)["Errors and warnings"].strip().splitlines()
    assert items == ["- **error**: preview failed", "- **warning** `qa-web`: cluster unreachable"]
    assert "**`pulumi preview` failed:**" in markdown


def test_a_digest_says_policy_results_are_missing() -> None:
    web = urn(DEPLOYMENT, "qa-web")
    markdown = render(parse_preview(digest([digest_step("create", web, new=state(web))])))
    policy = sections(markdown)["Policy violations"]
    assert "Not in this input" in policy
    assert "PULUMI_ENABLE_STREAMING_JSON_PREVIEW" in policy
    assert "--event-log" in policy


def test_no_changes() -> None:
    markdown = render(parse_preview(events(pre_event("same", ROOT), summary_event({"same": 7}))))
    assert "**No changes.**" in markdown
    assert count_rows(markdown) == {"unchanged": 7}
    assert set(sections(markdown)) == {"Policy violations"}


def test_title_names_the_stack_and_operation_and_the_marker_comes_first() -> None:
    web = urn(DEPLOYMENT, "qa-web")
    text = events(pre_event("create", web, new=state(web)), summary_event({"create": 1}, is_preview=False))
    markdown = render(parse_preview(text))
    first, title = markdown.splitlines()[:2]
    assert first == f"<!-- delivery-platform:preview-summary stack={STACK} -->"
    assert title == f"## Pulumi up: `{STACK}`"
    assert render(parse_preview(text), stack="other").splitlines()[1] == "## Pulumi up: `other`"


def test_large_previews_are_cut_to_fit_one_comment() -> None:
    deletions = [pre_event("delete", urn(SERVICE, f"qa-{n:04}-" + "x" * 150), old=None) for n in range(2000)]
    preview = parse_preview(events(*deletions, summary_event({"delete": 2000})))

    assert len(rows(sections(render(preview, max_rows=7))["Replacements and deletions"])) == 7
    markdown = render_for_comment(preview)
    assert len(markdown) <= COMMENT_LIMIT
    assert "more (see the job log)" in markdown
    assert count_rows(markdown) == {"delete": 2000}  # the counts stay exact


@pytest.mark.parametrize(
    ("level", "packs", "expected"),
    [
        ("mandatory", True, EXIT_GATE_FAILED),
        ("advisory", True, EXIT_OK),
        (None, False, EXIT_GATE_FAILED),  # the preview ran without a policy pack
    ],
)
def test_fail_on_mandatory_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], level: str | None, packs: bool, expected: int
) -> None:
    web = urn(DEPLOYMENT, "qa-web")
    items = [policy_event("image-pinned", level, web, "bad tag")] if level else []
    path = tmp_path / "events.jsonl"
    path.write_text(events(*items, summary_event({"same": 1}, packs=packs)), encoding="utf-8")

    assert run_main([str(path)], capsys)[0] == EXIT_OK  # without the flag it only reports
    status, out, err = run_main(["--fail-on-mandatory", str(path)], capsys)
    assert status == expected
    assert out.startswith("<!-- delivery-platform:preview-summary")
    assert ("policy gate failed" in err) == (expected == EXIT_GATE_FAILED)


def test_fail_on_mandatory_refuses_inputs_without_policy_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = urn(DEPLOYMENT, "qa-web")
    digest_file = tmp_path / "preview.json"
    digest_file.write_text(digest([digest_step("create", web, new=state(web))]), encoding="utf-8")
    unfinished = tmp_path / "events.jsonl"  # the stream stops before the engine's summary
    unfinished.write_text(events(pre_event("create", web, new=state(web))), encoding="utf-8")

    for path in (digest_file, unfinished):
        status, _, err = run_main(["--fail-on-mandatory", str(path)], capsys)
        assert status == EXIT_GATE_FAILED, path
        assert "no policy results" in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ('{"sequence": 1, "cancelEvent": {}}\nnot json\n', "line 2 is not JSON"),
        ("[1, 2]", "line 1 is not an engine event"),
        ('{"hello": "world"}', "no engine events or preview steps"),
    ],
)
def test_input_that_is_not_preview_json_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    path = tmp_path / "input"
    path.write_text(text, encoding="utf-8")
    status, out, err = run_main([str(path)], capsys)
    assert status == EXIT_BAD_INPUT
    assert out == ""
    assert message in err


def test_standard_input_file_argument_and_output_file_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    web = urn(DEPLOYMENT, "qa-web")
    text = events(pre_event("create", web, new=state(web)), summary_event({"create": 1}))
    path, output = tmp_path / "events.jsonl", tmp_path / "summary.md"
    path.write_text(text, encoding="utf-8")

    _, from_file, _ = run_main([str(path)], capsys)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    _, from_stdin, _ = run_main([], capsys)
    _, printed, _ = run_main(["--output", str(output), str(path)], capsys)

    assert from_file == from_stdin == output.read_text(encoding="utf-8") == render(parse_preview(text))
    assert printed == ""


def test_runs_as_a_module(tmp_path: Path) -> None:
    web = urn(DEPLOYMENT, "qa-web")
    path = tmp_path / "events.jsonl"
    path.write_text(events(policy_event("image-pinned", "mandatory", web, "bad"), summary_event({})), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "components.tools.preview_summary", "--stack", "qa", "--fail-on-mandatory", str(path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == EXIT_GATE_FAILED, completed.stderr
    assert "`image-pinned`" in completed.stdout
