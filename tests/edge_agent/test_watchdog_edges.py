"""The watchdog's rules one by one, on a scripted clock: each bound, each ping, each log line.

`feed_watchdog` reads the loop's clock and sleeps; a fake clock in their place makes a
wake-up exactly one interval late, or a hair more, happen on purpose (a real loop cannot),
so the stall bound is pinned where it sits. The blocked real loop is in test_watchdog.py.
"""

from __future__ import annotations

import asyncio
import logging
import os
from types import SimpleNamespace

import pytest

from edge_agent.errors import WatchdogSettingError
from edge_agent.runtime import watchdog
from edge_agent.runtime.sdnotify import Notifier
from edge_agent.runtime.watchdog import feed_watchdog, run_watchdog, watchdog_interval_s

LOGGER = "edge_agent.runtime.watchdog"


class CountingNotifier(Notifier):
    """A notifier whose pings are counted instead of sent."""

    def __init__(self, address: str | None = "/run/stetho-test/notify") -> None:
        super().__init__(address)
        self.pings = 0

    def watchdog(self) -> bool:
        self.pings += 1
        return True


class _Stop(Exception):
    pass


class ScriptedClock:
    """The loop's clock and sleep: each sleep lasts its interval plus the next lateness."""

    def __init__(self, late_s: list[float], start: float = 100.0) -> None:
        self.now = start
        self.late_s = list(late_s)
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        if not self.late_s:
            raise _Stop
        self.now += delay + self.late_s.pop(0)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> ScriptedClock:
    fake = ScriptedClock([])
    monkeypatch.setattr(
        watchdog, "asyncio", SimpleNamespace(get_running_loop=lambda: fake, sleep=fake.sleep)
    )
    return fake


def _stalls(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "stalled" in r.getMessage()]


def test_interval_is_half_the_timeout_in_seconds() -> None:
    assert watchdog_interval_s({"WATCHDOG_USEC": "1"}, pid=42) == 0.5e-6
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000"}, pid=42) == 1.5
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": ""}, pid=42) == 1.5
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"}, pid=1) == 1.5
    assert watchdog_interval_s({"WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "2"}, pid=1) is None
    assert watchdog_interval_s({"WATCHDOG_PID": "42"}, pid=42) is None
    assert watchdog_interval_s({"WATCHDOG_PID": "x"}, pid=42) is None  # no watchdog at all


@pytest.mark.parametrize(
    ("env", "name", "raw"),
    [
        ({"WATCHDOG_USEC": "0"}, "WATCHDOG_USEC", "0"),
        ({"WATCHDOG_USEC": "1e6"}, "WATCHDOG_USEC", "1e6"),
        ({"WATCHDOG_USEC": "\u0661"}, "WATCHDOG_USEC", "\u0661"),
        ({"WATCHDOG_USEC": "1", "WATCHDOG_PID": "0"}, "WATCHDOG_PID", "0"),
        ({"WATCHDOG_USEC": "1", "WATCHDOG_PID": "-1"}, "WATCHDOG_PID", "-1"),
        ({"WATCHDOG_USEC": "1", "WATCHDOG_PID": "\u0661"}, "WATCHDOG_PID", "\u0661"),
    ],
)
def test_each_malformed_setting_names_its_variable(
    env: dict[str, str], name: str, raw: str
) -> None:
    with pytest.raises(WatchdogSettingError) as caught:
        watchdog_interval_s(env, pid=1)
    assert str(caught.value) == f"${name} must be a positive integer, got {raw!r}"


@pytest.mark.parametrize("interval_s", [0.0, -1.0])
def test_an_interval_not_over_zero_is_refused(interval_s: float) -> None:
    with pytest.raises(ValueError, match=r"^watchdog interval must be positive, got "):
        asyncio.run(feed_watchdog(CountingNotifier(), interval_s))


def test_pings_at_once_then_every_interval(
    clock: ScriptedClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.late_s = [0.0, 0.0, 0.0]
    notifier = CountingNotifier()
    with caplog.at_level(logging.DEBUG, logger=LOGGER), pytest.raises(_Stop):
        asyncio.run(feed_watchdog(notifier, 0.5))
    assert notifier.pings == 4
    assert clock.sleeps == [0.5, 0.5, 0.5, 0.5]
    assert caplog.records == []


def test_a_wake_up_exactly_one_interval_late_is_not_a_stall(
    clock: ScriptedClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.late_s = [0.5, 0.25, 0.5 + 2**-20, 1.5]
    notifier = CountingNotifier()
    with caplog.at_level(logging.DEBUG, logger=LOGGER), pytest.raises(_Stop):
        asyncio.run(feed_watchdog(notifier, 0.5))
    assert notifier.pings == 5  # a late wake-up still pings
    assert _stalls(caplog) == [
        "event=event_loop_stalled lag_s=0.500 interval_s=0.500",
        "event=event_loop_stalled lag_s=1.500 interval_s=0.500",
    ]
    assert [r.levelname for r in caplog.records] == ["WARNING", "WARNING"]


def test_an_unhealthy_component_withholds_each_ping_it_is_asked_about(
    clock: ScriptedClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.late_s = [0.0, 0.0, 0.0]
    answers = iter([True, False, False, True])
    notifier = CountingNotifier()
    with caplog.at_level(logging.DEBUG, logger=LOGGER), pytest.raises(_Stop):
        asyncio.run(feed_watchdog(notifier, 0.5, lambda: next(answers)))
    assert notifier.pings == 2
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "event=watchdog_withheld reason=unhealthy"),
        ("ERROR", "event=watchdog_withheld reason=unhealthy"),
    ]


def test_run_watchdog_reads_the_process_environment(
    clock: ScriptedClock, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    clock.late_s = [0.0]
    notifier = CountingNotifier()
    with caplog.at_level(logging.DEBUG, logger=LOGGER), pytest.raises(_Stop):
        asyncio.run(run_watchdog(notifier))
    assert notifier.pings == 2
    assert clock.sleeps == [1.5, 1.5]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "event=watchdog_enabled interval_s=1.500"),
    ]


def test_run_watchdog_passes_the_health_check_on(clock: ScriptedClock) -> None:
    notifier = CountingNotifier()
    with pytest.raises(_Stop):
        asyncio.run(run_watchdog(notifier, {"WATCHDOG_USEC": "1000000"}, lambda: False))
    assert notifier.pings == 0
    assert clock.sleeps == [0.5]


@pytest.mark.parametrize(
    ("address", "env"),
    [
        (None, {"WATCHDOG_USEC": "1000000"}),  # no notify socket
        ("/run/stetho-test/notify", {}),  # no watchdog
        ("/run/stetho-test/notify", {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}),
    ],
)
def test_run_watchdog_returns_at_once_when_there_is_nothing_to_feed(
    clock: ScriptedClock,
    caplog: pytest.LogCaptureFixture,
    address: str | None,
    env: dict[str, str],
) -> None:
    notifier = CountingNotifier(address)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert asyncio.run(run_watchdog(notifier, env)) is None
    assert notifier.pings == 0
    assert clock.sleeps == []
    assert caplog.records == []
