"""Writes the config reference (docs/config-reference.md) from the models, so every
key, type and default a user can set is listed exactly as the code has it.

    python -m components.config.reference > docs/config-reference.md
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from .stack import PROJECT, StackConfig


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(get_args(annotation)[0])
    if origin is Literal:
        return " \\| ".join(json.dumps(value) for value in get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(arg) for arg in get_args(annotation))
    if origin is list:
        return f"list of {_type_name(get_args(annotation)[0])}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map {_type_name(key)} to {_type_name(value)}"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True, validated_data={})
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list) and value and isinstance(value[0], BaseModel):
        dumped = [item.model_dump(by_alias=True, exclude_defaults=True, mode="json") for item in value]
        return f"`{json.dumps(dumped)}`"
    return f"`{json.dumps(value, default=str)}`"


def _section(model: type[BaseModel], path: str, seen: set[tuple[str, type[BaseModel]]]) -> list[str]:
    if (path, model) in seen:
        return []
    seen.add((path, model))
    title = f"`{path}`" + (f" ({model.__name__})" if model is not StackConfig else "")
    lines = [f"### {title}", ""]
    if model.__doc__ and model is not StackConfig:
        lines += [" ".join(model.__doc__.split()), ""]
    lines += ["| key | type | default |", "|---|---|---|"]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        key = field.alias or name
        lines.append(f"| `{key}` | {_type_name(field.annotation)} | {_default(field)} |")
        for sub in _models_in(field.annotation):
            list_like = get_origin(field.annotation) is list or "list" in _type_name(field.annotation)
            nested.append((sub, f"{path}.{key}[]" if list_like else f"{path}.{key}"))
    lines.append("")
    for sub, sub_path in nested:
        lines += _section(sub, sub_path, seen)
    return lines


def render() -> str:
    header = [
        "# Config reference",
        "",
        "Generated from `components/config/` by `python -m components.config.reference`; a test keeps it in sync.",
        f"Every key lives under the `{PROJECT}:` namespace of `Pulumi.<stack>.yaml`. Unknown keys are errors.",
        "",
    ]
    return "\n".join(header + _section(StackConfig, PROJECT, set())).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
