"""Reading resource properties the way the engine hands them over.

During `pulumi preview` a property that depends on another resource's output is not
known yet. pulumi-policy passes such values as sentinel strings wrapped in proxies
that raise `UnknownValueError` on access (and, for remediations, as raw sentinels).
Rules never touch those proxies: `plain()` copies them into ordinary dicts and lists
with every unknown value replaced by `UNKNOWN`, and the accessors below return
`UNKNOWN` whenever a path crosses one. A rule that meets `UNKNOWN` cannot tell and
reports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from enum import Enum
from typing import Any, Final, TypeVar

from pulumi_policy import Secret
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)


class Unknown(Enum):
    """A value the engine cannot know until the update runs."""

    VALUE = "unknown"

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        # Truthiness would silently pick a side; rules must decide what unknown means.
        raise TypeError("UNKNOWN has no truth value: compare with `is UNKNOWN` first")


UNKNOWN: Final = Unknown.VALUE

SENTINELS: Final = frozenset(
    {
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_STRING_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_OBJECT_VALUE,
    }
)

Path = str | int
_Value = TypeVar("_Value")
_Default = TypeVar("_Default")


def is_unknown(value: object) -> bool:
    return value is UNKNOWN or (isinstance(value, str) and value in SENTINELS)


def _item(container: Any, key: Any) -> Any:
    try:
        return container[key]
    except UnknownValueError as error:
        return error.unknown_type_sentinel


def plain(value: object) -> Any:
    """A plain copy of engine properties (proxies, secrets, sentinels) with unknown
    values as UNKNOWN. Secrets are unwrapped: rules read them, never return them."""
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, str):
        return UNKNOWN if value in SENTINELS else value
    if isinstance(value, Mapping):
        return {str(key): plain(_item(value, key)) for key in value}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [plain(_item(value, index)) for index in range(len(value))]
    return value


def or_default(value: _Value, default: _Default) -> _Value | _Default:
    """`value`, or `default` when it is absent or empty (an unknown value stays unknown)."""
    return default if value is None or (isinstance(value, str | dict | list) and not value) else value


def get(node: Any, *path: Path) -> Any:
    """The value at `path`: UNKNOWN when the path crosses an unknown value, None when
    a step is missing or the data has another shape than the path expects."""
    for part in path:
        if isinstance(node, Unknown):
            return node
        if isinstance(part, int):
            if not isinstance(node, list) or not -len(node) <= part < len(node):
                return None
            node = node[part]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def text(node: Any, *path: Path) -> str | Unknown | None:
    value = get(node, *path)
    return value if isinstance(value, str) or value is UNKNOWN else None


def flag(node: Any, *path: Path) -> bool | Unknown | None:
    value = get(node, *path)
    return value if isinstance(value, bool) or value is UNKNOWN else None


def number(node: Any, *path: Path) -> float | Unknown | None:
    """Numbers arrive as floats (protobuf Struct has no integers)."""
    value = get(node, *path)
    if isinstance(value, Unknown):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def obj(node: Any, *path: Path) -> dict[str, Any] | Unknown:
    """The mapping at `path`; an absent or malformed value reads as empty."""
    value = get(node, *path)
    if isinstance(value, Unknown):
        return value
    return value if isinstance(value, dict) else {}


def items(node: Any, *path: Path) -> list[Any] | Unknown:
    """The list at `path`; an absent or malformed value reads as empty."""
    value = get(node, *path)
    if isinstance(value, Unknown):
        return value
    return value if isinstance(value, list) else []


def known_dicts(node: Any, *path: Path) -> Iterator[dict[str, Any]]:
    """The mappings of the list at `path`, skipping elements that are not known."""
    found = items(node, *path)
    if found is UNKNOWN:
        return
    for element in found:
        if isinstance(element, dict):
            yield element


def strings(node: Any, *path: Path) -> list[str] | Unknown:
    """A list of strings; UNKNOWN if the list or any element is unknown."""
    found = items(node, *path)
    if found is UNKNOWN or any(element is UNKNOWN for element in found):
        return UNKNOWN
    return [element for element in found if isinstance(element, str)]


def string_map(node: Any, *path: Path) -> dict[str, str] | Unknown:
    """A map of strings (labels, annotations, selectors); UNKNOWN if the map or any
    value is unknown."""
    found = obj(node, *path)
    if found is UNKNOWN or any(value is UNKNOWN for value in found.values()):
        return UNKNOWN
    return {key: value for key, value in found.items() if isinstance(value, str)}


def contains_unknown(node: Any) -> bool:
    if node is UNKNOWN:
        return True
    if isinstance(node, dict):
        return any(contains_unknown(value) for value in node.values())
    if isinstance(node, list):
        return any(contains_unknown(value) for value in node)
    return False


# Remediations receive the engine's own (secret-preserving) proxies and must write
# through them so secrets and unknown values survive; these read them without copying.


def raw_get(node: Any, *path: Path) -> Any:
    """Like `get`, on engine proxies: UNKNOWN for unknown values, None when absent."""
    for part in path:
        if is_unknown(node):
            return UNKNOWN
        shaped = (
            isinstance(node, Sequence) and not isinstance(node, str)
            if isinstance(part, int)
            else isinstance(node, Mapping)
        )
        if not shaped:
            return None
        try:
            node = node[part]
        except (KeyError, IndexError):
            return None
        except UnknownValueError:
            return UNKNOWN
    return UNKNOWN if is_unknown(node) else node


def raw_mappings(node: Any, *path: Path) -> Iterator[Any]:
    """The writable mappings of the list at `path` on engine proxies."""
    found = raw_get(node, *path)
    if not isinstance(found, Sequence) or isinstance(found, str):
        return
    for index in range(len(found)):
        element = raw_get(found, index)
        if isinstance(element, Mapping):
            yield element


_QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_SUFFIX = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "P": 1e15,
    "E": 1e18,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
    "Pi": 2.0**50,
    "Ei": 2.0**60,
}


def quantity(value: Any) -> float | Unknown | None:
    """A Kubernetes resource quantity ("500m", "256Mi", 2) as a number; None if not
    a quantity."""
    if isinstance(value, Unknown):
        return value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if not isinstance(value, str):
        return None
    match = _QUANTITY.fullmatch(value.strip())
    if not match:
        return None
    try:
        return float(match[1]) * _SUFFIX[match[2]]
    except ValueError:
        return None
