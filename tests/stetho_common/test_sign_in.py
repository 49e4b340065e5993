"""The shared sign-in policy, exactly: free failures, the doubling lock and its cap, the
bounded memory of keys, and the CSRF check."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from stetho_common import sign_in
from stetho_common.sign_in import (
    FIRST_LOCK_S,
    FREE_FAILURES,
    MAX_LOCK_S,
    MAX_THROTTLED_KEYS,
    Throttle,
    csrf_ok,
)


def test_the_policys_figures() -> None:
    assert (FREE_FAILURES, FIRST_LOCK_S, MAX_LOCK_S, MAX_THROTTLED_KEYS) == (5, 30.0, 900.0, 10_000)


def test_a_few_failures_are_free_then_the_lock_doubles_up_to_its_cap() -> None:
    throttle = Throttle()
    locks = []
    for _ in range(10):
        throttle.failed("dr-a", 100.0)
        locks.append(throttle.retry_after("dr-a", 100.0))
    assert locks == [0.0, 0.0, 0.0, 0.0, 30.0, 60.0, 120.0, 240.0, 480.0, 900.0]
    assert throttle.retry_after("dr-a", 950.0) == 50.0
    assert throttle.retry_after("dr-a", 1000.0) == 0.0
    assert throttle.retry_after("dr-b", 100.0) == 0.0  # per key


def test_success_forgets_the_failures() -> None:
    throttle = Throttle()
    for _ in range(FREE_FAILURES):
        throttle.failed("dr-a", 0.0)
    throttle.succeeded("dr-a")
    assert throttle.retry_after("dr-a", 0.0) == 0.0
    throttle.failed("dr-a", 0.0)
    assert throttle.retry_after("dr-a", 0.0) == 0.0  # counting starts again
    throttle.succeeded("never-failed")  # no error


def test_made_up_names_cannot_grow_memory_and_evict_the_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sign_in, "MAX_THROTTLED_KEYS", 3)
    throttle = Throttle()
    for _ in range(FREE_FAILURES):
        throttle.failed("dr-a", 0.0)
    throttle.failed("x1", 0.0)
    throttle.failed("x2", 0.0)
    throttle.failed("dr-a", 0.0)  # failing again makes it the newest key
    throttle.failed("x3", 0.0)  # 4 keys: the oldest, x1, goes
    assert list(throttle._failures) == ["x2", "dr-a", "x3"]
    assert throttle.retry_after("dr-a", 0.0) == 60.0


@dataclass(frozen=True)
class Form:
    csrf: str


def test_csrf_needs_a_session_and_its_own_token() -> None:
    assert csrf_ok(Form("t0ken"), "t0ken")
    assert not csrf_ok(Form("t0ken"), "other")
    assert not csrf_ok(Form("t0ken"), "")
    assert not csrf_ok(Form("t0ken"), None)
    assert not csrf_ok(Form(""), "")  # an empty token never matches
    assert not csrf_ok(None, "t0ken")
