"""The CI definitions that deliver this repository's own infrastructure: the GitHub
Actions workflows pass actionlint (with ShellCheck on every `run:` script) and keep
the rules a reviewer would check by hand (actions pinned by commit, least-privilege
tokens, Workload Identity Federation instead of keys, the policy gate, the protected
prod environment); the Jenkinsfile is checked for well-formed Declarative Pipeline
structure, as no Jenkinsfile linter runs without a Jenkins server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

WORKFLOWS = REPO / ".github" / "workflows"
JENKINSFILE = REPO / "Jenkinsfile"
BIN = Path(sys.executable).parent
STACKS = sorted(path.name.split(".")[1] for path in REPO.glob("Pulumi.*.yaml"))

# Each action at the commit it is pinned to, with the inputs its action.yml declares
# there (read from the action repositories at these commits).
PINNED_ACTIONS: dict[str, tuple[str, str, frozenset[str]]] = {
    "actions/checkout": (
        "3d3c42e5aac5ba805825da76410c181273ba90b1",
        "v7.0.1",
        frozenset(
            [
                "allow-unsafe-pr-checkout",
                "clean",
                "fetch-depth",
                "fetch-tags",
                "filter",
                "github-server-url",
                "lfs",
                "path",
                "persist-credentials",
                "ref",
                "repository",
                "set-safe-directory",
                "show-progress",
                "sparse-checkout",
                "sparse-checkout-cone-mode",
                "ssh-key",
                "ssh-known-hosts",
                "ssh-strict",
                "ssh-user",
                "submodules",
                "token",
            ]
        ),
    ),
    "actions/setup-python": (
        "5fda3b95a4ea91299a34e894583c3862153e4b97",
        "v7.0.0",
        frozenset(
            [
                "allow-prereleases",
                "architecture",
                "cache",
                "cache-dependency-path",
                "check-latest",
                "freethreaded",
                "pip-version",
                "python-version",
                "python-version-file",
                "token",
                "update-environment",
            ]
        ),
    ),
    "actions/setup-go": (
        "b7ad1dad31e06c5925ef5d2fc7ad053ef454303e",
        "v7.0.0",
        frozenset(
            [
                "architecture",
                "cache",
                "cache-dependency-path",
                "check-latest",
                "go-download-base-url",
                "go-version",
                "go-version-file",
                "token",
            ]
        ),
    ),
    "actions/cache": (
        "27d5ce7f107fe9357f9df03efb73ab90386fccae",
        "v5.0.5",
        frozenset(
            [
                "enableCrossOsArchive",
                "fail-on-cache-miss",
                "key",
                "lookup-only",
                "path",
                "restore-keys",
                "save-always",
                "upload-chunk-size",
            ]
        ),
    ),
    "google-github-actions/auth": (
        "7c6bc770dae815cd3e89ee6cdf493a5fab2cc093",
        "v3.0.0",
        frozenset(
            [
                "access_token_lifetime",
                "access_token_scopes",
                "access_token_subject",
                "audience",
                "cleanup_credentials",
                "create_credentials_file",
                "credentials_json",
                "delegates",
                "export_environment_variables",
                "id_token_audience",
                "id_token_include_email",
                "project_id",
                "request_reason",
                "service_account",
                "token_format",
                "universe",
                "workload_identity_provider",
            ]
        ),
    ),
    "google-github-actions/setup-gcloud": (
        "aa5489c8933f4cc7a4f7d45035b3b1440c9c10db",
        "v3.0.1",
        frozenset(["cache", "install_components", "project_id", "skip_install", "version"]),
    ),
}
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+?)(?:\s+#\s*(?P<comment>.*))?$")


def load(name: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as a boolean.
    document["on"] = document.pop(True, document.get("on"))
    return document


def steps(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def run_scripts(workflow: dict[str, Any]) -> str:
    return "\n".join(step["run"] for step in steps(workflow) if "run" in step)


def actionlint(directory: Path) -> subprocess.CompletedProcess[str]:
    # ShellCheck is found on PATH; the virtualenv's bin holds both binaries.
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    return subprocess.run(
        [str(BIN / "actionlint"), "-verbose", "-no-color"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


# --- GitHub Actions ---


def test_workflows_pass_actionlint_with_shellcheck() -> None:
    result = actionlint(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Found 0 errors in [1-9]\d* files", result.stderr), result.stderr
    assert 'Rule "shellcheck" was disabled' not in result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: a broken copy of the workflows is rejected."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    shutil.copytree(WORKFLOWS, tmp_path / ".github" / "workflows")
    broken = tmp_path / ".github" / "workflows" / "pulumi-stack.yml"
    text = broken.read_text(encoding="utf-8")
    broken.write_text(text.replace("inputs.stack", "inputs.stak", 1).replace('"$STACK"', "$STACK"), encoding="utf-8")

    result = actionlint(tmp_path)
    assert result.returncode == 1
    assert "stak" in result.stdout
    assert "SC2086" in result.stdout  # ShellCheck ran on the run: scripts


def test_every_action_is_pinned_to_a_reviewed_commit() -> None:
    seen = set()
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = USES_LINE.match(line)
            if match is None or match["ref"].startswith("./"):
                continue
            action, _, ref = match["ref"].partition("@")
            assert action in PINNED_ACTIONS, f"{path.name}: {action} is not a reviewed action"
            sha, version, _ = PINNED_ACTIONS[action]
            assert (ref, match["comment"]) == (sha, version), f"{path.name}: {line.strip()}"
            seen.add(action)
    assert seen == set(PINNED_ACTIONS)


def test_actions_get_only_inputs_they_declare() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for step in steps(load(path.name)):
            action = step.get("uses", "").partition("@")[0]
            if action in PINNED_ACTIONS:
                assert set(step.get("with", {})) <= PINNED_ACTIONS[action][2], (path.name, step)


def test_tokens_are_least_privilege() -> None:
    allowed = {"contents": "read", "id-token": "write", "pull-requests": "write"}
    for path in sorted(WORKFLOWS.glob("*.yml")):
        workflow = load(path.name)
        assert workflow["permissions"] == {}, f"{path.name}: the default token must have no permissions"
        for name, job in workflow["jobs"].items():
            granted = job.get("permissions", {})
            assert granted.items() <= allowed.items(), (path.name, name, granted)
            if "pull-requests" in granted:
                assert path.name == "preview.yml", "only previews comment on pull requests"
    assert "pull-requests" not in str(load("deploy.yml")["jobs"])


def test_gcp_access_is_workload_identity_federation_without_keys() -> None:
    workflow = load("pulumi-stack.yml")
    (auth,) = (step for step in steps(workflow) if step.get("uses", "").startswith("google-github-actions/auth@"))
    assert {"workload_identity_provider", "service_account"} <= set(auth["with"])
    assert "vars.GCP_WORKLOAD_IDENTITY_PROVIDER" in auth["with"]["workload_identity_provider"]
    for path in sorted(WORKFLOWS.glob("*.yml")):
        text = path.read_text(encoding="utf-8")
        assert "credentials_json" not in text
        assert not re.search(r"secrets\.\w*(KEY|JSON|CREDENTIALS)", text, flags=re.IGNORECASE), path.name
    for caller in ("preview.yml", "deploy.yml"):
        for job in load(caller)["jobs"].values():
            assert job["permissions"]["id-token"] == "write"


def test_pull_requests_preview_every_stack_through_the_policy_gate() -> None:
    workflow = load("preview.yml")
    assert set(workflow["on"]) == {"pull_request"}
    (job,) = workflow["jobs"].values()
    assert job["uses"] == "./.github/workflows/pulumi-stack.yml"
    assert job["with"]["command"] == "preview"
    assert sorted(job["strategy"]["matrix"]["stack"]) == STACKS
    assert job["strategy"]["fail-fast"] is False


def test_main_deploys_dev_then_prod_behind_the_protected_environment() -> None:
    workflow = load("deploy.yml")
    assert workflow["on"] == {"push": {"branches": ["main"]}}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    assert set(jobs) == {"dev", "prod"}
    for stack, job in jobs.items():
        assert job["uses"] == "./.github/workflows/pulumi-stack.yml"
        assert job["with"] == {"stack": stack, "command": "up", "environment": stack}
    assert jobs["prod"]["needs"] == "dev"
    reusable = load("pulumi-stack.yml")
    assert reusable["jobs"]["pulumi"]["environment"] == "${{ inputs.environment }}"


def test_the_stack_job_uses_the_repository_engine_and_fails_on_the_gate() -> None:
    workflow = load("pulumi-stack.yml")
    scripts = run_scripts(workflow)
    assert "bash scripts/setup.sh" in scripts
    # The operation itself is the shared script, run for real by tests/e2e/test_preview_summary_engine.py.
    assert 'bash scripts/ci-stack.sh "$COMMAND" "$STACK" "$RUNNER_TEMP"' in scripts
    last = list(steps(workflow))[-1]
    assert "steps.pulumi.outputs.status" in str(last["env"])
    assert "exit 1" in last["run"]
    (comment,) = (step for step in steps(workflow) if "issues/comments" in step.get("run", ""))
    assert comment["if"] == "inputs.command == 'preview' && github.event_name == 'pull_request'"
    assert '"$RUNNER_TEMP/summary-$STACK.md"' in comment["run"]


def test_the_stack_job_installs_a_pinned_auth_plugin_after_signing_in() -> None:
    """The GKE kubeconfig runs gke-gcloud-auth-plugin with application default
    credentials: the plugin must be on PATH, at a pinned version, once the job holds
    the Workload Identity Federation credentials and before Pulumi runs."""
    names = [step.get("uses", step.get("run", "")).partition("@")[0] for step in steps(load("pulumi-stack.yml"))]
    (setup,) = (
        step
        for step in steps(load("pulumi-stack.yml"))
        if step.get("uses", "").startswith("google-github-actions/setup-gcloud@")
    )
    assert "gke-gcloud-auth-plugin" in [part.strip() for part in setup["with"]["install_components"].split(",")]
    # An exact release, not a range or "latest": the plugin is the one shipped with it.
    assert re.fullmatch(r"\d+\.\d+\.\d+", setup["with"]["version"]), setup["with"]["version"]
    # The runner image's own gcloud is locked: components cannot be added to it.
    assert setup["with"].get("skip_install", False) is False
    auth = names.index("google-github-actions/auth")
    install = names.index("google-github-actions/setup-gcloud")
    operation = next(i for i, name in enumerate(names) if "bash scripts/ci-stack.sh" in name)
    assert auth < install < operation


def test_a_successful_up_renders_the_gitops_apps_into_the_release_repo() -> None:
    workflow = load("pulumi-stack.yml")
    names = [step.get("name", "") for step in steps(workflow)]
    (checkout,) = (step for step in steps(workflow) if step.get("with", {}).get("path") == "release")
    (render,) = (step for step in steps(workflow) if "scripts/ci-release.sh" in step.get("run", ""))
    # Only after an up that succeeded (with the gate), and only where a release repo is set.
    for step in (checkout, render):
        assert step["if"] == (
            "inputs.command == 'up' && steps.pulumi.outputs.status == '0' && vars.RELEASE_REPOSITORY != ''"
        )
    assert render["run"] == 'bash scripts/ci-release.sh "$STACK" release'
    assert names.index(checkout["name"]) < names.index(render["name"]) < len(names) - 1
    assert next(i for i, step in enumerate(steps(workflow)) if step.get("id") == "pulumi") < names.index(
        checkout["name"]
    )
    assert load("deploy.yml")["jobs"]["prod"]["secrets"]["RELEASE_REPO_TOKEN"] == "${{ secrets.RELEASE_REPO_TOKEN }}"


def test_checkout_does_not_keep_the_token() -> None:
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for step in steps(load(path.name)):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


# --- Jenkinsfile ---


@dataclass
class Block:
    """A `header { ... }` block of the Jenkinsfile. `text` is its body without comments,
    line breaks inside strings turned into spaces."""

    header: str
    text: str = ""
    children: list[Block] = field(default_factory=list)

    def find(self, prefix: str) -> list[Block]:
        return [child for child in self.children if child.header.startswith(prefix)]

    def one(self, prefix: str) -> Block:
        (found,) = self.find(prefix)
        return found

    def walk(self) -> Iterator[Block]:
        for child in self.children:
            yield child
            yield from child.walk()


_QUOTES = ("'''", '"""', "'", '"')


