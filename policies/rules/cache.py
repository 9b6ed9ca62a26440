"""Convert a resource's properties once per pack process instead of once per policy.

pulumi-policy 1.21 turns a resource's protobuf properties into Python values
(`json_format.MessageToDict`, `deserialize_properties`, `unknown_checking_proxy`)
inside its loop over policies: for each resource once per resource policy
(`Analyze`), and for each resource of the stack once per stack policy
(`AnalyzeStack`); `framework` then copies the proxies into plain values (`plain`).
Those conversions, not the rules, were most of the pack's time (docs/benchmarks.md).

`install()` makes the SDK's three steps return the earlier result for the same input
object (protobuf's upb runtime hands out the same sub-message object on every access
to a request's field; an equal copy would only miss the cache), so every policy sees
the same objects. Rules only read props, so sharing is safe. Remediations are left
alone: the SDK converts their props with secrets preserved, which is not cached, and a
remediation may modify them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, Generic, TypeVar

import pulumi_policy.policy as sdk_policy
from google.protobuf import json_format  # type: ignore[import-untyped]
from pulumi_policy.deserialize import deserialize_properties as sdk_deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy as sdk_unknown_checking_proxy

from .props import plain

Arg = TypeVar("Arg")
Result = TypeVar("Result")

# The pack process's garbage-collector thresholds, the program's too
# (components/program.py): the pack allocates for every resource the engine sends and
# keeps the converted ones, so at the interpreter's defaults (700, 10, 10) the collector
# keeps walking a growing heap.
COLLECTOR_THRESHOLDS = (10_000, 50, 100)

# Entries per cache. AnalyzeStack reads every resource of the stack once per stack
# policy, so a cache smaller than the stack would evict each entry before its next use.
CAPACITY = 10_000


class Memo(Generic[Arg, Result]):
    """`function`'s results for the last `capacity` argument objects, by identity (the
    oldest entries go first). An entry keeps its argument alive, so the id cannot be
    reused while it is cached. Safe from the SDK's worker threads: a lookup is one
    dict read, and writes, the rare case, take a lock."""

    def __init__(self, function: Callable[[Arg], Result], capacity: int = CAPACITY) -> None:
        self._function = function
        self._capacity = capacity
        self._entries: dict[int, tuple[Arg, Result]] = {}
        self._lock = threading.Lock()

    def __call__(self, argument: Arg) -> Result:
        entry = self._entries.get(id(argument))
        if entry is not None and entry[0] is argument:
            return entry[1]
        result = self._function(argument)
        with self._lock:
            self._entries[id(argument)] = (argument, result)
            while len(self._entries) > self._capacity:
                del self._entries[next(iter(self._entries))]
        return result

    def __len__(self) -> int:
        return len(self._entries)


class Installed:
    """`plain` over the SDK's proxies, set once install() has made them shared between
    policies (until then every policy gets proxies of its own: nothing to share)."""

    plain: Memo[object, Any] | None = None


def plain_props(props: object) -> Any:
    """`props.plain(props)`, computed once per proxy when the caches are installed."""
    return plain(props) if Installed.plain is None else Installed.plain(props)


def install(capacity: int = CAPACITY) -> None:
    """Route pulumi-policy's property conversions through caches; idempotent. Call it
    in the pack's entry point, before the pack starts serving."""
    if Installed.plain is not None:
        return
    deserialize_once: Memo[dict[str, Any], dict[str, Any]] = Memo(sdk_deserialize_properties, capacity)
    proxy_once: Memo[dict[str, Any], Any] = Memo(sdk_unknown_checking_proxy, capacity)

    def deserialize_properties(props: dict[str, Any], proxy_secrets: bool = False) -> dict[str, Any]:
        return sdk_deserialize_properties(props, proxy_secrets) if proxy_secrets else deserialize_once(props)

    def unknown_checking_proxy(props: Any) -> Any:
        # A remediation's props come wrapped in a secrets-preserving proxy, never a dict.
        return proxy_once(props) if isinstance(props, dict) else sdk_unknown_checking_proxy(props)

    patches: dict[str, object] = {
        "json_format": SimpleNamespace(MessageToDict=Memo(json_format.MessageToDict, capacity)),
        "deserialize_properties": deserialize_properties,
        "unknown_checking_proxy": unknown_checking_proxy,
    }
    for name, replacement in patches.items():
        if not hasattr(sdk_policy, name):
            raise RuntimeError(f"pulumi_policy.policy has no {name}: review policies/rules/cache.py for this SDK")
        setattr(sdk_policy, name, replacement)
    Installed.plain = Memo(plain, capacity)
