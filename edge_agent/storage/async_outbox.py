"""The outbox's async face: every SQLite call of the durable store runs off the event loop.

Writes go through one dedicated thread, so they keep their order and SQLite sees one writer;
reads for the publisher take a second thread, so a long write does not stall sending.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from edge_agent.storage import receipts
from edge_agent.storage.outbox import (
    Admission,
    OutboundMessage,
    OutboxStats,
    OutboxStore,
    StoredMessage,
)

__all__ = ["Outbox"]


class Outbox:
    """Async face of the store: every SQLite call runs on one dedicated thread, off the loop."""

    def __init__(self, store: OutboxStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox")
        self._read_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outbox-read")
        self.changed = asyncio.Event()

    async def _call(self, fn: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    async def put_many(self, messages: list[OutboundMessage]) -> list[int]:
        seqs: list[int] = await self._call(self.store.put_many, messages)
        self.changed.set()
        return seqs

    async def put_recording(self, messages: list[OutboundMessage]) -> Admission:
        """Store one recording's messages atomically; return the admission (with its alarm)."""
        seqs_and_admission: tuple[list[int], Admission] = await self._call(
            self.store.put_admitted, messages
        )
        self.changed.set()
        return seqs_and_admission[1]

    async def has_recording(self, recording_id: str) -> bool:
        found: bool = await self._call(self.store.has_recording, recording_id)
        return found

    async def admission(self, incoming_bytes: int) -> Admission:
        result: Admission = await self._call(self.store.admission, incoming_bytes)
        return result

    async def pending(self, limit: int, after_seq: int = 0) -> list[StoredMessage]:
        loop = asyncio.get_running_loop()
        read = self.store.pending
        result = await loop.run_in_executor(self._read_executor, read, limit, after_seq)
        return result

    async def payloads_on(self, topic: str) -> list[bytes]:
        result: list[bytes] = await self._call(self.store.payloads_on, topic)
        return result

    async def mark_sent_many(self, seqs: list[int]) -> None:
        await self._call(self.store.mark_sent_many, seqs)

    async def prune_sent(self, older_than_s: float) -> int:
        removed: int = await self._call(self.store.prune_sent, older_than_s)
        return removed

    async def stats(self) -> OutboxStats:
        result: OutboxStats = await self._call(self.store.stats)
        return result

    async def apply_receipt(self, recording_id: str, audio_sha256: str) -> receipts.ReceiptOutcome:
        outcome: receipts.ReceiptOutcome = await self._call(
            self.store.apply_receipt, recording_id, audio_sha256
        )
        if outcome is receipts.ReceiptOutcome.MISMATCH:
            self.changed.set()
        return outcome

    async def resend_overdue(self, policy: receipts.ResendPolicy) -> list[str]:
        again: list[str] = await self._call(self.store.resend_overdue, policy)
        if again:
            self.changed.set()
        return again

    async def receipt_stats(self) -> receipts.ReceiptStats:
        result: receipts.ReceiptStats = await self._call(self.store.receipt_stats)
        return result

    def close(self) -> None:
        """Finish queued writes, then close: called once the daemon's tasks have stopped."""
        self._executor.shutdown(wait=True)
        self._read_executor.shutdown(wait=True)
        self.store.close()