def _string_end(source: str, start: int, quote: str) -> int:
    end = start + len(quote)
    while not source.startswith(quote, end):
        if end >= len(source) or (len(quote) == 1 and source[end] == "\n"):
            raise ValueError(f"unterminated string at offset {start}")
        end += 2 if source[end] == "\\" else 1
    return end + len(quote)


def parse_groovy_blocks(source: str) -> Block:
    """Nested brace blocks of Groovy source; braces in strings and comments do not
    count. Raises on unbalanced braces or parentheses and on unterminated strings or
    comments."""
    root = Block("")
    stack, starts = [root], [0]
    code = ""  # the source without comments, line breaks inside strings as spaces
    position, parens = 0, 0
    while position < len(source):
        rest = source[position:]
        if rest.startswith("//"):
            end = source.find("\n", position)
            position = len(source) if end < 0 else end
            continue
        if rest.startswith("/*"):
            end = source.find("*/", position + 2)
            if end < 0:
                raise ValueError("unterminated block comment")
            position = end + 2
            continue
        quote = next((q for q in _QUOTES if rest.startswith(q)), None)
        if quote is not None:
            end = _string_end(source, position, quote)
            code += source[position:end].replace("\n", " ")
            position = end
            continue
        char = source[position]
        if char == "{":
            line = code[code.rfind("\n") + 1 :]
            block = Block(re.split(r"[{};]", line)[-1].strip())
            stack[-1].children.append(block)
            stack.append(block)
            starts.append(len(code) + 1)
        elif char == "}":
            if len(stack) == 1:
                raise ValueError(f"unbalanced '}}' at offset {position}")
            stack.pop().text = code[starts.pop() :]
        else:
            parens += {"(": 1, ")": -1}.get(char, 0)
            if parens < 0:
                raise ValueError(f"unbalanced ')' at offset {position}")
        code += char
        position += 1
    if len(stack) != 1 or parens != 0:
        raise ValueError("unbalanced braces or parentheses at the end of the file")
    return root


