"""Watchdog pings come from the event loop, so a blocked loop stops them."""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.errors import WatchdogSettingError
from edge_agent.runtime.sdnotify import Notifier
from edge_agent.runtime.watchdog import (
    feed_watchdog,
    run_watchdog,
    watchdog_interval_s,
)
from tests.deploy.fake_systemd import NotifyReceiver

WATCHDOG_S = 0.2  # what WatchdogSec would be; pings every 0.1 s


class RecordingNotifier(Notifier):
    """A real notifier that also notes, on the loop's thread, when each ping left."""

    def __init__(self, address: str | None) -> None:
        super().__init__(address)
        self.ping_times: list[float] = []

    def watchdog(self) -> bool:
        self.ping_times.append(time.monotonic())
        return super().watchdog()


@pytest.fixture
def receiver() -> Iterator[NotifyReceiver]:
    with (
        tempfile.TemporaryDirectory(prefix="wd", dir="/tmp") as name,
        NotifyReceiver(Path(name) / "notify") as instance,
    ):
        yield instance


def test_interval_is_half_of_watchdog_usec() -> None:
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}, pid=42) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "42"}, 42) == 15.0


def test_no_watchdog_when_unset_or_meant_for_another_process() -> None:
    assert watchdog_interval_s({}, pid=42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": ""}, pid=42) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "7"}, 42) is None


@pytest.mark.parametrize(
    "env",
    [
        {"WATCHDOG_USEC": "abc"},
        {"WATCHDOG_USEC": "-5"},
        {"WATCHDOG_USEC": "0"},
        {"WATCHDOG_USEC": "1.5"},
        {"WATCHDOG_USEC": "\u0663"},  # an Arabic-Indic digit: isdigit() but not ours
        {"WATCHDOG_USEC": "1000", "WATCHDOG_PID": "me"},
    ],
)
def test_malformed_settings_are_a_typed_error(env: dict[str, str]) -> None:
    with pytest.raises(WatchdogSettingError, match="positive integer"):
        watchdog_interval_s(env, pid=42)


def test_run_watchdog_returns_at_once_without_systemd(receiver: NotifyReceiver) -> None:
    async def returns_at_once(notifier: RecordingNotifier, env: dict[str, str]) -> None:
        # A watchdog that started feeding would never return: the timeout would fail us.
        async with asyncio.timeout(1.0):
            assert await run_watchdog(notifier, env=env) is None

    no_socket = RecordingNotifier(None)
    asyncio.run(returns_at_once(no_socket, {"WATCHDOG_USEC": "1000000"}))
    no_watchdog = RecordingNotifier(receiver.address)
    asyncio.run(returns_at_once(no_watchdog, {}))
    other_pid = {"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": "1"}
    asyncio.run(returns_at_once(no_watchdog, other_pid))
    assert no_socket.ping_times == [] and no_watchdog.ping_times == []


@pytest.mark.blocks_loop
def test_blocked_loop_stops_the_pings_for_longer_than_watchdog_sec(
    receiver: NotifyReceiver,
) -> None:
    notifier = RecordingNotifier(receiver.address)
    block: dict[str, float] = {}

    async def block_the_loop() -> None:
        block["start"] = time.monotonic()
        time.sleep(2 * WATCHDOG_S)  # noqa: ASYNC251 - the hung synchronous call under test
        block["end"] = time.monotonic()

    async def agent() -> None:
        notifier.ready()
        pinger = asyncio.create_task(run_watchdog(notifier, {"WATCHDOG_USEC": "200000"}))
        await asyncio.sleep(3 * WATCHDOG_S)
        await block_the_loop()
        await asyncio.sleep(3 * WATCHDOG_S)
        pinger.cancel()

    asyncio.run(agent())
    notifier.close()

    before = [t for t in notifier.ping_times if t <= block["start"]]
    after = [t for t in notifier.ping_times if t >= block["end"]]
    assert before and after
    assert len(before) + len(after) == len(notifier.ping_times)  # none while blocked
    silence_s = after[0] - before[-1]
    assert silence_s > WATCHDOG_S  # systemd would have killed and restarted the agent
    # Every ping really went out on the socket, READY first.
    received = receiver.wait_for("WATCHDOG", count=len(notifier.ping_times))
    assert len(received) == len(notifier.ping_times)
    assert "READY" in receiver.received[0].fields


def test_pings_are_withheld_while_a_component_reports_unhealthy(receiver: NotifyReceiver) -> None:
    notifier = RecordingNotifier(receiver.address)
    healthy = True

    async def agent() -> None:
        nonlocal healthy
        pinger = asyncio.create_task(feed_watchdog(notifier, 0.01, lambda: healthy))
        await asyncio.sleep(0.05)
        healthy = False
        sent = len(notifier.ping_times)
        await asyncio.sleep(0.05)
        assert len(notifier.ping_times) == sent
        pinger.cancel()

    asyncio.run(agent())
    notifier.close()
    assert notifier.ping_times


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        asyncio.run(feed_watchdog(Notifier(None), 0.0))
