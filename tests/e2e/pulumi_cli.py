"""Drive the real Pulumi CLI built by toolchain/engine.sh on a throw-away copy of the
program, with its own file backend, so tests never touch a developer's stacks."""

from __future__ import annotations

import shutil
import subprocess
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
    """A copy of the program in `workdir` with a private backend under it."""

    def __init__(self, workdir: Path, stack_files: dict[str, dict[str, object]] | None = None) -> None:
        self.workdir = workdir
        shutil.copytree(REPO / "components", workdir / "components", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(REPO / "__main__.py", workdir / "__main__.py")
        project = yaml.safe_load((REPO / "Pulumi.yaml").read_text(encoding="utf-8"))
        project["runtime"]["options"]["virtualenv"] = str(REPO / ".venv")
        (workdir / "Pulumi.yaml").write_text(yaml.safe_dump(project, sort_keys=False), encoding="utf-8")
        for stack, document in (stack_files or {}).items():
            (workdir / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        self.env = toolchain_env()
        self.env["PULUMI_BACKEND_URL"] = f"file://{workdir / '.state'}"
        (workdir / ".state").mkdir()

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> Run:
        completed = subprocess.run(
            ["pulumi", *args, "--non-interactive"],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        run = Run(completed.returncode, completed.stdout, completed.stderr)
        if check and run.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} exited {run.returncode}:\n{run.output}")
        return run

    def init_stack(self, stack: str) -> None:
        self.run("stack", "init", stack, "--secrets-provider", "passphrase")


def repo_stack_file(stack: str) -> dict[str, object]:
    document: dict[str, object] = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return document
