"""The release tool: renders a stack's GitOps apps into a checkout of the release
repository, and records a new build's image in the stack file first.

    python -m components.release render --stack prod --release-dir ../releases [--app NAME ...]
    python -m components.release deploy --stack prod --app storefront --image REF --build 42 \\
        --release-dir ../releases
    python -m components.release check --stack prod --release-dir ../releases

`render` (no --app) renders every GitOps app of the stack and removes the directories
of apps it no longer delivers through Git. `deploy` writes the image into the app's
next-release setting of Pulumi.<stack>.yaml (the canary slot, the idle colour, or the
image), then renders that app: the caller commits both. `check` exits 1 when the release
directories differ from a fresh render (a rendered commit reverted by hand, or a config
change not yet rendered). Git itself is left to the caller. Needs the Pulumi engine
(`source toolchain/env.sh`), never the stack's secrets or a backend."""

from __future__ import annotations

import argparse
import filecmp
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from ..config import ConfigError
from .render import RenderError, gitops_apps, render, stale_directories, write
from .stackfile import StackFileError, app_index, read_stack_config, set_next_image


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m components.release", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument("--stack", required=True, help="the stack whose Pulumi.<stack>.yaml to read")
        sub.add_argument("--release-dir", required=True, type=Path, help="a checkout of the release repository")
        sub.add_argument("--project-dir", type=Path, default=Path.cwd(), help="where Pulumi.<stack>.yaml is")
        sub.add_argument("--verbose", action="store_true", help="show the engine's output")
        return sub

    render_command = command("render", "render GitOps apps into the release directory")
    render_command.add_argument("--app", action="append", default=[], help="only this app (repeatable)")
    deploy = command("deploy", "record a new build's image in the stack file, then render the app")
    deploy.add_argument("--app", required=True)
    deploy.add_argument("--environment", help="the app's environment, when its name is in several")
    deploy.add_argument("--image", required=True, help="the new image reference (immutable tag or digest)")
    deploy.add_argument("--build", required=True, help="the build that produced it (for the summary)")
    command("check", "exit 1 when the release directories differ from a fresh render")
    return parser


def _log(verbose: bool) -> Callable[[str], None]:
    def show(line: str) -> None:
        if verbose:
            print(line, file=sys.stderr)

    return show


def _render_into(arguments: argparse.Namespace, release_dir: Path, names: Sequence[str]) -> list[str]:
    config = read_stack_config(arguments.project_dir, arguments.stack)
    apps = gitops_apps(config, names)
    written = write(release_dir, arguments.stack, render(config, arguments.stack, apps, log=_log(arguments.verbose)))
    if not names:
        for directory in stale_directories(release_dir, arguments.stack, config):
            shutil.rmtree(directory)
            written.append(str(directory.relative_to(release_dir)))
    return written


def _same_tree(left: Path, right: Path) -> bool:
    comparison = filecmp.dircmp(left, right)
    if comparison.left_only or comparison.right_only or comparison.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    return not mismatch and not errors and all(_same_tree(left / d, right / d) for d in comparison.common_dirs)


def _same_tree_or_both_absent(left: Path, right: Path) -> bool:
    if not left.exists() or not right.exists():
        return left.exists() == right.exists()
    return _same_tree(left, right)


def _render(arguments: argparse.Namespace) -> int:
    paths = _render_into(arguments, arguments.release_dir, arguments.app)
    print(json.dumps({"stack": arguments.stack, "paths": paths}))
    return 0


def _deploy(arguments: argparse.Namespace) -> int:
    config = read_stack_config(arguments.project_dir, arguments.stack)
    index = app_index(config, arguments.app, arguments.environment)
    app = config.apps[index]
    if app.delivery != "gitops":
        raise RenderError(f"app {app.name!r} is delivered by Pulumi, not through Git")
    key = set_next_image(arguments.project_dir, arguments.stack, index, app, arguments.image)
    summary = {
        "stack": arguments.stack,
        "app": app.name,
        "environment": app.environment,
        "image": arguments.image,
        "build": arguments.build,
        "setting": f"apps[{index}].{key}",
        "paths": _render_into(arguments, arguments.release_dir, [app.name]),
    }
    print(json.dumps(summary))
    return 0


def _check(arguments: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="delivery-platform-check-") as tmp:
        fresh = Path(tmp)
        shutil.copytree(arguments.release_dir, fresh, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".git"))
        differing = [
            path
            for path in _render_into(arguments, fresh, [])
            if not _same_tree_or_both_absent(fresh / path, arguments.release_dir / path)
        ]
    print(json.dumps({"stack": arguments.stack, "outOfDate": differing}))
    return 1 if differing else 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"render": _render, "deploy": _deploy, "check": _check}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        return COMMANDS[arguments.command](arguments)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (StackFileError, RenderError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
