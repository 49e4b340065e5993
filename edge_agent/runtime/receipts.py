"""The hub's receipts, applied to the outbox; recordings left without one are sent again."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from edge_agent.config import StorageConfig
from edge_agent.errors import OutboxError
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.receipts import ReceiptOutcome, ResendPolicy
from edge_agent.wire import messages
from stetho_common.logfmt import quote
from stetho_common.waits import within

__all__ = ["ReceiptCounts", "ReceiptWatch", "resend_policy"]

log = logging.getLogger(__name__)
MAX_QUEUED = 10_000  # receipts arrive one per recording: a backlog this deep is a flood
DEFAULT_CAP_FACTOR = 8  # re-sends back off to 8 timeouts: 3 doublings, then [4, 8] timeouts


def resend_policy(storage: StorageConfig) -> ResendPolicy:
    """The agent's re-send policy from `[storage]` (receipts on: `receipt_timeout_s` > 0)."""
    timeout = storage.receipt_timeout_s
    cap = storage.receipt_resend_max_s or DEFAULT_CAP_FACTOR * timeout
    return ResendPolicy(timeout_s=timeout, cap_s=max(timeout, cap))


@dataclass
class ReceiptCounts:
    archived: int = 0
    repeated: int = 0
    mismatched: int = 0
    unknown: int = 0
    dropped: int = 0
    resent: int = 0


class ReceiptWatch:
    """Receipts go through a queue into the outbox's thread; overdue recordings are re-queued."""

    def __init__(self, outbox: Outbox, policy: ResendPolicy) -> None:
        self._outbox = outbox
        self.policy = policy
        self.counts = ReceiptCounts()
        self._queue: asyncio.Queue[messages.ReceiptMessage] = asyncio.Queue(MAX_QUEUED)

    @property
    def timeout_s(self) -> float:
        return self.policy.timeout_s

    def offer(self, receipt: messages.ReceiptMessage) -> None:
        try:
            self._queue.put_nowait(receipt)
        except asyncio.QueueFull:  # the hub will send it again with the next re-delivery
            self.counts.dropped += 1

    async def run(self) -> None:
        """Apply receipts as they come; one re-send pass per period, however many arrive."""
        period = min(60.0, max(0.5, self.timeout_s / 4))
        loop = asyncio.get_running_loop()
        due = loop.time() + period
        while True:
            receipt = await within(max(0.0, due - loop.time()), self._queue.get())
            try:
                if receipt is not None:
                    await self._apply(receipt)
                if loop.time() >= due:
                    due = loop.time() + period
                    await self._apply_queued()  # receipts first: they save a re-send
                    await self._resend_overdue()
            except OutboxError as exc:  # the disk: try again at the next turn
                log.error("event=receipt_update_failed error=%r", str(exc))

    async def _apply_queued(self) -> None:
        while not self._queue.empty():
            await self._apply(self._queue.get_nowait())

    async def _apply(self, receipt: messages.ReceiptMessage) -> None:
        rid = str(receipt.recording_id)
        outcome = await self._outbox.apply_receipt(rid, receipt.audio_sha256)
        if outcome is ReceiptOutcome.ARCHIVED:
            self.counts.archived += 1
            log.info("event=recording_archived recording=%s hub=%s", rid, quote(receipt.hub))
        elif outcome is ReceiptOutcome.ALREADY:
            self.counts.repeated += 1
        elif outcome is ReceiptOutcome.MISMATCH:
            self.counts.mismatched += 1
            log.error("event=receipt_mismatch recording=%s action=send_again", rid)
        else:
            self.counts.unknown += 1

    async def _resend_overdue(self) -> None:
        again = await self._outbox.resend_overdue(self.policy)
        if again:
            self.counts.resent += len(again)
            log.warning(
                "event=recordings_sent_again count=%d reason=%r",
                len(again),
                f"no receipt within {self.timeout_s:.0f} s, then backing off to"
                f" {self.policy.cap_s:.0f} s",
            )
