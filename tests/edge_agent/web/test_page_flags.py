"""The nurse's exam page words each flag in her language, numbers and age band included."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from edge_agent.exam import Exam, ExamStore, Resident, SiteRecording, resolve_protocol
from edge_agent.exam.service import ExamService
from edge_agent.exam.verdict import findings_of
from edge_agent.web import WebContext, build_app
from edge_agent.web.accounts import Accounts
from edge_agent.web.render import templates
from edge_agent.web.sessions import SessionBook
from edge_agent.wire import messages
from tests.edge_agent.web.test_page_security import PIN, Clock, _discard, sign_in

FAST = messages.Flag(
    code="heart_rate_very_high", value=150.0, threshold=140.0,
    reason="Heart rate 150 beats/min is at or above 140; beyond the paediatric range for "
    "2 to 5 years: urgent clinical review.",
)  # fmt: skip
WHEEZE = messages.Flag(
    code="lung_wheeze", value=0.26, threshold=0.1,
    reason="Musical sound lasting 0.26 s (at least 0.10 s) near 412 Hz: possible wheeze, listen "
    "to the recording.", details={"frequency_hz": 412.0},
)  # fmt: skip


def _analysis() -> messages.Analysis:
    return messages.Analysis(
        sample_rate_hz=4000.0, duration_s=8.0, kind="heart",
        quality=messages.Quality(score=0.9, acceptable=True, problems=[]), heart=None, lung=None,
        triage=messages.Triage(level="urgent", flags=[FAST, WHEEZE]),
    )  # fmt: skip


def _exam(store: ExamStore) -> Exam:
    exam = Exam(uuid.uuid4(), "res-1", "nurse-a", "cough", "heart-4", resolve_protocol("heart-4"),
                10.0, age_band="2_to_5")  # fmt: skip
    exam.begin_recording("aortic", 11.0)
    found = findings_of(_analysis())
    exam.add_recording(SiteRecording(uuid.uuid4(), "aortic", "steth-1", 11.0, 8.0, True, "urgent",
                                     (), False, found))  # fmt: skip
    # Saved before flags kept their numbers: the bare code, shown as it is.
    exam.add_recording(SiteRecording(uuid.uuid4(), "pulmonic", "steth-1", 12.0, 8.0, True,
                                     "review", (), False, {"flags": ["heart_murmur"]}))  # fmt: skip
    store.save_exam(exam)
    return exam


def _page(tmp: Path, lang: str) -> str:
    env = templates()
    store = ExamStore(tmp / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1")])
    exam = _exam(store)
    accounts = Accounts(tmp / "web.sqlite3")
    accounts.add("nurse-a", "Marie", PIN)

    async def main() -> str:
        service = ExamService(store, "home", "pi", ["steth-1"], _discard, 4.0)
        ctx = WebContext(service, accounts, SessionBook(3600), env, lambda: [], False,
                         clock=Clock())  # fmt: skip
        async with TestClient(TestServer(build_app(ctx))) as client:
            await client.get(f"/lang/{lang}")
            assert await sign_in(client) == 303
            return await (await client.get(f"/exams/{exam.exam_id}")).text()

    try:
        return asyncio.run(main()).replace("&#39;", "'")
    finally:
        store.close()
        accounts.close()


def test_a_french_page_shows_the_flags_in_french_with_their_numbers(tmp_path: Path) -> None:
    page = _page(tmp_path, "fr")
    assert "Fréquence cardiaque 150 battements/min, égale ou supérieure à 140" in page
    assert "hors des valeurs pédiatriques de 2 à 5 ans" in page
    assert "Son musical de 0,26 s (au moins 0,10 s) vers 412 Hz : sibilant possible" in page
    assert 'id="latest-flags"' in page and "heart_murmur" in page  # an old saved code as is
    assert "beats/min" not in page


def test_an_english_page_shows_the_wire_sentences(tmp_path: Path) -> None:
    page = _page(tmp_path, "en")
    assert FAST.reason in page and "near 412 Hz: possible wheeze" in page
