"""A recording's identity: each field out and back (a journal header), each refusal's words.

The messages, the FLAC tags and the crash journal take their fields from `fields()`; a
journal written by a killed agent comes back through `from_fields` at the next start.
"""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from edge_agent.wire.recording import Capture, RecordingContext

EXAM = uuid.UUID("12345678-1234-5678-1234-567812345678")


def _context(**changes: object) -> RecordingContext:
    base: dict[str, object] = {
        "site": "rosiers",
        "agent": "pi-3",
        "device": "stetho-04",
        "resident": "R-0042",
        "auscultation_site": "aortic",
        "kind": "heart",
    }
    return RecordingContext(**{**base, **changes})  # type: ignore[arg-type]


def test_fields_carry_each_value_under_its_name() -> None:
    ctx = _context(exam_id=EXAM, age_band="2_to_5")
    assert ctx.fields() == {
        "agent": "pi-3",
        "site": "rosiers",
        "device": "stetho-04",
        "resident": "R-0042",
        "auscultation_site": "aortic",
        "kind": "heart",
        "exam_id": EXAM,
        "age_band": "2_to_5",
    }
    assert ctx.where() == {k: v for k, v in ctx.fields().items() if k != "agent"}


def test_timed_monitoring_has_no_exam_and_no_band() -> None:
    ctx = _context(kind="lung")
    assert ctx.exam_id is None and ctx.age_band is None
    assert ctx.where()["exam_id"] is None and ctx.where()["age_band"] is None


@pytest.mark.parametrize("band", ["adult", "under_1", "1_to_2", "2_to_5", "5_to_12", "12_to_16"])
def test_each_known_band_is_taken(band: str) -> None:
    assert _context(age_band=band).age_band == band


def test_an_unknown_band_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        _context(age_band="elderly")
    assert (
        str(caught.value)
        == "age band 'elderly': one of adult, under_1, 1_to_2, 2_to_5, 5_to_12, 12_to_16"
    )


@pytest.mark.parametrize(
    "ctx",
    [
        _context(),
        _context(kind="lung", exam_id=EXAM),
        _context(exam_id=EXAM, age_band="under_1"),
    ],
)
def test_from_fields_gives_back_what_fields_gave(ctx: RecordingContext) -> None:
    written = {k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in ctx.fields().items()}
    assert RecordingContext.from_fields(written) == ctx


def test_a_header_without_the_later_fields_is_timed_monitoring_for_adults() -> None:
    header = {k: v for k, v in _context().fields().items() if k not in ("exam_id", "age_band")}
    back = RecordingContext.from_fields(header)
    assert back == _context()
    empty = {**header, "exam_id": "", "age_band": ""}
    assert RecordingContext.from_fields(empty) == _context()


def test_missing_or_non_text_fields_are_named_in_order() -> None:
    header: dict[str, object] = dict(_context().fields())
    header["resident"] = ""
    header["device"] = 4
    del header["agent"]
    with pytest.raises(ValueError) as caught:
        RecordingContext.from_fields(header)
    assert str(caught.value) == "identity fields missing or not text: agent, device, resident"


def test_a_kind_neither_heart_nor_lung_is_refused() -> None:
    header = {**_context().fields(), "kind": "bowel"}
    with pytest.raises(ValueError) as caught:
        RecordingContext.from_fields(header)
    assert str(caught.value) == "kind 'bowel'"


def test_a_bad_band_in_a_header_is_refused() -> None:
    header = {**_context().fields(), "age_band": "elderly"}
    with pytest.raises(ValueError, match=r"^age band 'elderly'"):
        RecordingContext.from_fields(header)


def test_a_capture_knows_its_length_and_end() -> None:
    capture = Capture(
        uuid.uuid4(), 1000.0, 4000, np.zeros(10000, dtype=np.float32), (), partial=False
    )
    assert capture.duration_s == 2.5
    assert capture.ended_at == 1002.5
