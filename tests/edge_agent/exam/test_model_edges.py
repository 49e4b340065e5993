"""The exam's rules at their edges: what each refusal tells the nurse, word for word; the
limits of a reason and of a custom protocol; finished exams stay finished; what each site shows.
"""

from __future__ import annotations

import re
import uuid

import pytest

from edge_agent.exam import (
    DeviceBusyError,
    Exam,
    ExamState,
    ExamStateError,
    ResidentImportError,
    SiteRecording,
    UnknownAgeBandError,
    UnknownProtocolError,
    UnknownSiteError,
    resolve_protocol,
)
from edge_agent.exam.errors import CsvProblem, RecordingLengthError, RecordingTooLongError
from edge_agent.exam.model import MAX_REASON, recording_length
from edge_agent.exam.protocols import KNOWN_SITES, MAX_SITES

EXAM_ID = uuid.UUID("00000000-0000-4000-8000-000000000007")


def _exam(**kw: object) -> Exam:
    args: dict[str, object] = dict(
        exam_id=EXAM_ID, resident="res-0001", staff="nurse-a", reason="breathless",
        protocol="heart-4", sites=resolve_protocol("heart-4"), opened_at=1000.0,
    )  # fmt: skip
    args.update(kw)
    return Exam(**args)  # type: ignore[arg-type]


def _rec(site: str, ok: bool) -> SiteRecording:
    return SiteRecording(uuid.uuid4(), site, "steth-1", 1.0, 8.0, ok, "routine" if ok else
                         "rerecord", () if ok else ("no_signal",), False)  # fmt: skip


def _said(error: type[Exception], text: str) -> pytest.RaisesContext[Exception]:
    """The refusal, word for word: the page and the CLI show it as it is."""
    return pytest.raises(error, match=f"^{re.escape(text)}$")


def test_an_unknown_age_band_lists_the_bands_there_are() -> None:
    with _said(UnknownAgeBandError, "age band 'child' is not known: one of adult, under_1, "
               "1_to_2, 2_to_5, 5_to_12, 12_to_16 (adult is 16 and over; the others are a "
               "child's age in years)"):  # fmt: skip
        _exam(age_band="child")


def test_an_exam_needs_a_site_and_a_short_reason() -> None:
    with _said(UnknownSiteError, "an exam needs at least one site"):
        _exam(sites=())
    assert len(_exam(reason="x" * MAX_REASON).reason) == MAX_REASON
    with _said(ExamStateError, f"the reason is limited to {MAX_REASON} characters"):
        _exam(reason="x" * (MAX_REASON + 1))


def test_moves_not_allowed_name_both_states_and_what_is() -> None:
    exam = _exam()
    with _said(ExamStateError, f"exam {EXAM_ID} cannot go from open to done: nothing was "
               "recorded yet: record a site or abandon it"):  # fmt: skip
        exam.close(1.0)
    exam.begin_recording("aortic", 2.0)
    with _said(ExamStateError, f"exam {EXAM_ID} cannot go from recording to open: allowed "
               "from recording: abandoned, done"):  # fmt: skip
        exam.move(ExamState.OPEN, 3.0)
    exam.close(4.0)
    with _said(ExamStateError, f"exam {EXAM_ID} cannot go from done to abandoned: allowed "
               "from done: nothing (the exam is finished)"):  # fmt: skip
        exam.abandon(5.0)


def test_an_abandoned_exam_keeps_when_it_was_abandoned() -> None:
    exam = _exam()
    exam.abandon(1234.5)
    assert exam.state is ExamState.ABANDONED and exam.finished and exam.closed_at == 1234.5


def test_a_site_outside_the_protocol_is_refused_with_the_protocols_sites() -> None:
    with _said(UnknownSiteError, "site 'trachea' is not in this exam's protocol (aortic, "
               "pulmonic, tricuspid, mitral)"):  # fmt: skip
        _exam().begin_recording("trachea", 1.0)
    with _said(UnknownSiteError, f"site 'trachea' is not in exam {EXAM_ID}"):
        _exam().add_recording(_rec("trachea", True))


def test_a_recording_kept_opens_the_exam_but_never_reopens_a_finished_one() -> None:
    exam = _exam()
    exam.add_recording(_rec("aortic", True))  # redelivered after a restart, before any start
    assert exam.state is ExamState.RECORDING
    exam.close(2.0)
    late = _rec("pulmonic", True)
    exam.add_recording(late)
    assert exam.state is ExamState.DONE and exam.closed_at == 2.0
    assert exam.recordings[-1] == late


