"""Shared fixtures: a real Mosquitto per test on a free loopback port; a blocked-loop guard."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from edge_agent.runtime.local_broker import LocalBroker
from stetho_signal import bands
from stetho_testkit.browser import kept_for_the_session, quit_shared_chromium
from tests.loop_guard import SCHEDSTAT, SCHEDSTAT_READABLE, LoopWatch

# Mutation testing (`make mutate`) runs each covering test once per mutant: fewer examples
# there keep a run within its budget, while `make test` keeps Hypothesis's defaults.
settings.register_profile("mutate", max_examples=20, deadline=None)
_MUTATE = os.environ.get("STETHO_MUTATE") == "1"
if _MUTATE:
    settings.load_profile("mutate")


@pytest.fixture(autouse=True)
def _fresh_band_responses() -> None:
    """Under mutation, each test computes the band responses it reads (cached otherwise).

    mutmut runs a mutant against the tests it saw call the function; a response cached by an
    earlier test is never computed again, so its helpers (``_butterworth``, ``_prewarp``) were
    seen by that one test alone, and their mutants went untested. Emptied, the caches cost a
    few milliseconds a test, and only in ``make mutate``.
    """
    if _MUTATE:
        for cached in vars(bands).values():
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()


@pytest.fixture(scope="session", autouse=True)
def _browsers_quit_at_the_end() -> Iterator[None]:
    """The Chromium browsers kept for the session (`stetho_testkit.browser`) quit at its end."""
    yield
    quit_shared_chromium()


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A real Mosquitto with its own generated config, stopped after the test."""
    instance = LocalBroker(tmp_path / "mosquitto")
    instance.start()
    try:
        yield instance
    finally:
        instance.kill()


@pytest.fixture(autouse=True)
def _no_child_outlives_its_test() -> Iterator[None]:
    """Kill every process the test (or its function fixtures) started and left running.

    A failed assertion or a `communicate` timeout skips the test's own stop; its Popen, collected
    later, warned "subprocess ... is still running", which `filterwarnings = error` made the
    failure of whichever test ran then (in CI, a hung Ctrl-C test's CLI failed the residents
    test). Higher-scoped fixtures start theirs before this fixture and are not seen; a browser
    kept for later tests (`stetho_testkit.browser.take_chromium`) is let be.
    """
    started: list[subprocess.Popen[Any]] = []
    init = subprocess.Popen.__init__

    def tracked(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        started.append(self)

    subprocess.Popen.__init__ = tracked  # type: ignore[method-assign]
    try:
        yield
    finally:
        subprocess.Popen.__init__ = init  # type: ignore[method-assign]
    left = [p for p in started if not kept_for_the_session(p.pid) and not _ended(p)]
    for process in left:
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()  # else "unclosed file" warns later, from the collector
    assert not left, f"the test left running: {[p.args for p in left]}"


def _ended(process: subprocess.Popen[Any]) -> bool:
    """Whether `process` has exited, or does within a moment: one the test killed as it ended
    (SIGKILL sent, not yet reaped) is not left running; under load its death took over
    `poll()`'s instant (CI, load 17: the agent-to-hub test's killed agent)."""
    try:
        process.wait(timeout=0.5)
    except subprocess.TimeoutExpired:
        return False
    return True


class _WatchfulPolicy(asyncio.DefaultEventLoopPolicy):
    def __init__(self, watch: LoopWatch) -> None:
        super().__init__()
        self._watch = watch

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        return self._watch.new_loop()


@pytest.fixture(autouse=True)
def fail_if_event_loop_blocked(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail any test whose asyncio code blocks the loop (mark `blocks_loop` to allow it).

    A callback fails at `SLOW_CALLBACK_S` of its own time: the wall clock less its thread's
    run-queue waits (`tests.loop_guard`), so a loaded machine does not fail a test.
    """
    if request.node.get_closest_marker("blocks_loop"):
        yield
        return
    previous = asyncio.get_event_loop_policy()
    with LoopWatch() as watch:
        asyncio.set_event_loop_policy(_WatchfulPolicy(watch))
        try:
            yield
        finally:
            asyncio.set_event_loop_policy(previous)
    if watch.reports:
        pytest.fail("the event loop was blocked:\n" + "\n".join(watch.reports[:5]))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SCHEDSTAT_READABLE:
        terminalreporter.write_line(
            f"blocked-loop guard: {SCHEDSTAT} is missing; callbacks were timed on the wall"
            " clock, run-queue waits included"
        )