@pytest.fixture(scope="module")
def jenkinsfile() -> Block:
    return parse_groovy_blocks(JENKINSFILE.read_text(encoding="utf-8"))


def stages(pipeline: Block) -> dict[str, Block]:
    found = {}
    for block in pipeline.one("stages").children:
        match = re.fullmatch(r"stage\('([^']+)'\)", block.header)
        assert match, f"not a stage: {block.header!r}"
        assert match[1] not in found, f"duplicate stage {match[1]}"
        found[match[1]] = block
    return found


def directives(block: Block) -> set[str]:
    """Section and directive names of a declarative block: nested blocks and one-line entries."""
    names = {re.split(r"[\s(]", child.header)[0] for child in block.children}
    depth = 0
    for line in block.text.splitlines():
        if depth == 0 and (word := re.match(r"\s*([A-Za-z]+)", line)):
            names.add(word[1])
        depth += line.count("{") - line.count("}")
    return names


def helper(tree: Block, name: str) -> Block:
    return tree.one(f"def {name}(")


def test_the_groovy_block_parser_rejects_broken_files() -> None:
    for broken in ("pipeline {\n  stages {\n}\n", "x('unterminated\n", "a { b) }", "/* open", "a }"):
        with pytest.raises(ValueError, match=r"unbalanced|unterminated"):
            parse_groovy_blocks(broken)
    tree = parse_groovy_blocks("pipeline {\n  agent none // {\n  stages { stage('a') { steps { sh '}' } } }\n}\n")
    assert [block.header for block in tree.walk()] == ["pipeline", "stages", "stage('a')", "steps"]