def test_each_site_shows_its_attempts_pending_rerecord_or_done() -> None:
    exam = _exam()
    exam.add_recording(_rec("pulmonic", False))
    exam.add_recording(_rec("pulmonic", False))
    aortic, pulmonic, *_ = exam.statuses()
    assert (aortic.state, aortic.attempts, aortic.counted) == ("pending", 0, None)
    assert (pulmonic.state, pulmonic.attempts, pulmonic.counted) == ("rerecord", 2, None)


def test_protocol_refusals_say_what_to_give_instead() -> None:
    with _said(UnknownProtocolError, "protocol 'heart-4' is built in: give no site list"):
        resolve_protocol("heart-4", ["mitral"])
    with _said(UnknownProtocolError, "unknown protocol 'heart-5'; choose heart-4, "
               "lung-anterior, lung-posterior, full or custom with sites"):  # fmt: skip
        resolve_protocol("heart-5")
    with _said(UnknownProtocolError, "a custom protocol needs at least one site"):
        resolve_protocol("custom", [" ", ""])
    with _said(UnknownProtocolError, "a custom protocol lists each site once"):
        resolve_protocol("custom", ["mitral", " mitral"])
    with _said(UnknownSiteError, f"unknown auscultation site 'apex'; known: "
               f"{', '.join(KNOWN_SITES)}"):  # fmt: skip
        resolve_protocol("custom", ["apex"])


def test_a_custom_protocol_longer_than_the_limit_is_refused_as_too_long() -> None:
    sites = [KNOWN_SITES[i % len(KNOWN_SITES)] for i in range(MAX_SITES + 1)]
    with _said(UnknownProtocolError, f"a custom protocol has at most {MAX_SITES} sites"):
        resolve_protocol("custom", sites)
    # At the limit the length is fine; with only 13 known sites it must repeat one.
    with _said(UnknownProtocolError, "a custom protocol lists each site once"):
        resolve_protocol("custom", sites[:MAX_SITES])


def test_refusals_carry_what_a_page_words_in_the_nurses_language() -> None:
    busy = DeviceBusyError("steth-2", "nurse-b")
    assert (busy.device, busy.holder) == ("steth-2", "nurse-b")
    assert str(busy) == "stethoscope steth-2 is in use by nurse-b"
    long = RecordingTooLongError("steth-1", 15.0, 7, 131072)
    assert (long.device, long.duration_s, long.max_s) == ("steth-1", 15.0, 7)
    assert str(long) == (
        "not started: the hospital's broker takes recordings of at most 7 s from stethoscope "
        "steth-1 (131072 bytes a message), and this one would last 15 s; ask the care home's "
        "IT contact to have the hospital raise the broker's maximum packet size, or to shorten "
        "exam.duration_s"
    )
    bad = ResidentImportError(
        [
            CsvProblem("line 3: the label is empty", "csv_no_label"),
            CsvProblem("line 4: reference repeats line 2", "csv_repeat"),
        ]
    )
    assert str(bad) == (
        "residents CSV refused, nothing imported:\n"
        "  - line 3: the label is empty\n  - line 4: reference repeats line 2"
    )


@pytest.mark.parametrize(
    ("asked", "seconds"),
    [(None, None), ("", None), ("  ", None), ("1", 1.0), (" 30 ", 30.0), ("120", 120.0),
     (1, 1.0), (2.5, 2.5), (120.0, 120.0)],
)  # fmt: skip
def test_a_recording_length_in_range_or_none_is_taken(asked: object, seconds: float | None) -> None:
    taken = recording_length(asked)
    assert taken == seconds and (taken is None or type(taken) is float)


@pytest.mark.parametrize(
    ("asked", "shown"),
    [("ten", "ten"), ("nan", "nan"), ("inf", "inf"), ("-5", "-5"), ("0.99", "0.99"),
     ("120.01", "120.01"), (0, "0"), (121, "121"), (float("nan"), "nan"), (True, "True"),
     ("9" * 21, "9" * 20 + "…"), ("9" * 30, "9" * 20 + "…"), (b"30", "b'30'"), ([30], "[30]")],
)  # fmt: skip
def test_a_recording_length_out_of_range_or_no_number_is_refused(asked: object, shown: str) -> None:
    with pytest.raises(RecordingLengthError) as refused:
        recording_length(asked)
    exc = refused.value
    assert (exc.words, exc.values) == ("bad_duration", {"low": "1", "high": "120", "asked": shown})
    assert str(exc) == f"a recording lasts 1 to 120 seconds: {shown!r} is not such a number"


def test_a_recording_length_of_twenty_characters_is_shown_whole() -> None:
    with pytest.raises(RecordingLengthError) as refused:
        recording_length("x" * 20)
    assert refused.value.values["asked"] == "x" * 20
