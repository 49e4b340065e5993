"""A doctor's `record_request` on the nurse page: kept until a nurse accepts or dismisses it.

Accepting opens an exam of the one site asked for. Two tablets tapping at once get one exam (the
request is taken before the first await); the nurse who took it gets her exam again on a second
tap, even while her first tap is still opening it (a double tap sends the form twice).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from edge_agent.exam.errors import ExamError, RequestAnsweredError
from edge_agent.exam.model import Exam
from edge_agent.exam.protocols import check_site
from edge_agent.wire import messages

MAX_REQUESTS = 20  # the newest kept, waiting or accepted: a doctor asks for one at a time

# What a nurse's first tap ended with: her exam, the refusal her second tap is told too, or
# None if it was cancelled (the second tap is refused then).
Opening = asyncio.Future[Exam | ExamError | None]


@dataclass(frozen=True)
class RecordRequest:
    """A doctor asked for a recording; the nurse accepts it on the page."""

    request_id: uuid.UUID
    resident: str
    site: str
    duration_s: float | None
    by: str
    at: float


class RecordRequests(dict[uuid.UUID, RecordRequest]):
    """The requests waiting on the page by id, oldest first; and who accepted which."""

    def __init__(self) -> None:
        super().__init__()
        # Who accepted which request, into which exam: a nurse's second tap gets her exam.
        self.accepted: dict[uuid.UUID, tuple[str, uuid.UUID]] = {}
        # Requests whose exam is opening, by who accepted: a second tap meanwhile waits for it.
        self.opening: dict[uuid.UUID, tuple[str, Opening]] = {}

    def add(self, command: messages.CommandMessage) -> RecordRequest:
        """Keep a doctor's record_request (the oldest let go past MAX_REQUESTS)."""
        assert command.resident is not None and command.auscultation_site is not None
        check_site(command.auscultation_site)
        request = RecordRequest(command.command_id, command.resident, command.auscultation_site,
                                command.duration_s, command.by, time.time())  # fmt: skip
        self[request.request_id] = request
        while len(self) > MAX_REQUESTS:
            self.pop(next(iter(self)))
        return request

    async def accept(
        self,
        request_id: uuid.UUID,
        staff: str,
        open_exam: Callable[[RecordRequest], Awaitable[Exam]],
        exam_of: Callable[[uuid.UUID], Awaitable[Exam]],
    ) -> Exam:
        """The exam `open_exam` opens for the request, accepted by `staff`. Raise
        RequestAnsweredError if it was dismissed or another nurse accepted it; the nurse who
        accepted it gets her exam again (`exam_of` finds it), once open if her first tap is
        still opening it."""
        # Taken before the first await: a second tablet's accept meanwhile is refused, not a
        # second exam. Put back if the exam is refused (a resident not imported yet, say).
        wanted = self.pop(request_id, None)
        if wanted is None:
            return await self._accepted_again(request_id, staff, exam_of)
        opened: Opening = asyncio.get_running_loop().create_future()
        self.opening[request_id] = (staff, opened)
        try:
            exam = await open_exam(wanted)
        except ExamError as exc:
            self[request_id] = wanted
            opened.set_result(exc)  # her second tap is told the same
            raise
        else:
            opened.set_result(exam)
        finally:
            del self.opening[request_id]
            if not opened.done():  # cancelled: a second tap is refused, as before
                opened.set_result(None)
        self.accepted[request_id] = (staff, exam.exam_id)
        while len(self.accepted) > MAX_REQUESTS:
            self.accepted.pop(next(iter(self.accepted)))
        return exam

    async def _accepted_again(
        self, request_id: uuid.UUID, staff: str, exam_of: Callable[[uuid.UUID], Awaitable[Exam]]
    ) -> Exam:
        """A request already taken: the exam of the nurse who took it (waiting for her first
        tap's to open); RequestAnsweredError for anyone else, or if it was dismissed."""
        taken = self.accepted.get(request_id)
        if taken is not None and taken[0] == staff:
            return await exam_of(taken[1])
        opening = self.opening.get(request_id)
        if opening is not None and opening[0] == staff:
            # Shielded: this tap's request ending must not cancel what the first one awaits.
            outcome = await asyncio.shield(opening[1])
            if isinstance(outcome, ExamError):
                raise outcome
            if outcome is not None:
                return outcome
        raise RequestAnsweredError("this request was already answered")
