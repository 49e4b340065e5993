"""The test kit's one wait loop: its value, its deadline and message, `alive`, the async form."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest

from stetho_testkit.poll import eventually, wait_until


def test_it_returns_the_first_truthy_value_of_the_check() -> None:
    answers: Iterator[object] = iter([None, 0, "", [], {"id": 3}, {"id": 4}])
    assert wait_until(lambda: next(answers), 5, every_s=0) == {"id": 3}


def test_it_checks_once_even_with_no_time_left() -> None:
    assert wait_until(lambda: "ready", 0) == "ready"
    calls = itertools.count()
    with pytest.raises(TimeoutError):
        wait_until(lambda: next(calls) < 0, -1, every_s=0)
    assert next(calls) == 1


def test_it_times_out_naming_what_and_the_last_state() -> None:
    calls = itertools.count(1)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as raised:
        wait_until(lambda: next(calls) > 1_000_000, 0.3, every_s=0.05, what="agents to store",
                   describe=lambda: "stored 3 of 5")  # fmt: skip
    waited = time.monotonic() - started
    assert str(raised.value) == "waited 0.3 s for agents to store; stored 3 of 5"
    assert 0.3 <= waited < 3
    assert 4 <= next(calls) - 1 <= 9  # polled every 0.05 s, not in a busy loop


def test_without_a_state_the_message_is_what_was_waited_for() -> None:
    with pytest.raises(TimeoutError, match=r"^waited 0 s for the condition$"):
        wait_until(lambda: False, 0)


def test_a_dead_process_stops_the_wait_at_once() -> None:
    checks = itertools.count()
    started = time.monotonic()
    with pytest.raises(AssertionError) as raised:
        wait_until(lambda: next(checks) < 0, 30, what="the agent", describe=lambda: "its log tail",
                   alive=lambda: False)  # fmt: skip
    assert time.monotonic() - started < 1
    assert next(checks) == 1
    assert str(raised.value) == "stopped waiting for the agent: it died; its log tail"


def test_a_living_process_lets_the_check_hold_later() -> None:
    answers = iter([False, False, True])
    assert wait_until(lambda: next(answers), 5, every_s=0, alive=lambda: True) is True


def test_the_check_is_asked_before_alive() -> None:
    # A process that stored its last recording and then exited has still done it.
    assert wait_until(lambda: 7, 5, alive=lambda: False) == 7


def test_an_error_in_the_check_is_not_swallowed() -> None:
    def check() -> bool:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        wait_until(check, 5)


def test_the_async_form_lets_the_loop_run_and_returns_the_value() -> None:
    async def scenario() -> object:
        done: list[int] = []
        asyncio.get_running_loop().call_later(0.05, done.append, 1)
        return await eventually(lambda: done, 5, every_s=0.01)

    assert asyncio.run(scenario()) == [1]


def test_the_async_form_times_out_with_the_message() -> None:
    async def scenario() -> None:
        await eventually(lambda: 0, 0.1, every_s=0.01, what="a receipt", describe=lambda: "none")

    started = time.monotonic()
    with pytest.raises(TimeoutError, match=r"^waited 0.1 s for a receipt; none$"):
        asyncio.run(scenario())
    assert 0.1 <= time.monotonic() - started < 3
