"""`edge_agent.web.names` case by case, over a stand-in context: whose names a refusal calls
for, and which stethoscopes her own exams hold."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace
from typing import Any, ClassVar

from edge_agent.errors import AgentError
from edge_agent.web.context import Stethoscope
from edge_agent.web.names import held_by_her_exams, page_names

MINE, THEIRS, GONE = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)


class _Exams:
    exams: ClassVar[dict[uuid.UUID, Any]] = {
        MINE: SimpleNamespace(exam_id=MINE, resident="res-1"),
        THEIRS: SimpleNamespace(exam_id=THEIRS, resident="res-1"),
        GONE: SimpleNamespace(exam_id=GONE, resident="res-9"),  # her resident since removed
    }

    async def resident(self, ref: str) -> Any:
        if ref != "res-1":
            raise AgentError(f"no resident {ref!r} on this Pi")
        return SimpleNamespace(label="Room 1 Mme Secret")


class _Accounts:
    def staff(self) -> list[Any]:
        return [SimpleNamespace(staff_id="nurse-a", display="Marie")]


CTX: Any = SimpleNamespace(exams=_Exams(), accounts=_Accounts())


def _row(device: str, holder: str | None, held_for: uuid.UUID | None) -> Stethoscope:
    return Stethoscope(device, "simulated", True, None, False, holder=holder, held_for=held_for)


def test_a_resident_alone_reads_no_account() -> None:
    names = asyncio.run(page_names(CTX, {"resident": "res-1", "device": "steth-1"}))
    assert names == {"res-1": "Room 1 Mme Secret"}


def test_a_holder_reads_the_accounts() -> None:
    assert asyncio.run(page_names(CTX, {"holder": "nurse-a"})) == {"nurse-a": "Marie"}


def test_each_of_her_exams_stethoscopes_past_one_that_is_not_hers() -> None:
    rows = [
        _row("steth-0", "nurse-b", THEIRS),  # a colleague's: not hers
        _row("steth-1", "nurse-a", MINE),
        _row("steth-2", None, None),
        _row("steth-3", "nurse-a", GONE),
    ]
    held = asyncio.run(held_by_her_exams(CTX, "nurse-a", rows))
    assert held == {"steth-1": "Room 1 Mme Secret", "steth-3": "res-9"}
    assert asyncio.run(held_by_her_exams(CTX, "nurse-a", rows, but=MINE)) == {"steth-3": "res-9"}