def test_jenkinsfile_is_well_formed_declarative(jenkinsfile: Block) -> None:
    pipeline = jenkinsfile.one("pipeline")
    assert {"agent", "stages"} <= directives(pipeline)
    assert directives(pipeline) <= {
        "agent",
        "options",
        "environment",
        "stages",
        "post",
        "triggers",
        "parameters",
        "tools",
    }
    allowed_in_stage = {
        "agent",
        "when",
        "options",
        "input",
        "environment",
        "steps",
        "matrix",
        "stages",
        "post",
        "tools",
    }
    for name, stage in stages(pipeline).items():
        assert directives(stage) <= allowed_in_stage, name
        assert len(directives(stage) & {"steps", "matrix", "stages", "parallel"}) == 1, name
    # Every helper the stages call is defined beside the pipeline.
    called = set(re.findall(r"\b(\w+)\(", "".join(block.text for block in pipeline.walk() if block.header == "script")))
    defined = {child.header.split()[1].split("(")[0] for child in jenkinsfile.find("def ")}
    assert defined == {"pulumiWithPolicies", "commentOnPullRequest", "failUnlessClean", "renderReleases"}
    assert defined <= called


def test_jenkins_previews_pull_requests_with_the_policy_gate_and_a_comment(jenkinsfile: Block) -> None:
    preview = stages(jenkinsfile.one("pipeline"))["Preview"]
    assert "changeRequest()" in preview.one("when").text
    matrix = preview.one("matrix")
    axis = matrix.one("axes").one("axis")
    assert "name 'STACK'" in axis.text
    assert sorted(re.findall(r"'(\w+)'", axis.text.split("values", 1)[1])) == STACKS
    (steps_block,) = (block for block in matrix.walk() if block.header == "steps")
    assert "pulumiWithPolicies('preview', env.STACK" in steps_block.text
    assert steps_block.text.index("commentOnPullRequest(") < steps_block.text.index("failUnlessClean(")


