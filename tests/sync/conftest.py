"""Sync-test fixtures: no agent or subscriber process outlives the test that started it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stetho_testkit.agent_harness import reap_children


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    yield
    reap_children()
