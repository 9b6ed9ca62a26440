"""The program's entry point: process settings it makes before building the platform."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from components.program import main
from tests.conftest import ProgramRunner, stack_file_config

INTERPRETER_DEFAULT_THRESHOLDS = (700, 10, 10)


@pytest.fixture
def interpreter_thresholds() -> Iterator[None]:
    saved = gc.get_threshold()
    gc.set_threshold(*INTERPRETER_DEFAULT_THRESHOLDS)
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("interpreter_thresholds")
def test_main_collects_young_objects_less_often_than_the_interpreter_default(run_program: ProgramRunner) -> None:
    graph = run_program(main, config=stack_file_config("dev"), stack="dev")

    young, middle, old = gc.get_threshold()
    assert len(graph) > 0
    assert young >= 10 * INTERPRETER_DEFAULT_THRESHOLDS[0]
    assert middle >= INTERPRETER_DEFAULT_THRESHOLDS[1]
    assert old >= INTERPRETER_DEFAULT_THRESHOLDS[2]
