"""The care homes page's latest exams, read in SQL with the reader's homes, in SQLite and
PostgreSQL: newest first, another home's never, whether a doctor has answered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge_agent.wire import messages, topics
from stetho_hub import wire
from stetho_hub.storage import Archive, AudioStore, Database, views
from stetho_testkit.hub.console import store_exam

DAY = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OLD, NEW, OTHER = (str(uuid.UUID(int=n, version=4)) for n in (201, 202, 203))


def test_the_latest_exams_are_the_readers_newest_first_with_their_answer(
    db: Database, tmp_path: Path
) -> None:
    archive = Archive(db, AudioStore(tmp_path / "audio"))
    store_exam(archive, OLD, "home-a", DAY - timedelta(days=7), (78,), 99)
    store_exam(archive, NEW, "home-a", DAY, (80,), 197)
    store_exam(archive, OTHER, "home-b", DAY, (70,), 295)
    answer = messages.ExamAnswerMessage(
        exam_id=uuid.UUID(OLD), by="dr-a", disposition="gp-visit-24h", at=DAY
    )
    archive.store(wire.classify(topics.exam_answers("home-a"), messages.to_json(answer)))
    mine = views.latest_exams(db, ("home-a",))
    assert [(e.exam_id, e.site, e.answered) for e in mine] == [
        (NEW, "home-a", False), (OLD, "home-a", True),
    ]  # fmt: skip
    assert mine[0].exam["resident"] == "res-1" and mine[0].exam["protocol"] == "heart-4"
    assert {e.exam_id for e in views.latest_exams(db, None)} == {OLD, NEW, OTHER}
    assert len(views.latest_exams(db, None, limit=1)) == 1
    assert views.latest_exams(db, ()) == []  # a doctor with no home sees none
