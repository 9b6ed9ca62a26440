"""Renders the GitOps apps of a stack into the release repository's layout, with the
same strategy components `pulumi up` applies for Pulumi-delivered apps.

The rendering is Pulumi's own: an inline program builds each app's strategy component
against a Kubernetes provider in render mode (renderYamlToDirectory), run by the real
engine on a throw-away local stack, so what Argo CD syncs is exactly what the provider
would have sent to the API server. The files are then normalised (one object per file,
`<kind>-<name>.yaml`, keys sorted) so the same config always renders the same bytes and
a re-render without a change is no commit at all.

Each app's directory is replaced as a whole: an object the app no longer has (a canary
after promotion) disappears from Git, and Argo CD prunes it. A marker file (ignored by
Argo CD, which reads only .yaml/.yml/.json) records which stack rendered the directory,
so a whole-stack render can also remove the directories of apps taken out of the
config."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import PROJECT, AppConfig, StackConfig

MARKER = ".delivery-platform"
RENDER_PROJECT = f"{PROJECT}-release"
# A throw-away stack in a throw-away file backend: nothing is ever deployed, and nothing
# secret is in it, so a fixed passphrase only satisfies the engine.
RENDER_PASSPHRASE = "render-only"


class RenderError(Exception):
    """The engine failed to render, or the output is not what Argo CD can sync."""


@dataclass(frozen=True)
class RenderedApp:
    app: AppConfig
    # The app's directory, relative to the release repository's root.
    path: str
    # File name -> the object it holds.
    objects: dict[str, dict[str, Any]]


def gitops_apps(config: StackConfig, names: Sequence[str] = ()) -> list[AppConfig]:
    apps = [app for app in config.apps if app.delivery == "gitops"]
    if names:
        unknown = sorted(set(names) - {app.name for app in apps})
        if unknown:
            raise RenderError(f"not GitOps apps of this stack: {', '.join(unknown)}")
        apps = [app for app in apps if app.name in names]
    return apps


def app_path(config: StackConfig, app: AppConfig) -> str:
    return config.argocd.release_repo.app_path(app.environment, app.name)


def _pull_secret(config: StackConfig) -> str | None:
    registry = config.registry
    return registry.pull_secret_name if registry is not None and registry.create_pull_secret else None


def _program(config: StackConfig, apps: Sequence[AppConfig], scratch: Path, stack: str) -> Callable[[], None]:
    def program() -> None:
        # Imported here: the components pull in the Pulumi SDK's runtime, which only
        # the engine's run of this program needs.
        import pulumi
        import pulumi_kubernetes as k8s

        from ..workloads import AppWorkload, ReleaseHooks, release_hook_account

        for app in apps:
            name = f"{stack}-{app.environment}-{app.name}"
            provider = k8s.Provider(f"{name}-render", render_yaml_to_directory=str(scratch / app_path(config, app)))
            AppWorkload(
                name,
                app,
                namespace=app.environment,
                pull_secret=_pull_secret(config),
                ordering="argocd",
                release_hooks=ReleaseHooks(config.argocd.release_hook_image, release_hook_account(app)),
                opts=pulumi.ResourceOptions(provider=provider),
            )

    return program


def _run_engine(program: Callable[[], None], workdir: Path, log: Callable[[str], None]) -> None:
    from pulumi import automation as auto

    state = workdir / "state"
    state.mkdir()
    workspace = auto.LocalWorkspaceOptions(
        work_dir=str(workdir),
        project_settings=auto.ProjectSettings(
            name=RENDER_PROJECT, runtime="python", backend=auto.ProjectBackend(url=f"file://{state}")
        ),
        secrets_provider="passphrase",
        env_vars={"PULUMI_CONFIG_PASSPHRASE": RENDER_PASSPHRASE, "PULUMI_BACKEND_URL": f"file://{state}"},
    )
    try:
        stack = auto.create_stack("render", project_name=RENDER_PROJECT, program=program, opts=workspace)
        stack.up(on_output=log, color="never")
    except auto.errors.CommandError as error:
        raise RenderError(f"the engine failed to render:\n{error}") from None


def _objects(directory: Path) -> dict[str, dict[str, Any]]:
    """Every object the provider wrote under directory, by normalised file name."""
    objects: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not document:
                continue
            kind, name = document["kind"], document["metadata"]["name"]
            file_name = f"{kind.lower()}-{name}.yaml"
            if file_name in objects:
                raise RenderError(f"two objects render to {file_name} in {directory}")
            objects[file_name] = document
    return objects


def render(
    config: StackConfig,
    stack: str,
    apps: Sequence[AppConfig],
    *,
    log: Callable[[str], None] = lambda _line: None,
) -> list[RenderedApp]:
    """Renders `apps` (GitOps apps of `config`) with the real engine and returns their
    objects; nothing is written to the release repository yet."""
    if not apps:
        return []
    with tempfile.TemporaryDirectory(prefix="delivery-platform-render-") as tmp:
        workdir = Path(tmp)
        scratch = workdir / "out"
        _run_engine(_program(config, apps, scratch, stack), workdir, log)
        return [RenderedApp(app, app_path(config, app), _objects(scratch / app_path(config, app))) for app in apps]


def _marker(stack: str, app: AppConfig) -> str:
    return json.dumps({"stack": stack, "environment": app.environment, "app": app.name}, sort_keys=True) + "\n"


def write(release_root: Path, stack: str, rendered: Sequence[RenderedApp]) -> list[str]:
    """Replaces each rendered app's directory under release_root; returns the paths
    written (relative to release_root)."""
    for app in rendered:
        directory = release_root / app.path
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        for file_name, document in app.objects.items():
            (directory / file_name).write_text(
                yaml.safe_dump(document, sort_keys=True, default_flow_style=False), encoding="utf-8"
            )
        (directory / MARKER).write_text(_marker(stack, app.app), encoding="utf-8")
    return [app.path for app in rendered]


def stale_directories(release_root: Path, stack: str, config: StackConfig) -> list[Path]:
    """Directories this stack rendered earlier for apps it no longer delivers through
    Git (found by their marker), so a whole-stack render can remove them."""
    current = {app_path(config, app) for app in gitops_apps(config)}
    stale = []
    for marker in release_root.rglob(MARKER):
        try:
            owner = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        relative = os.path.relpath(marker.parent, release_root)
        if owner.get("stack") == stack and relative not in current:
            stale.append(marker.parent)
    return sorted(stale)
