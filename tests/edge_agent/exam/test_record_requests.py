"""A doctor's requests on the nurse page (edge_agent.exam.record_requests): dismissed, and who
accepted which, remembered for the newest MAX_REQUESTS."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.exam import Exam, RequestAnsweredError
from edge_agent.exam.record_requests import MAX_REQUESTS, RecordRequest, RecordRequests
from edge_agent.wire import messages
from tests.edge_agent.exam.test_service import Harness


def _command() -> messages.CommandMessage:
    return messages.CommandMessage(
        command_id=uuid.uuid4(), action="record_request", by="dr-b",
        at=datetime.now(tz=UTC), resident="res-1", auscultation_site="mitral")  # fmt: skip


def test_a_dismissed_request_leaves_the_page_and_cannot_be_accepted(tmp_path: Path) -> None:
    async def main() -> None:
        h = Harness(tmp_path)
        h.service.requested(_command())
        (wanted,) = h.service.requests.values()
        version = h.service.changes.version
        h.service.dismiss(wanted.request_id)
        assert not h.service.requests and h.service.changes.version == version + 1
        h.service.dismiss(wanted.request_id)  # the other tablet's dismiss: nothing to do
        with pytest.raises(RequestAnsweredError):
            await h.service.accept(wanted.request_id, "nurse-a")
        assert not h.service.exams
        h.service.store.close()

    asyncio.run(main())


def test_who_accepted_which_is_kept_for_the_newest_requests() -> None:
    async def main() -> list[object]:
        requests = RecordRequests()
        exams: dict[uuid.UUID, Exam] = {}

        async def open_exam(wanted: RecordRequest) -> Exam:
            exam = Exam(uuid.uuid4(), wanted.resident, "nurse-a", "", "custom", (wanted.site,),
                        0.0)  # fmt: skip
            exams[exam.exam_id] = exam
            return exam

        async def exam_of(exam_id: uuid.UUID) -> Exam:
            return exams[exam_id]

        ids: list[uuid.UUID] = []
        first: list[Exam] = []
        for _ in range(MAX_REQUESTS + 1):  # each accepted as it comes
            ids.append(requests.add(_command()).request_id)
            first.append(await requests.accept(ids[-1], "nurse-a", open_exam, exam_of))
        assert list(requests.accepted) == ids[1:]
        again = await requests.accept(ids[1], "nurse-a", open_exam, exam_of)
        oldest = await asyncio.gather(
            requests.accept(ids[0], "nurse-a", open_exam, exam_of), return_exceptions=True
        )
        return [again is first[1], *oldest]

    same, oldest = asyncio.run(main())
    assert same is True
    assert isinstance(oldest, RequestAnsweredError)  # forgotten: her tap is refused, as others'
