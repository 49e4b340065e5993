"""The exam state machine, protocols and the nurse's verdict: plain data in, plain data out."""

from __future__ import annotations

import uuid

import pytest

from edge_agent.exam import (
    Exam,
    ExamState,
    ExamStateError,
    SiteRecording,
    UnknownAgeBandError,
    UnknownProtocolError,
    UnknownSiteError,
    resolve_protocol,
)


def _exam(**kw: object) -> Exam:
    args: dict[str, object] = dict(
        exam_id=uuid.uuid4(), resident="res-0001", staff="nurse-a", reason="breathless",
        protocol="heart-4", sites=resolve_protocol("heart-4"), opened_at=1000.0,
    )  # fmt: skip
    args.update(kw)
    return Exam(**args)  # type: ignore[arg-type]


def _rec(site: str, ok: bool, at: float = 1.0) -> SiteRecording:
    return SiteRecording(uuid.uuid4(), site, "steth-1", at, 8.0, ok, "routine" if ok else
                         "rerecord", () if ok else ("no_signal",), False)  # fmt: skip


def test_builtin_protocols_use_known_sites() -> None:
    assert resolve_protocol("heart-4") == ("aortic", "pulmonic", "tricuspid", "mitral")
    full = resolve_protocol("full")
    assert len(full) == len(set(full)) == 13
    assert resolve_protocol("custom", ["mitral", "trachea"]) == ("mitral", "trachea")


@pytest.mark.parametrize(
    ("name", "sites", "error"),
    [
        ("heart-5", [], UnknownProtocolError),
        ("custom", [], UnknownProtocolError),
        ("custom", ["mitral", "mitral"], UnknownProtocolError),
        ("custom", ["apex"], UnknownSiteError),
        ("heart-4", ["mitral"], UnknownProtocolError),
    ],
)
def test_bad_protocols_are_refused(name: str, sites: list[str], error: type[Exception]) -> None:
    with pytest.raises(error):
        resolve_protocol(name, sites)


def test_walk_through_states_and_last_accepted_recording_counts() -> None:
    exam = _exam()
    assert exam.state is ExamState.OPEN and exam.next_site() == "aortic"
    exam.begin_recording("aortic", 1001.0)
    assert exam.state is ExamState.RECORDING
    exam.add_recording(_rec("aortic", True))
    bad = _rec("pulmonic", False)
    exam.add_recording(bad)
    assert exam.site_status("pulmonic").state == "rerecord"
    assert exam.next_site() == "pulmonic"
    good = _rec("pulmonic", True)
    exam.add_recording(good)
    exam.add_recording(good)  # redelivered: kept once
    status = exam.site_status("pulmonic")
    assert status.state == "done" and status.attempts == 2 and status.counted == good
    assert exam.next_site() == "tricuspid"
    exam.close(1100.0)
    assert exam.state is ExamState.DONE and exam.closed_at == 1100.0


def test_transitions_not_allowed_say_why() -> None:
    exam = _exam()
    with pytest.raises(ExamStateError, match="nothing was recorded yet"):
        exam.close(1.0)
    exam.abandon(2.0)
    with pytest.raises(ExamStateError, match="finished"):
        exam.move(ExamState.RECORDING, 3.0)
    with pytest.raises(ExamStateError, match="start a new exam"):
        exam.check_recordable("aortic")


def test_site_outside_the_protocol_is_refused() -> None:
    with pytest.raises(UnknownSiteError, match="not in this exam's protocol"):
        _exam().begin_recording("trachea", 1.0)


def test_a_vague_child_band_is_refused_a_childs_age_band_is_kept() -> None:
    with pytest.raises(UnknownAgeBandError, match="child's age in years"):
        _exam(age_band="child")
    assert _exam(age_band="2_to_5").age_band == "2_to_5"
