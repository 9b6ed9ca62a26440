"""A stack's settings as the release tool reads and changes them: straight from
`Pulumi.<stack>.yaml`, without a Pulumi backend or the stack's secrets.

Rendering an app needs none of the stack's secrets (Secrets stay with Pulumi and pods
reference them by name), so secure values are dropped unread: the tool cannot leak what
it never decrypts. A new build's image is written back into the stack file with a
round-trip YAML editor, so the file keeps its comments and layout and the stack config
stays the one source of what runs."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML

from ..config import PROJECT, AppConfig, StackConfig, parse_image, validate_stack_config
from ..config.workloads import next_image_key


class StackFileError(Exception):
    """The stack file or the app asked for is missing or malformed."""


def stack_file(project_dir: Path, stack: str) -> Path:
    return project_dir / f"Pulumi.{stack}.yaml"


def _is_secure(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _validated(text: str) -> StackConfig:
    """The validated `delivery-platform:` settings of a stack file's text; raises
    ConfigError (naming every bad key) like the program does."""
    document = yaml.safe_load(text) or {}
    prefix = f"{PROJECT}:"
    return validate_stack_config(
        {
            key.removeprefix(prefix): value
            for key, value in (document.get("config") or {}).items()
            if key.startswith(prefix) and not _is_secure(value)
        }
    )


def read_stack_config(project_dir: Path, stack: str) -> StackConfig:
    path = stack_file(project_dir, stack)
    if not path.is_file():
        raise StackFileError(f"{path} does not exist")
    return _validated(path.read_text(encoding="utf-8"))


def app_index(config: StackConfig, app_name: str, environment: str | None = None) -> int:
    matches = [
        i
        for i, app in enumerate(config.apps)
        if app.name == app_name and (environment is None or app.environment == environment)
    ]
    if not matches:
        raise StackFileError(f"no app {app_name!r}" + (f" in environment {environment!r}" if environment else ""))
    if len(matches) > 1:
        raise StackFileError(f"app {app_name!r} is in several environments; name one with --environment")
    return matches[0]


def set_next_image(project_dir: Path, stack: str, index: int, app: AppConfig, image: str) -> str:
    """Writes `image` into the app's next-release setting (next_image_key) in
    Pulumi.<stack>.yaml, keeping everything else byte for byte where possible, and
    returns the dotted key it set. The result is validated before it is written."""
    parse_image(image)
    key = next_image_key(app)
    path = stack_file(project_dir, stack)
    editor = YAML()
    editor.preserve_quotes = True
    editor.width = 4096  # never re-wrap long lines
    document: Any = editor.load(path.read_text(encoding="utf-8"))
    node = document["config"][f"{PROJECT}:apps"][index]
    *parents, leaf = key.split(".")
    for part in parents:
        node = node[part]
    node[leaf] = image
    buffer = io.StringIO()
    editor.dump(document, buffer)
    # Validated before it is written: a build never leaves an invalid stack file behind.
    _validated(buffer.getvalue())
    candidate = path.with_name(f".{path.name}.new")
    candidate.write_text(buffer.getvalue(), encoding="utf-8")
    candidate.replace(path)
    return key
