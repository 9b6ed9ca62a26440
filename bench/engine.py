"""The real engine: `pulumi preview` of a fleet through the components, through the
raw baseline, and with policy packs, each project a throw-away copy with its own
file backend (tests/e2e/pulumi_cli.PulumiProject)."""

from __future__ import annotations

import compileall
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.pulumi_cli import REPO, PulumiProject, toolchain_env

from .fleet import STACK, stack_file

POLICY_PACK = REPO / "policies"
# Previews run as CI runs them (scripts/ci-stack.sh): without the checkpoints Pulumi
# 3.274 would build and discard after every step, whose cost grows with the square of
# the resource count and would swamp what is measured here.
PREVIEW_ENV = {"PULUMI_SKIP_CHECKPOINTS": "true"}

RAW_MAIN = '''"""The raw baseline (bench/raw_baseline.py) as a Pulumi program."""

from bench.raw_baseline import main

main()
'''

# The cheapest pack pulumi-policy can serve: one resource policy that checks nothing.
# Its cost is what any Python policy pack costs before a single rule runs.
FLOOR_PACK_YAML = """runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: {venv}
version: 0.1.0
"""
FLOOR_PACK_MAIN = """from pulumi_policy import EnforcementLevel, PolicyPack, ResourceValidationPolicy

PolicyPack(
    name="bench-floor",
    policies=[
        ResourceValidationPolicy(name="nothing", description="Checks nothing.", validate=lambda args, report: None)
    ],
    enforcement_level=EnforcementLevel.ADVISORY,
)
"""


@dataclass(frozen=True)
class Timing:
    seconds: float
    # User + system time of the CLI and everything it ran (engine, language host,
    # program, provider and analyzer plugins): less disturbed by other load than wall time.
    cpu_seconds: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class FleetProjects:
    """The components program and the raw baseline, each a Pulumi project with a
    `bench` stack of fleet(apps), plus the floor policy pack, under `workdir`."""

    def __init__(self, workdir: Path, apps: int) -> None:
        stacks = {STACK: stack_file(apps)}
        self.projects = {
            "components": PulumiProject(workdir / "components", stacks),
            "raw": PulumiProject(workdir / "raw", stacks),
        }
        for kind, project in self.projects.items():
            shutil.copytree(REPO / "bench", project.workdir / "bench", ignore=shutil.ignore_patterns("__pycache__"))
            if kind == "raw":
                (project.workdir / "__main__.py").write_text(RAW_MAIN, encoding="utf-8")
            # Byte-compile now, so the first timed run does not pay for it.
            compileall.compile_dir(project.workdir, quiet=1)
            project.init_stack(STACK)
        self.floor_pack = workdir / "floor-pack"
        self.floor_pack.mkdir()
        (self.floor_pack / "PulumiPolicy.yaml").write_text(
            FLOOR_PACK_YAML.format(venv=REPO / ".venv"), encoding="utf-8"
        )
        (self.floor_pack / "__main__.py").write_text(FLOOR_PACK_MAIN, encoding="utf-8")

    def preview(self, kind: str, policy_pack: Path | None = None) -> Timing:
        """One `pulumi preview` of the fleet; it must succeed (a policy violation fails it)."""
        args = ["preview", "--stack", STACK]
        if policy_pack is not None:
            args += ["--policy-pack", str(policy_pack)]
        cpu, start = _children_cpu(), time.perf_counter()
        try:
            self.projects[kind].run(*args, env=PREVIEW_ENV)
        except subprocess.TimeoutExpired as error:
            raise AssertionError(f"pulumi {' '.join(args)} timed out") from error
        return Timing(time.perf_counter() - start, _children_cpu() - cpu)


def engine_version() -> str:
    completed = subprocess.run(["pulumi", "version"], env=toolchain_env(), capture_output=True, text=True, check=True)
    return completed.stdout.strip()
