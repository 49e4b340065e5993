"""Recordings a killed agent left in its capture journals, accepted as partial recordings."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path

from edge_agent.errors import IncompleteJournalError, JournalCorruptError
from edge_agent.pipeline.device import Accept, wall_dated
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.journal import (
    load_journal,
    move_aside,
    remove_journal,
)

__all__ = ["recover_journals"]

log = logging.getLogger(__name__)


async def recover_journals(
    journals: list[Path],
    outbox: Outbox,
    accept: Accept,
    stats_for: Callable[[str], DeviceStats],
) -> None:
    """Accept what each journal holds; a journal never stops the agent (logged, moved aside)."""
    for path in journals:
        try:
            await _recover_one(path, outbox, accept, stats_for)
        except Exception:
            log.exception("event=journal_recovery_failed path=%s", path)


async def _recover_one(
    path: Path, outbox: Outbox, accept: Accept, stats_for: Callable[[str], DeviceStats]
) -> None:
    try:
        found = await asyncio.to_thread(load_journal, path)
    except IncompleteJournalError as exc:
        await asyncio.to_thread(remove_journal, path)
        log.warning("event=journal_discarded path=%s reason=%r", path, str(exc))
        return
    except (JournalCorruptError, OSError) as exc:
        aside = await asyncio.to_thread(move_aside, path)
        log.error("event=journal_corrupt path=%s moved_to=%s reason=%r", path, aside, str(exc))
        return
    capture, ctx = found.capture(), found.header.context
    rid = capture.recording_id
    if len(capture.samples) == 0:
        await asyncio.to_thread(remove_journal, path)
        log.warning("event=journal_discarded recording=%s reason=%r", rid, "no audio")
        return
    if await outbox.has_recording(str(rid)):  # killed between commit and delete
        await asyncio.to_thread(remove_journal, path)
        log.info("event=journal_already_stored recording=%s", rid)
        return
    log.warning(
        "event=journal_recovered device=%s recording=%s duration_s=%.2f gaps=%d "
        "dropped_bytes=%d reason=%r",
        ctx.device,
        rid,
        capture.duration_s,
        len(capture.gaps),
        found.dropped_bytes,
        found.dropped_reason,
    )
    dated = wall_dated(capture, time.time())
    if dated is not capture:  # a demo's 10x stream time ran ahead of the clock before the crash
        log.warning(
            "event=journal_redated recording=%s started_at=%.3f was=%.3f reason=%r",
            rid,
            dated.started_at,
            capture.started_at,
            "dated after its recovery",
        )
        capture = dated
    if not await accept(capture, ctx, stats_for(ctx.device)):
        return  # the outbox failed: the journal stays for the next start
    if found.torn_tail_only():
        await asyncio.to_thread(remove_journal, path)
    else:
        aside = await asyncio.to_thread(move_aside, path)
        log.error(
            "event=journal_damaged recording=%s moved_to=%s dropped_bytes=%d",
            rid,
            aside,
            found.dropped_bytes,
        )
