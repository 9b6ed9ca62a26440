"""A stack's settings as the release tool reads and changes them: straight from
`Pulumi.<stack>.yaml`, without a Pulumi backend or the stack's secrets.

Rendering an app needs none of the stack's secrets (Secrets stay with Pulumi and pods
reference them by name), so secure values are dropped unread: the tool cannot leak what
it never decrypts. A new build's image is written back into the stack file with a
round-trip YAML editor, so the file keeps its comments and layout and the stack config
stays the one source of what runs."""

from __future__ import annotations

import re
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


def is_secure(value: object) -> bool:
    """A stack file value Pulumi keeps encrypted (`{secure: ...}`)."""
    return isinstance(value, dict) and set(value) == {"secure"}


def platform_settings(document: dict[str, Any]) -> dict[str, Any]:
    """The `delivery-platform:` settings of a parsed stack file, without the prefix and
    without its encrypted values."""
    prefix = f"{PROJECT}:"
    return {
        key.removeprefix(prefix): value
        for key, value in (document.get("config") or {}).items()
        if key.startswith(prefix) and not is_secure(value)
    }


def _validated(text: str) -> StackConfig:
    """The validated settings of a stack file's text; raises ConfigError (naming every
    bad key) like the program does."""
    return validate_stack_config(platform_settings(yaml.safe_load(text) or {}))


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
    Pulumi.<stack>.yaml and returns the dotted key it set. Only that value changes (or
    one line is added, for a canary slot not yet in the file): comments, quoting and
    layout stay as the user wrote them. The result is validated before it is written."""
    parse_image(image)
    key = next_image_key(app)
    path = stack_file(project_dir, stack)
    text = path.read_text(encoding="utf-8")
    document: Any = YAML().load(text)
    node = document["config"][f"{PROJECT}:apps"][index]
    *parents, leaf = key.split(".")
    for part in parents:
        node = node[part]
    lines = text.splitlines(keepends=True)
    if leaf in node:
        line, column = node.lc.value(leaf)
        lines[line] = _replace_scalar(lines[line], column, image)
    else:
        # Only the canary slot can be absent; its mapping always has `type`.
        line, column = node.lc.key("type")
        if node.fa.flow_style():
            lines[line] = f"{lines[line][:column]}{leaf}: {image}, {lines[line][column:]}"
        else:
            lines.insert(line + 1, f"{' ' * column}{leaf}: {image}\n")
    edited = "".join(lines)
    # Validated before it is written: a build never leaves an invalid stack file behind.
    config = _validated(edited)
    written: object = config.apps[index]
    for part in key.split("."):
        written = getattr(written, _snake(part))
    if written != image:
        raise StackFileError(f"could not set apps[{index}].{key} in {path} (wrote {written!r})")
    candidate = path.with_name(f".{path.name}.new")
    candidate.write_text(edited, encoding="utf-8")
    candidate.replace(path)
    return key


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", camel).lower()


def _replace_scalar(line: str, column: int, value: str) -> str:
    """The line with the scalar starting at `column` replaced by `value`, in the same
    quoting style (plain scalars end at a comment, or at `,` `}` `]` in flow style)."""
    quote = line[column]
    if quote in "\"'":
        end = line.index(quote, column + 1) + 1
        # An image reference holds no quote or backslash: quoting it is plain wrapping.
        return f"{line[:column]}{quote}{value}{quote}{line[end:]}"
    match = re.compile(r"[^\s,}\]#]+").match(line, column)
    assert match is not None
    return f"{line[:column]}{value}{line[match.end() :]}"