def test_jenkins_deploys_dev_then_asks_before_prod(jenkinsfile: Block) -> None:
    pipeline = jenkinsfile.one("pipeline")
    assert re.search(r"^\s*agent none$", pipeline.text, flags=re.MULTILINE), "no executor held during approval"
    by_name = stages(pipeline)
    ordered = list(by_name)
    assert ordered.index("Up dev") < ordered.index("Preview prod") < ordered.index("Up prod")
    for name in ("Up dev", "Preview prod", "Up prod"):
        assert "branch 'main'" in by_name[name].one("when").text, name
    up_prod = by_name["Up prod"]
    assert "beforeInput true" in up_prod.one("when").text
    assert {"message", "ok", "submitter"} <= directives(up_prod.one("input"))
    assert "pulumiWithPolicies('up', 'prod'" in up_prod.one("steps").text
    assert "pulumiWithPolicies('up', 'dev'" in by_name["Up dev"].one("steps").text
    assert "failUnlessClean(" in up_prod.one("steps").text


def test_jenkins_runs_the_repository_engine_with_bound_credentials(jenkinsfile: Block) -> None:
    run = helper(jenkinsfile, "pulumiWithPolicies").text
    for needle in (
        "bash scripts/setup.sh",
        'bash scripts/ci-stack.sh "$PULUMI_COMMAND" "$STACK" .',
        'archiveArtifacts(artifacts: "summary-${stack}.md"',
        "withCredentials([file(credentialsId: gcpCredentialsId, variable: 'GOOGLE_APPLICATION_CREDENTIALS')])",
    ):
        assert needle in run, needle
    environment = jenkinsfile.one("pipeline").one("environment").text
    assert "PULUMI_CONFIG_PASSPHRASE = credentials('pulumi-config-passphrase')" in environment
    assert "usernamePassword(credentialsId: 'github-pr-comments'" in helper(jenkinsfile, "commentOnPullRequest").text
    # Secrets reach the shell as environment variables, never interpolated into its text.
    scripts = re.findall(r"script: (\'\'\'|\"\"\"|'|\")", run)
    assert scripts
    assert set(scripts) == {"'''"}, "shell scripts must be single-quoted Groovy strings"


# --- scripts/ci-stack.sh, the stack operation both CI files run ---

CI_STACK = REPO / "scripts" / "ci-stack.sh"


