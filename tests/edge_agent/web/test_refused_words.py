"""The exam layer's refusals, each named for the nurses' page and worded in French there."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable

import pytest

from edge_agent.exam import Exam, ExamState, resolve_protocol
from edge_agent.exam._db import translated
from edge_agent.exam.errors import ExamError, ExamStorageError, ResidentImportError
from edge_agent.exam.model import MAX_REASON
from edge_agent.exam.residents import MAX_LABEL, Resident, check_ref, parse_residents_csv
from edge_agent.web.i18n import CATALOGUES, refused


def _exam(**kw: object) -> Exam:
    args: dict[str, object] = dict(
        exam_id=uuid.UUID(int=7, version=4), resident="res-1", staff="nurse-a", reason="",
        protocol="heart-4", sites=resolve_protocol("heart-4"), opened_at=1000.0)  # fmt: skip
    args.update(kw)
    return Exam(**args)  # type: ignore[arg-type]


def _finished() -> Exam:
    exam = _exam()
    exam.move(ExamState.ABANDONED, 1001.0)
    return exam


CASES: dict[str, Callable[[], object]] = {
    "no_site": lambda: resolve_protocol("custom", ()),
    "reason_too_long": lambda: _exam(reason="x" * (MAX_REASON + 1)),
    "nothing_recorded": lambda: _exam().move(ExamState.DONE, 1001.0),
    "exam_moved": lambda: _finished().move(ExamState.RECORDING, 1002.0),
    "exam_finished": lambda: _finished().check_recordable("aortic"),
    "no_label": lambda: Resident("res-1", " "),
    "label_too_long": lambda: Resident("res-1", "x" * (MAX_LABEL + 1)),
    "bad_ref": lambda: check_ref("Mme D"),
}


@pytest.mark.parametrize("words", sorted(CASES))
def test_each_refusal_a_nurse_can_meet_is_worded_in_french(words: str) -> None:
    with pytest.raises(ExamError) as caught:
        CASES[words]()
    exc = caught.value
    assert exc.words == words
    french = refused(exc.words, exc.values, str(exc), "fr")
    assert french == CATALOGUES["fr"][f"refused.{words}"].format(
        **{k: CATALOGUES["fr"].get(f"exam.state.{v}", v) for k, v in exc.values.items()}
    )
    assert "{" not in french and french != str(exc)
    assert refused(exc.words, exc.values, str(exc), "en") == str(exc)  # the code's English


def test_a_finished_exam_is_named_as_the_page_names_its_state() -> None:
    with pytest.raises(ExamError) as caught:
        _finished().check_recordable("aortic")
    said = refused(caught.value.words, caught.value.values, str(caught.value), "fr")
    assert said == "Cet examen est abandonné : commencez-en un nouveau."


def test_every_csv_problem_has_french_words() -> None:
    text = "ref,label\nRes 1,a\nres-2,\nres-3,a\nres-3,b\nres-4,a,b\nres-5," + "x" * 81 + "\n"
    with pytest.raises(ResidentImportError) as caught:
        parse_residents_csv(text)
    for problem in caught.value.worded:
        assert f"refused.{problem.words}" in CATALOGUES["fr"], problem
    for text in ("a,b\n", "ref,label\n" + 'res-1,"' + "x" * 200_000):
        with pytest.raises(ResidentImportError) as caught:
            parse_residents_csv(text)
        assert all(f"refused.{p.words}" in CATALOGUES["fr"] for p in caught.value.worded)


def test_storage_failures_are_worded_for_the_it_contact() -> None:
    with pytest.raises(ExamStorageError) as caught, translated("saving exam x"):
        raise sqlite3.OperationalError("disk I/O error")
    exc = caught.value
    assert str(exc) == "saving exam x: disk I/O error"  # the log and the CLI keep the cause
    assert "contact informatique" in refused(exc.words, exc.values, str(exc), "fr")


def test_a_refusal_without_words_or_unknown_words_stays_the_code_s_english() -> None:
    assert refused(None, {}, "plain English", "fr") == "plain English"
    assert refused("not_in_the_catalogue", {}, "plain English", "fr") == "plain English"
