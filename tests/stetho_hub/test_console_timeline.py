"""The resident's timeline and the exam page's site cards, as plain data in, markup out."""

from __future__ import annotations

from typing import Any

from stetho_hub.console import pages_exam, timeline
from stetho_hub.console.words import words
from stetho_hub.storage.exam_views import ExamView, ResidentExam, counted_ids


def _analysis(heart: float | None, breaths: float | None, level: str, *codes: str) -> Any:
    flags = [{"code": c, "reason": f"{c} found", "value": 1.0, "threshold": 0.5} for c in codes]
    return {
        "heart": {"rate_bpm": heart} if heart is not None else None,
        "lung": {"respiratory_rate_bpm": breaths} if breaths is not None else None,
        "triage": {"level": level, "flags": flags},
    }


def _exam(exam_id: str, day: int, *analyses: Any) -> ResidentExam:
    doc = {"opened_at": f"2026-11-{day:02d}T09:00:00Z", "protocol": "full"}
    return ResidentExam(exam_id, doc, tuple((f"r{i}", a) for i, a in enumerate(analyses)))


def test_a_point_takes_the_median_rates_the_worst_level_and_every_flag_once() -> None:
    exam = _exam("e1", 3, _analysis(70, None, "routine"), _analysis(90, 20, "review", "wheeze"),
                 _analysis(80, 30, "urgent", "wheeze", "crackles"))  # fmt: skip
    p = timeline.point(exam)
    assert (p.heart_bpm, p.breaths_bpm, p.level) == (80, 25, "urgent")
    assert p.flags == ("wheeze", "crackles")


def test_the_svg_links_each_exam_and_marks_the_current_one() -> None:
    names = {"heart": "heart", "breaths": "breaths", "flags": "findings", "title": "t"}
    exams = [_exam("e1", 1, _analysis(70, 18, "routine")),
             _exam("e2", 8, _analysis(120, 28, "urgent", "tachycardia"))]  # fmt: skip
    svg = timeline.svg(exams, "e2", "en", names)
    assert svg.count('<a href="/exams/e1"') == 2 and svg.count('<a href="/exams/e2"') == 2
    # Each link is named for a screen reader, in a group (an image would hide its links).
    assert svg.count('aria-label="heart 120 · ') == 1 and svg.count('aria-label="breaths ') == 2
    assert 'role="group" ' in svg and 'role="img"' not in svg
    assert svg.count('r="5"') == 2  # the current exam's two points are larger
    assert svg.count('class="hit"') == 4 and f'r="{timeline.HIT_R}"' in svg  # tap targets
    assert 'text-anchor="start"' in svg and 'text-anchor="end"' in svg  # labels stay inside
    assert timeline.svg([], "e1", "en", names) == ""
    assert "<script" not in svg and "&lt;" not in svg


def test_a_site_whose_recording_has_not_arrived_says_so() -> None:
    doc = {"exam_id": "e1", "resident": "res-1", "protocol": "heart-4", "state": "recording",
           "sites": [{"auscultation_site": "aortic", "state": "done", "recording_ids": ["r1"],
                      "counted_recording_id": "r1"},
                     {"auscultation_site": "mitral", "state": "pending", "recording_ids": [],
                      "counted_recording_id": None}]}  # fmt: skip
    view = ExamView("e1", "home-a", doc, {})
    html = pages_exam.exam(view, [], "dr-a", "t", "fr", words("fr"), {"heart": (25.0, 400.0)})
    assert "pas encore arrivé" in html and "Pas encore enregistré" in html
    assert "aortique" in html and ">Alertes<" in html and counted_ids(doc) == ["r1"]


def test_earlier_exams_and_the_timeline_name_findings_in_the_doctors_language() -> None:
    exams = [_exam("e1", 1, _analysis(70, 18, "review", "heart_murmur", "lung_crackles")),
             _exam("e2", 8, _analysis(72, 17, "routine"))]  # fmt: skip
    doc = {"exam_id": "e2", "resident": "res-1", "protocol": "full", "state": "done",
           "sites": []}  # fmt: skip
    view = ExamView("e2", "home-a", doc, {})
    bands = {"heart": (25.0, 400.0)}
    french = pages_exam.exam(view, exams, "dr-a", "t", "fr", words("fr"), bands)
    english = pages_exam.exam(view, exams, "dr-a", "t", "en", words("en"), bands)
    assert "souffle, crépitants" in french and "resp/min" in french
    assert "murmur, crackles" in english and "breaths/min" in english
    for html in (french, english):  # the list and the timeline's hover title alike
        assert "heart_murmur" not in html and "lung_crackles" not in html
        assert html.count("souffle, crépitants" if html is french else "murmur, crackles") == 2


def test_a_protocol_the_console_does_not_know_is_shown_as_it_came() -> None:
    # The wire's protocol is any string (a newer agent's); before, it went through str.format:
    # "night-{0}" raised IndexError ("{round}" KeyError) and the exam page answered 500.
    exams = [ResidentExam("e1", {"opened_at": "2026-11-01T09:00:00Z", "protocol": "night-{round}"},
                          ())]  # fmt: skip
    doc = {"exam_id": "e2", "resident": "res-1", "protocol": "night-{0}", "state": "done",
           "sites": []}  # fmt: skip
    view = ExamView("e2", "home-a", doc, {})
    html = pages_exam.exam(view, exams, "dr-a", "t", "fr", words("fr"), {"heart": (25.0, 400.0)})
    assert "· night-{0} <small>" in html and "</a> night-{round} · " in html
