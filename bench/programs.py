"""The two programs the benchmarks compare, and how to run one under Pulumi's mocks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockResourceArgs, Mocks

from components.config import PROJECT

from .fleet import STACK


def program(kind: str) -> Callable[[], Any]:
    """`components`: the real program (components/program.py); `raw`: the baseline."""
    if kind == "components":
        from components.program import main

        return main
    if kind == "raw":
        from .raw_baseline import main as raw_main

        return raw_main
    raise ValueError(f"unknown program {kind!r} (components or raw)")


class EchoMocks(Mocks):
    """Every resource's outputs are its inputs, as in the unit-test harness."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@contextmanager
def event_loop() -> Iterator[None]:
    """A fresh event loop and an empty stack config for one program run."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield
    finally:
        pulumi.runtime.set_all_config({})
        loop.close()
        asyncio.set_event_loop(None)


def run_under_mocks(run: Callable[[], Any], config: dict[str, Any]) -> None:
    """Run a program to completion under EchoMocks and Pulumi's plain mock monitor
    (nothing recorded, so the harness adds as little as possible to what is timed)."""
    with event_loop():
        pulumi.runtime.set_mocks(EchoMocks(), project=PROJECT, stack=STACK, preview=False)
        pulumi.runtime.set_all_config({f"{PROJECT}:{key}": json.dumps(value) for key, value in config.items()})
        pulumi.runtime.mocks.test(run)()  # type: ignore[no-untyped-call]
