"""Drive the real Pulumi CLI built by toolchain/engine.sh on a throw-away copy of the
program, with its own file backend, so tests never touch a developer's stacks."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def toolchain_env() -> dict[str, str]:
    """The environment toolchain/env.sh sets up (PATH with the built engine, local
    backend, no plugin downloads). Missing binaries are a set-up error, never a skip."""
    script = f"source {REPO / 'toolchain' / 'env.sh'} && env -0"
    result = subprocess.run(["bash", "-c", script], capture_output=True, check=True)
    env = dict(item.split("=", 1) for item in result.stdout.decode().split("\0") if "=" in item)
    if not shutil.which("pulumi", path=env["PATH"]):
        raise RuntimeError("pulumi is not on PATH: run `bash scripts/setup.sh` first")
    return env


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class PulumiProject:
    """A copy of a Pulumi program (by default this repo's) in `workdir`, with a private
    backend under it and the repo's virtualenv."""

    def __init__(
        self,
        workdir: Path,
        stack_files: dict[str, dict[str, object]] | None = None,
        source: Path = REPO,
        files: tuple[str, ...] = ("components", "__main__.py"),
    ) -> None:
        self.workdir = workdir
        for name in files:
            if (source / name).is_dir():
                shutil.copytree(source / name, workdir / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source / name, workdir / name)
        project = yaml.safe_load((source / "Pulumi.yaml").read_text(encoding="utf-8"))
        project["runtime"]["options"]["virtualenv"] = str(REPO / ".venv")
        (workdir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
        for stack, document in (stack_files or {}).items():
            (workdir / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        self.env = toolchain_env()
        self.env["PULUMI_BACKEND_URL"] = f"file://{workdir / '.state'}"
        (workdir / ".state").mkdir()

    def run(self, *args: str, check: bool = True, timeout: float = 600, env: dict[str, str] | None = None) -> Run:
        return self.execute(["pulumi", *args, "--non-interactive"], check=check, timeout=timeout, env=env)

    def execute(
        self, argv: list[str], check: bool = True, timeout: float = 600, env: dict[str, str] | None = None
    ) -> Run:
        """Any command in the project directory with the project's environment (plus `env`)."""
        # Its own process group: the language host and provider plugins outlive a killed
        # CLI, so a time-out (or Ctrl-C) ends the whole group, never just the CLI.
        with subprocess.Popen(
            argv,
            cwd=self.workdir,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except BaseException:
                with contextlib.suppress(ProcessLookupError):  # the group may have ended already
                    os.killpg(process.pid, signal.SIGKILL)
                raise
        run = Run(process.returncode, stdout, stderr)
        if check and run.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited {run.returncode}:\n{run.output}")
        return run

    def init_stack(self, stack: str) -> None:
        self.run("stack", "init", stack, "--secrets-provider", "passphrase")


def release_tool(args: Sequence[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`python -m components.release ARGS` from this repository, as CI runs it."""
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), "-m", "components.release", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
