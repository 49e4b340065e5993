"""The exam store on a real SQLite file: private files, survives a reopen, CSV import."""

from __future__ import annotations

import stat
import uuid
from pathlib import Path

import pytest

from edge_agent.exam import (
    Exam,
    ExamState,
    ExamStore,
    Resident,
    ResidentImportError,
    SiteRecording,
    UnknownExamError,
    UnknownResidentError,
    parse_residents_csv,
    resolve_protocol,
)


def _store(tmp_path: Path) -> ExamStore:
    return ExamStore(tmp_path / "state" / "exams.sqlite3")


def test_files_are_private(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_residents([Resident("res-1", "Room 1")])
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    for f in (tmp_path / "state").iterdir():
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    store.close()


def test_exam_survives_a_reopen(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.add_residents([Resident("res-1", "Room 1")])
    exam = Exam(uuid.uuid4(), "res-1", "nurse-a", "cough", "heart-4", resolve_protocol("heart-4"),
                10.0)  # fmt: skip
    store.save_exam(exam)
    exam.begin_recording("aortic", 11.0)
    rec = SiteRecording(uuid.uuid4(), "aortic", "steth-1", 11.0, 8.0, True, "routine", (), False,
                        {"rate_bpm": 72.0})  # fmt: skip
    exam.add_recording(rec)
    store.save_exam(exam)
    store.add_answer(exam.exam_id, {"by": "dr-b", "disposition": "gp-visit-24h"})
    store.close()

    again = _store(tmp_path)
    loaded = again.exam(exam.exam_id)
    assert loaded.state is ExamState.RECORDING
    assert loaded.recordings == [rec] and loaded.recordings[0].findings == {"rate_bpm": 72.0}
    assert [e.exam_id for e in again.exams((ExamState.RECORDING,))] == [exam.exam_id]
    assert again.answers(exam.exam_id) == [{"by": "dr-b", "disposition": "gp-visit-24h"}]
    with pytest.raises(UnknownExamError):
        again.exam(uuid.uuid4())
    again.close()


def test_residents_search_and_unknown(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert store.add_residents([Resident("res-1", "Room 1 Mme A"), Resident("res-2", "Room 2")]) \
        == (2, 0)  # fmt: skip
    assert store.add_residents([Resident("res-2", "Room 2b")]) == (0, 1)
    assert [r.ref for r in store.search_residents("mme")] == ["res-1"]
    assert store.resident("res-2").label == "Room 2b"
    with pytest.raises(UnknownResidentError, match="add or import"):
        store.resident("res-9")
    with pytest.raises(UnknownResidentError, match="never a name"):
        store.resident("Mrs Smith")
    store.close()


def test_csv_import_lists_every_bad_line() -> None:
    good = parse_residents_csv('\ufeffref,label\nres-1,Room 1\n\nres-2,"Room 2, window"\n')
    assert good == [Resident("res-1", "Room 1"), Resident("res-2", "Room 2, window")]
    with pytest.raises(ResidentImportError) as caught:
        parse_residents_csv("ref,label\nres-1,A\nRes 2,B\nres-1,C\nres-3,\nres-4,a,b\n")
    assert caught.value.problems == [
        "line 3: the reference must be 1-63 lower-case letters, digits and dashes",
        "line 4: reference repeats line 2",
        "line 5: the label is empty",
        "line 6: expected 2 fields (ref,label), found 3",
    ]
    with pytest.raises(ResidentImportError, match="header"):
        parse_residents_csv("name,room\nA,1\n")
