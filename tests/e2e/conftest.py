"""Fixtures for end-to-end tests against a local control plane (see controlplane.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.e2e.controlplane import Binaries, BinariesMissingError, LocalControlPlane


@pytest.fixture(scope="session")
def control_plane() -> Iterator[LocalControlPlane]:
    """One running cluster for the whole session, with the Gateway API CRDs installed.

    Missing binaries fail the tests rather than skip them: a skipped e2e suite looks
    green, and the fix is a single command the message names."""
    missing: BinariesMissingError | None = None
    try:
        binaries = Binaries.locate()
    except BinariesMissingError as error:
        missing = error
    if missing is not None:
        # Outside the except block, so the report is the message alone, not a chained traceback.
        pytest.fail(str(missing), pytrace=False)
    started = time.monotonic()
    with LocalControlPlane(binaries) as cluster:
        cluster.install_gateway_api_crds()
        print(f"\nlocal control plane at {cluster.server} ready in {time.monotonic() - started:.1f}s")
        yield cluster
