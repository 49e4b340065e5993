"""Records PUBACKs in the outbox, a batch per transaction."""

from __future__ import annotations

import asyncio
import logging

from edge_agent.errors import OutboxError
from edge_agent.storage.async_outbox import Outbox

__all__ = ["SentMarker"]

log = logging.getLogger(__name__)


class SentMarker:
    """Group commit of PUBACKs: one transaction (one fsync) per batch, not per message.

    PUBACKs that arrive while a batch is being written join the next one. A PUBACK not yet
    recorded when the process dies only means the message is sent again (a duplicate).
    """

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._waiting: list[int] = []
        self._task: asyncio.Task[None] | None = None

    def add(self, seq: int) -> None:
        self._waiting.append(seq)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.flush())

    async def close(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()

    async def flush(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await self._outbox.mark_sent_many(batch)
            except OutboxError as exc:
                log.error("event=mark_sent_failed count=%d error=%r", len(batch), str(exc))
                return