def test_shell_scripts_pass_shellcheck() -> None:
    scripts = sorted([*REPO.glob("scripts/*.sh"), *REPO.glob("toolchain/*.sh")])
    result = subprocess.run(
        [str(BIN / "shellcheck"), "--external-sources", *map(str, scripts)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert CI_STACK in scripts
    assert result.returncode == 0, result.stdout + result.stderr


def ci_stack(*arguments: str, backend: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "PULUMI_BACKEND_URL"}
    if backend is not None:
        env["PULUMI_BACKEND_URL"] = backend
    return subprocess.run(
        ["bash", str(CI_STACK), *arguments], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    "arguments", [(), ("destroy", "dev", "out"), ("preview", "dev")], ids=["nothing", "destroy", "no-output"]
)
def test_ci_stack_rejects_other_usage(arguments: tuple[str, ...], tmp_path: Path) -> None:
    result = ci_stack(*arguments, backend=f"file://{tmp_path}")
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_ci_stack_refuses_to_run_without_the_state_backend(tmp_path: Path) -> None:
    """Without it toolchain/env.sh would pick a local backend, where every resource looks new."""
    result = ci_stack("up", "dev", str(tmp_path / "out"), backend=None)
    assert result.returncode == 1
    assert "PULUMI_BACKEND_URL" in result.stderr
    assert not (tmp_path / "out").exists()


def gke_stack_run(tmp_path: Path, plugin: str | None) -> tuple[subprocess.CompletedProcess[str], Path]:
    """ci-stack.sh on the prod stack file (a GKE cluster), with `plugin` as the body of
    a fake gke-gcloud-auth-plugin on PATH (None: no plugin at all). Returns the run and
    the file the fake plugin writes its arguments to."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "Pulumi.prod.yaml", project / "Pulumi.prod.yaml")
    # Only the tools the script needs (the machine may have a real plugin in /usr/bin).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "mkdir", "cat"):
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    calls = tmp_path / "plugin-calls"
    if plugin is not None:
        fake = bin_dir / "gke-gcloud-auth-plugin"
        fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n{plugin}\n', encoding="utf-8")
        fake.chmod(0o755)
    env = {
        "PATH": str(bin_dir),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [shutil.which("bash") or "bash", str(CI_STACK), "up", "prod", str(tmp_path / "out")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return result, calls


def test_ci_stack_refuses_a_gke_stack_without_the_auth_plugin(tmp_path: Path) -> None:
    result, _ = gke_stack_run(tmp_path, plugin=None)
    assert result.returncode == 1
    assert "gke-gcloud-auth-plugin, which is not on PATH" in result.stderr
    assert not (tmp_path / "out").exists(), "stopped before the operation"


def test_ci_stack_refuses_a_gke_stack_without_application_default_credentials(tmp_path: Path) -> None:
    result, calls = gke_stack_run(tmp_path, plugin="exit 1")
    assert result.returncode == 1
    assert "finds no application default credentials" in result.stderr
    # The check asks the plugin exactly what the kubeconfig asks it.
    assert calls.read_text(encoding="utf-8").split() == ["--use_application_default_credentials"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("command", "skips"), [("preview", "true"), ("up", "false")])
def test_ci_stack_skips_checkpoints_in_previews_only(command: str, skips: str, tmp_path: Path) -> None:
    """A preview persists nothing, so it can skip the checkpoints that make Pulumi
    3.274's previews quadratic; an `up` without them would lose the state of a run that
    stops halfway. A fake `pulumi` (the cache is empty, so the built CLI is not put
    first on PATH) records what each call got."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(REPO / "Pulumi.dev.yaml", project / "Pulumi.dev.yaml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "pulumi-calls"
    fake = bin_dir / "pulumi"
    fake.write_text(f'#!/bin/sh\necho "$1 ${{PULUMI_SKIP_CHECKPOINTS-unset}}" >> {calls}\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {
        **{key: value for key, value in os.environ.items() if key != "PULUMI_SKIP_CHECKPOINTS"},
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "DELIVERY_PLATFORM_CACHE": str(tmp_path / "cache"),
        "PULUMI_BACKEND_URL": f"file://{tmp_path / 'state'}",
        "CI_STACK_PLUGINS": "",
    }
    subprocess.run(
        ["bash", str(CI_STACK), command, "dev", str(tmp_path / "out")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert calls.read_text(encoding="utf-8").splitlines() == [f"{command} {skips}"]
