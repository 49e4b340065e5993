"""The running agent's state, written to `status.json` in the state directory.

`stetho status` reads that file, so it needs neither a socket nor the broker, and the
file can be read by an operator over SSH. Writes are atomic (temp file + rename).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from edge_agent import __version__
from edge_agent.config import STATUS_FILE, STATUS_INTERVAL_S, AgentConfig
from edge_agent.runtime.receipts import ReceiptCounts
from edge_agent.runtime.sdnotify import Notifier
from edge_agent.runtime.state import AgentState
from edge_agent.storage.outbox import OutboxStats
from edge_agent.storage.receipts import ReceiptStats
from edge_agent.transport.publisher import Publisher

log = logging.getLogger(__name__)


def snapshot(
    config: AgentConfig,
    state: AgentState,
    link: Publisher,
    outbox: OutboxStats,
    started_at: float,
) -> dict[str, Any]:
    """Plain data for status.json; no secret and no resident reference in it."""
    now = time.time()
    publisher = link.stats
    limit = link.packet_limit()
    devices = {
        device_id: {
            "connected": stats.connected,
            "battery_percent": stats.battery_percent,
            "recordings": stats.recordings,
            "refused": stats.refused,
            "last_recording_at": stats.last_recording_at,
            "last_level": stats.last_level,
            "given_up": stats.given_up,
        }
        for device_id, stats in state.devices.items()
    }
    return {
        "site": config.site,
        "agent": config.agent_id,
        "version": __version__,
        "pid": os.getpid(),
        "started_at": started_at,
        "updated_at": now,
        "broker": {
            "host": link.hosts.current[0],  # the broker in use (broker.hosts fails over)
            "port": link.hosts.current[1],
            "connected": publisher.connected,
            "connects": publisher.connects,
            "published": publisher.published,
            "last_error": publisher.last_error or None,
            "losses": publisher.losses,
            "alarm": publisher.alarm,
            "too_large": publisher.too_large,
            "packet_alarm": publisher.packet_alarm,
            "max_packet_bytes": None if limit is None else limit.bytes,  # as last known
            "connack_max_packet": publisher.connack_max_packet,  # read back on the next start
            "capture_alarms": dict(state.capture_alarms),
        },
        "outbox": {
            "pending": outbox.pending,
            "oldest_pending_age_s": None
            if outbox.oldest_pending_at is None
            else round(now - outbox.oldest_pending_at, 1),
            "used_bytes": outbox.used_bytes,
            "quota_bytes": outbox.quota_bytes,
            "free_disk_bytes": outbox.free_disk_bytes,
            "alarm": state.outbox_alarm,
            "check": state.outbox_check,
        },
        "devices": devices,
        "inbound": {
            "acks": state.inbound.acks,
            "commands": state.inbound.commands,
            "rejected": state.inbound.rejected,
            "unknown_alerts": state.inbound.unknown_alerts,
        },
        "last_alerts": state.last_alerts[-10:],
        "acknowledgements": state.acknowledgements[-10:],
    }


def receipts_status(
    waiting: ReceiptStats, counts: ReceiptCounts, timeout_s: float
) -> dict[str, Any]:
    """How many recordings wait for the hospital's receipt, and since when."""
    oldest = waiting.oldest_stored_at
    return {
        "awaiting": waiting.awaiting,
        "oldest_awaiting_age_s": None if oldest is None else round(time.time() - oldest, 1),
        "timeout_s": timeout_s,
        "sent_again": waiting.resent_total,
        "archived": counts.archived,
        "mismatched": counts.mismatched,
    }


def last_connack_limit(state_dir: Path) -> int | None:
    """The broker's CONNACK limit a previous run learnt, so that a Pi restarted while the
    broker is unreachable still refuses captures the broker could not take (issue 18)."""
    try:
        data = json.loads((state_dir / STATUS_FILE).read_text(encoding="utf-8"))
        value = data["broker"]["connack_max_packet"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or from an older agent: learnt again on the next connection
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def write_status(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=1)
    os.replace(tmp, path)


def summary_line(data: dict[str, Any]) -> str:
    """One line for `systemctl status`."""
    broker = "connected" if data["broker"]["connected"] else "disconnected"
    connected = sum(1 for d in data["devices"].values() if d["connected"])
    return (
        f"broker {broker}; devices {connected}/{len(data['devices'])} connected; "
        f"outbox {data['outbox']['pending']} pending"
    )


async def report_status(
    take_snapshot: Callable[[], Awaitable[dict[str, Any]]],
    state_dir: Path,
    notifier: Notifier,
    interval_s: float = STATUS_INTERVAL_S,
) -> None:
    """Every few seconds: refresh status.json and the systemd status line."""
    path = state_dir / STATUS_FILE
    while True:
        data = await take_snapshot()
        try:
            await asyncio.to_thread(write_status, path, data)
        except OSError as exc:  # a full disk must not stop the agent; the outbox alarms on it
            log.warning("event=status_write_failed path=%s error=%r", path, str(exc))
        notifier.status(summary_line(data))
        await asyncio.sleep(interval_s)
