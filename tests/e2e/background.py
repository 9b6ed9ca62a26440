"""Work a daemon thread does while a `with` block runs (watch recording, running hook
pods): started on entry, asked to stop and waited for on exit. An error the thread hit
is raised in the test's thread at the end of the block, unless the block raised one."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self


class BackgroundWork(ABC):
    def __init__(self, name: str, stop_within_seconds: float) -> None:
        self._name = name
        self._stop_within_seconds = stop_within_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @abstractmethod
    def _work(self) -> None:
        """Runs in the thread until `self._stop` is set."""

    def _guarded_work(self) -> None:
        try:
            self._work()
        except BaseException as error:  # re-raised in the test's thread by __exit__
            self._error = error

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._guarded_work, name=self._name, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=self._stop_within_seconds)
        if self._thread.is_alive():
            raise TimeoutError(f"{self._name} did not end within {self._stop_within_seconds} s")
        if self._error is not None and exc_type is None:
            raise self._error
