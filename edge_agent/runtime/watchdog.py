"""Feed systemd's watchdog from the event loop, so a hung loop gets the agent restarted.

With ``WatchdogSec=`` in the unit, systemd sets ``$WATCHDOG_USEC`` (and ``$WATCHDOG_PID``)
and kills the service when no ``WATCHDOG=1`` arrives for that long; ``Restart=on-failure``
then starts it again (systemd.service(5)). The ping comes from a coroutine on the agent's
own event loop: while a callback blocks the loop (a stuck BLE call, a synchronous SQLite
write on a dying SD card) the coroutine cannot run, the pings stop, and systemd acts.
A thread would keep pinging through such a hang, which is why there is none here.

sd_watchdog_enabled(3) recommends pinging at half the timeout; so do we.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping

from edge_agent.errors import WatchdogSettingError
from edge_agent.runtime.sdnotify import Notifier

__all__ = [
    "WATCHDOG_PID_ENV",
    "WATCHDOG_USEC_ENV",
    "WatchdogSettingError",
    "feed_watchdog",
    "run_watchdog",
    "watchdog_interval_s",
]

WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"

_log = logging.getLogger(__name__)


def _always_healthy() -> bool:
    return True


def watchdog_interval_s(env: Mapping[str, str], pid: int) -> float | None:
    """Return how often to ping the watchdog, in seconds, or None when it is off.

    Parameters
    ----------
    env:
        The process environment (``os.environ``), read only.
    pid:
        This process's id. When ``$WATCHDOG_PID`` names another process the watchdog
        belongs to that one (we are a child it spawned), so the answer is None.

    Returns
    -------
    float or None
        Half of ``$WATCHDOG_USEC`` converted to seconds; None when ``$WATCHDOG_USEC`` is
        unset or empty, or the watchdog is another process's.

    Raises
    ------
    WatchdogSettingError
        If either variable is present but not a positive decimal integer.
    """
    raw_usec = env.get(WATCHDOG_USEC_ENV, "")
    if not raw_usec:
        return None
    raw_pid = env.get(WATCHDOG_PID_ENV, "")
    if raw_pid and _positive_int(WATCHDOG_PID_ENV, raw_pid) != pid:
        return None
    return _positive_int(WATCHDOG_USEC_ENV, raw_usec) / 1e6 / 2


def _positive_int(name: str, raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or int(raw) == 0:
        raise WatchdogSettingError(f"${name} must be a positive integer, got {raw!r}")
    return int(raw)


async def feed_watchdog(
    notifier: Notifier,
    interval_s: float,
    healthy: Callable[[], bool] = _always_healthy,
) -> None:
    """Send ``WATCHDOG=1`` now and every ``interval_s`` seconds while the loop runs; never returns.

    Parameters
    ----------
    notifier:
        Where the pings go.
    interval_s:
        Seconds between pings; pass ``watchdog_interval_s(...)``.
    healthy:
        Asked before each ping. Returning False withholds the ping, so a component
        that knows it is wedged (while the loop itself still turns) gets the service
        restarted too. It must be quick and must not raise.

    A wake-up later than one whole interval means the loop was blocked; that is logged,
    since systemd may already have decided to kill the service.
    """
    if interval_s <= 0:
        raise ValueError(f"watchdog interval must be positive, got {interval_s} s")
    loop = asyncio.get_running_loop()
    due = loop.time()
    while True:
        lag_s = loop.time() - due
        if lag_s > interval_s:
            _log.warning("event=event_loop_stalled lag_s=%.3f interval_s=%.3f", lag_s, interval_s)
        if healthy():
            notifier.watchdog()
        else:
            _log.error("event=watchdog_withheld reason=unhealthy")
        due = loop.time() + interval_s
        await asyncio.sleep(interval_s)


async def run_watchdog(
    notifier: Notifier,
    env: Mapping[str, str] | None = None,
    healthy: Callable[[], bool] = _always_healthy,
) -> None:
    """Feed the watchdog systemd configured for this process, or return at once if none.

    Meant as one task in the daemon's TaskGroup, started after ``notifier.ready()``.
    ``env`` defaults to ``os.environ``.
    """
    interval_s = watchdog_interval_s(os.environ if env is None else env, os.getpid())
    if interval_s is None or not notifier.enabled:
        return
    _log.info("event=watchdog_enabled interval_s=%.3f", interval_s)
    await feed_watchdog(notifier, interval_s, healthy)
