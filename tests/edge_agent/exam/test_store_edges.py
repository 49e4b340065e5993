"""The exam store at its edges: an exam reloads exactly as saved, lists newest first within a
limit, searches take the nurse's text literally, old files are made private, and every failure
names what was being done (docs/care-home.md §4: mode 0700, files 0600, WAL, full sync)."""

from __future__ import annotations

import os
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from edge_agent.exam import (
    Exam,
    ExamState,
    ExamStorageError,
    ExamStore,
    Resident,
    SiteRecording,
    UnknownExamError,
    resolve_protocol,
)
from edge_agent.exam.store import exam_dir


def _exam(opened_at: float = 10.0, resident: str = "res-1") -> Exam:
    return Exam(uuid.uuid4(), resident, "nurse-a", "cough", "full", resolve_protocol("full"),
                opened_at, age_band="5_to_12")  # fmt: skip


def _rec(site: str, ok: bool, alert_id: str | None = None) -> SiteRecording:
    return SiteRecording(uuid.uuid4(), site, "steth-2", 11.5, 8.0, ok, "urgent" if ok else None,
                         () if ok else ("noise", "mains_hum"), not ok,
                         {"rate_bpm": 130.0}, alert_id)  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ExamStore]:
    store = ExamStore(tmp_path / "exams" / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1")])
    yield store
    store.close()


def test_the_exams_live_in_their_own_folder_of_the_state_dir() -> None:
    assert exam_dir(Path("/var/lib/stetho-edge")) == Path("/var/lib/stetho-edge/exams")


def test_an_exam_reloads_exactly_as_it_was_saved(store: ExamStore, tmp_path: Path) -> None:
    exam = _exam()
    store.save_exam(exam)
    exam.add_recording(_rec("aortic", False))
    exam.add_recording(_rec("aortic", True, "alert-7"))
    store.save_exam(exam)
    exam.close(99.5)
    store.save_exam(exam)
    store.close()
    again = ExamStore(tmp_path / "exams" / "exams.sqlite3")
    loaded = again.exam(exam.exam_id)
    assert loaded == exam  # every field, the recordings in order (findings aside)
    assert (loaded.age_band, loaded.closed_at) == ("5_to_12", 99.5)
    assert [r.findings for r in loaded.recordings] == [{"rate_bpm": 130.0}] * 2
    assert loaded.recordings[1].alert_id == "alert-7" and loaded.recordings[0].alert_id is None
    again.close()


def test_exams_are_listed_newest_first_by_state_and_within_a_limit(store: ExamStore) -> None:
    exams = [_exam(opened_at=float(n)) for n in range(101)]
    for n, exam in enumerate(exams):
        if n % 3 == 1:
            exam.begin_recording("aortic", n + 0.5)
        elif n % 3 == 2:
            exam.abandon(n + 0.5)
        store.save_exam(exam)
    listed = store.exams()
    assert len(listed) == 100 and listed[0].exam_id == exams[100].exam_id  # the oldest left out
    assert [e.opened_at for e in listed] == sorted((e.opened_at for e in listed), reverse=True)
    unfinished = store.exams((ExamState.OPEN, ExamState.RECORDING), limit=1000)
    assert {e.exam_id for e in unfinished} == {e.exam_id for e in exams if not e.finished}
    assert len(store.exams((ExamState.ABANDONED,), limit=1000)) == 33


def test_an_exam_that_is_not_there_is_named(store: ExamStore) -> None:
    missing = uuid.uuid4()
    with pytest.raises(UnknownExamError, match=f"^no exam {missing} on this Pi$"):
        store.exam(missing)


def test_an_exam_for_a_resident_the_pi_does_not_know_is_refused(store: ExamStore) -> None:
    exam = _exam(resident="res-9")
    with pytest.raises(ExamStorageError, match=f"^saving exam {exam.exam_id}: FOREIGN KEY"):
        store.save_exam(exam)


def test_a_search_takes_the_nurses_percent_and_underscore_as_no_wildcard(
    store: ExamStore,
) -> None:
    store.add_residents([Resident("res-2", "Room 102"), Resident("res-3", "Room 12")])
    assert [r.label for r in store.search_residents()] == ["Room 1", "Room 102", "Room 12"]
    assert [r.label for r in store.search_residents("1%2")] == ["Room 12"]
    assert [r.label for r in store.search_residents("1_2")] == ["Room 12"]


def test_files_an_older_agent_left_readable_are_made_private(tmp_path: Path) -> None:
    folder = tmp_path / "state" / "exams"  # neither folder there yet
    path = folder / "exams.sqlite3"
    ExamStore(path).close()
    for suffix in ("", "-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        extra.touch()
        os.chmod(extra, 0o644)
    os.chmod(folder, 0o755)  # noqa: S103 - an older agent's folder, made private again
    store = ExamStore(path)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for suffix in ("", "-wal", "-shm"):
        assert stat.S_IMODE(path.with_name(path.name + suffix).stat().st_mode) == 0o600, suffix
    store.close()


def test_the_database_is_in_wal_mode_with_full_sync(store: ExamStore, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "exams" / "exams.sqlite3")
    assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    other.close()
    assert store._db.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL


def test_a_file_that_cannot_be_opened_is_named(tmp_path: Path) -> None:
    (tmp_path / "exams").write_text("a file where the folder should be")
    path = tmp_path / "exams" / "exams.sqlite3"
    with pytest.raises(ExamStorageError, match=f"^cannot open {path}: "):
        ExamStore(path)


def test_a_storage_failure_names_what_was_being_done(store: ExamStore) -> None:
    exam = _exam()
    store.close()
    calls: list[tuple[str, Callable[[], object]]] = [
        ("saving residents", lambda: store.add_residents([Resident("res-2", "Room 2")])),
        ("reading residents", lambda: store.resident("res-1")),
        ("searching residents", store.search_residents),
        (f"saving exam {exam.exam_id}", lambda: store.save_exam(exam)),
        ("saving an answer", lambda: store.add_answer(exam.exam_id, {"by": "dr-b"})),
        ("reading answers", lambda: store.answers(exam.exam_id)),
        ("reading an exam", lambda: store.exam(exam.exam_id)),
        ("listing exams", store.exams),
    ]
    for doing, call in calls:
        with pytest.raises(ExamStorageError, match=f"^{doing}: "):
            call()
