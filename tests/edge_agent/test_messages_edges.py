"""The wire models at their edges: the exact bytes sent, and each malformed message refused.

What a doctor's tablet, the hub or another agent sends is parsed by these models; a bound
that moved would let through a command of no meaning (a recording of 0 s, a live stream for a
day) or refuse a good one. Each bound is checked on both sides, as the agent parses it (JSON,
strict for what doctors send). `to_json` is pinned byte for byte: a key that appears while
unset changes what version-1 readers, which refuse unknown keys, accept.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import BaseModel, ValidationError

from edge_agent.wire import messages

ALERT = "00000000-0000-4000-8000-000000000001"
RECORDING = "00000000-0000-4000-8000-000000000002"
EXAM = "00000000-0000-4000-8000-000000000003"
AT = "2026-12-06T09:00:00Z"
SHA = "0123456789abcdef" * 4


def _command(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema": "stetho.command",
        "schema_version": 1,
        "command_id": ALERT,
        "action": "record_request",
        "device": "steth-1",
        "by": "dr-martin",
        "at": AT,
        "resident": "res-7",
        "auscultation_site": "mitral",
        "duration_s": 30.0,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not _GONE}


def _ack(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema": "stetho.ack",
        "schema_version": 1,
        "alert_id": ALERT,
        "by": "dr-martin",
        "note": "vu",
        "at": AT,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not _GONE}


def _receipt(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "schema": "stetho.receipt",
        "schema_version": 1,
        "recording_id": RECORDING,
        "site": "home-1",
        "device": "steth-1",
        "audio_sha256": SHA,
        "pcm_sha256": SHA,
        "size_bytes": 0,
        "archived_at": AT,
        "hub": "hub-a",
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not _GONE}


_GONE = object()  # a key left out of the payload


def _parse(model: type[BaseModel], payload: dict[str, object], strict: bool = True) -> Any:
    # Not strict: as the hub parses, with None, since strict=False would lift the models' own
    # StrictFloat and let `true` pass as 1.0.
    return model.model_validate_json(json.dumps(payload), strict=strict or None)


def _refused_at(model: type[BaseModel], payload: dict[str, object], strict: bool = True) -> str:
    with pytest.raises(ValidationError) as caught:
        _parse(model, payload, strict)
    return ".".join(str(p) for p in caught.value.errors()[0]["loc"])


# ---- to_json: the bytes that go on the wire


def test_an_ack_without_a_disposition_is_the_version_1_bytes() -> None:
    ack = _parse(messages.AckMessage, _ack())
    assert messages.to_json(ack) == (
        b'{"schema":"stetho.ack","schema_version":1,'
        b'"alert_id":"00000000-0000-4000-8000-000000000001","by":"dr-martin","note":"vu",'
        b'"at":"2026-12-06T09:00:00Z"}'
    )


def test_an_ack_with_a_disposition_carries_it_and_a_note_without_one_stays_null() -> None:
    ack = _parse(messages.AckMessage, _ack(note=None, disposition="hospital-transfer"))
    sent = messages.to_json(ack)
    tail = b'"note":null,"at":"2026-12-06T09:00:00Z","disposition":"hospital-transfer"}'
    assert sent.endswith(tail)


def test_a_command_leaves_out_only_the_request_fields_it_does_not_use() -> None:
    ping = _parse(
        messages.CommandMessage,
        _command(action="ping", device=None, resident=_GONE, auscultation_site=_GONE,
                 duration_s=_GONE),
    )  # fmt: skip
    body = json.loads(messages.to_json(ping))
    assert "resident" not in body and "auscultation_site" not in body and "duration_s" not in body
    assert body["device"] is None and body["timeout_s"] == 120.0  # not in the omitted set
    request = _parse(messages.CommandMessage, _command())
    body = json.loads(messages.to_json(request))
    assert (body["resident"], body["auscultation_site"], body["duration_s"]) == (
        "res-7", "mitral", 30.0,
    )  # fmt: skip


def test_a_message_without_optional_fields_keeps_its_nulls() -> None:
    status = messages.StatusMessage(state="online", site="home-1", agent="pi")
    assert messages.to_json(status) == (
        b'{"schema":"stetho.status","schema_version":1,"state":"online","site":"home-1",'
        b'"agent":"pi","device":null,"at":null,"detail":{}}'
    )


def test_the_bytes_are_utf8_and_parse_back_to_the_same_message() -> None:
    ack = _parse(messages.AckMessage, _ack(note="à revoir, souffle · 2/6"))
    sent = messages.to_json(ack)
    assert '"note":"à revoir, souffle · 2/6"'.encode() in sent
    assert messages.AckMessage.model_validate_json(sent, strict=True) == ack


def _triage(**extra: object) -> messages.TriageMessage:
    return messages.TriageMessage(
        recording_id=UUID(RECORDING), site="home-1", device="steth-1", resident="res-7",
        auscultation_site="mitral", kind="heart", recorded_at=datetime(2026, 12, 6, tzinfo=UTC),
        level="routine", flags=[], **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_timed_monitoring_sends_no_exam_keys_and_an_exam_sends_both() -> None:
    alone = json.loads(messages.to_json(_triage()))
    assert "exam_id" not in alone and "age_band" not in alone
    within = json.loads(messages.to_json(_triage(exam_id=UUID(EXAM), age_band="2_to_5")))
    assert (within["exam_id"], within["age_band"]) == (EXAM, "2_to_5")
    one = json.loads(messages.to_json(_triage(exam_id=UUID(EXAM))))
    assert one["exam_id"] == EXAM and "age_band" not in one


# ---- refuse_duplicate_keys: one message, one meaning for every parser


def test_a_repeated_key_is_refused_and_named_at_any_depth() -> None:
    with pytest.raises(messages.DuplicateKeyError, match=r"^duplicate key\(s\) by$"):
        messages.refuse_duplicate_keys(b'{"by": "a", "note": null, "by": "b"}')
    with pytest.raises(messages.DuplicateKeyError, match=r"^duplicate key\(s\) x$"):
        messages.refuse_duplicate_keys(b'{"detail": [{"x": 1, "x": 2}]}')


def test_every_repeated_key_is_named_once_in_order() -> None:
    with pytest.raises(messages.DuplicateKeyError, match=r"^duplicate key\(s\) a, b$"):
        messages.refuse_duplicate_keys(b'{"b": 1, "a": 1, "b": 2, "a": 2, "b": 3, "c": 0}')


def test_the_same_key_in_two_objects_is_no_repeat() -> None:
    assert messages.refuse_duplicate_keys(b'{"a": {"a": 1}, "b": [{"a": 2}, {"a": 3}]}') is None
    assert messages.refuse_duplicate_keys(b"[]") is None


def test_bad_json_is_a_value_error_but_no_repeat() -> None:
    with pytest.raises(ValueError) as caught:
        messages.refuse_duplicate_keys(b'{"a": ')
    assert not isinstance(caught.value, messages.DuplicateKeyError)
    assert issubclass(messages.DuplicateKeyError, ValueError)


# ---- what a doctor sends: each bound on both sides


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"timeout_s": 0.0}, "timeout_s"),
        ({"timeout_s": 1800.5}, "timeout_s"),
        ({"duration_s": 0.9}, "duration_s"),
        ({"duration_s": 120.5}, "duration_s"),
        ({"device": "d" * 64}, "device"),
        ({"by": ""}, "by"),
        ({"by": "b" * 81}, "by"),
        ({"auscultation_site": "s" * 41}, "auscultation_site"),
        ({"resident": "Marie Curie"}, "resident"),  # a name, never a reference
        ({"resident": "-res"}, "resident"),
        ({"resident": "r" * 64}, "resident"),
        ({"at": "2026-12-06T09:00:00"}, "at"),  # no time zone
        ({"action": "reboot"}, "action"),
        ({"schema_version": 2}, "schema_version"),
        ({"schema": "stetho.ack"}, "schema"),
        ({"command_id": "not-a-uuid"}, "command_id"),
        ({"duration_s": "30"}, "duration_s"),  # strict: a string is not a number
        ({"extra": 1}, "extra"),
    ],
)
def test_a_command_out_of_bounds_is_refused_where_it_is(
    changes: dict[str, object], where: str
) -> None:
    assert _refused_at(messages.CommandMessage, _command(**changes)) == where


def test_a_command_at_each_bound_is_taken() -> None:
    edge = _command(timeout_s=1800.0, duration_s=120.0, device="d" * 63, by="b" * 80,
                    auscultation_site="s" * 40, resident="r" * 63)  # fmt: skip
    command = _parse(messages.CommandMessage, edge)
    assert (command.timeout_s, command.duration_s) == (messages.MAX_LIVE_S, messages.MAX_RECORD_S)
    assert _parse(messages.CommandMessage, _command(duration_s=1.0, by="b")).duration_s == 1.0
    assert _parse(messages.CommandMessage, _command(timeout_s=0.001)).timeout_s == 0.001


@pytest.mark.parametrize("missing", ["resident", "auscultation_site"])
def test_a_record_request_without_whom_or_where_is_refused(missing: str) -> None:
    with pytest.raises(ValidationError) as caught:
        _parse(messages.CommandMessage, _command(**{missing: None}))
    (error,) = caught.value.errors()
    assert error["msg"] == "Value error, record_request needs resident and auscultation_site"
    live = _parse(messages.CommandMessage, _command(action="live_start", **{missing: None}))
    assert live.action == "live_start"  # only a request names whom and where


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"by": ""}, "by"),
        ({"by": "b" * 81}, "by"),
        ({"note": "n" * 1001}, "note"),
        ({"at": "2026-12-06T09:00:00"}, "at"),
        ({"disposition": "wait-and-see"}, "disposition"),
        ({"alert_id": 1}, "alert_id"),
        ({"by": 7}, "by"),
    ],
)
def test_an_ack_out_of_bounds_is_refused_where_it_is(
    changes: dict[str, object], where: str
) -> None:
    assert _refused_at(messages.AckMessage, _ack(**changes)) == where


def test_an_ack_at_each_bound_is_taken_with_every_disposition() -> None:
    for disposition in messages.DISPOSITION_LABELS:
        ack = _parse(messages.AckMessage, _ack(by="b" * 80, note="n" * 1000,
                                               disposition=disposition))  # fmt: skip
        assert ack.disposition == disposition
    assert set(messages.DISPOSITION_LABELS) == {
        "no-action", "gp-visit-24h", "urgent-visit-today", "hospital-transfer", "re-record",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"disposition": None}, "disposition"),  # an answer always decides
        ({"note": "n" * 1001}, "note"),
        ({"by": ""}, "by"),
        ({"at": "2026-12-06T09:00:00"}, "at"),
    ],
)
def test_an_exam_answer_out_of_bounds_is_refused(changes: dict[str, object], where: str) -> None:
    answer: dict[str, object] = {
        "schema": "stetho.exam-answer", "schema_version": 1, "exam_id": EXAM,
        "by": "dr-martin", "disposition": "no-action", "note": None, "at": AT,
    }  # fmt: skip
    assert _parse(messages.ExamAnswerMessage, answer).disposition == "no-action"
    assert _refused_at(messages.ExamAnswerMessage, {**answer, **changes}) == where


# ---- what the hub sends back: a receipt that does not match is never taken


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"audio_sha256": SHA.upper()}, "audio_sha256"),
        ({"audio_sha256": SHA[:63]}, "audio_sha256"),
        ({"pcm_sha256": SHA + "0"}, "pcm_sha256"),
        ({"pcm_sha256": SHA[:63] + "g"}, "pcm_sha256"),
        ({"size_bytes": -1}, "size_bytes"),
        ({"hub": ""}, "hub"),
        ({"hub": "h" * 81}, "hub"),
        ({"site": _GONE}, "site"),
    ],
)
def test_a_receipt_out_of_bounds_is_refused(changes: dict[str, object], where: str) -> None:
    assert _refused_at(messages.ReceiptMessage, _receipt(**changes), strict=False) == where


def test_a_receipt_at_its_bounds_is_taken() -> None:
    receipt = _parse(messages.ReceiptMessage, _receipt(hub="h" * 80), strict=False)
    assert (receipt.size_bytes, receipt.audio_sha256) == (0, SHA)


# ---- what an analysis may carry


def _quality(**changes: object) -> dict[str, object]:
    return {"score": 0.5, "acceptable": True, "problems": [], **changes}


@pytest.mark.parametrize(
    "hums",
    [[0.0], [-50.0], [1000.5], [50.0] * 5, [True], ["50"]],
)
def test_a_hum_of_no_meaning_or_too_many_are_refused(hums: list[object]) -> None:
    where = _refused_at(messages.Quality, _quality(mains_hum_hz=hums), strict=False)
    assert where.startswith("mains_hum_hz")


def test_four_hums_up_to_1000_hz_are_taken() -> None:
    hums = [0.001, 50.0, 60.0, 1000.0]
    quality = _parse(messages.Quality, _quality(mains_hum_hz=hums), strict=False)
    assert quality.mains_hum_hz == hums and len(hums) == messages.MAX_HUMS


@pytest.mark.parametrize("level", [0.0, 1.0, -200.0, -250.0])
def test_a_faint_level_out_of_its_bounds_is_refused(level: float) -> None:
    quality = _quality(faint_level_dbfs=level)
    assert _refused_at(messages.Quality, quality, strict=False) == "faint_level_dbfs"


@pytest.mark.parametrize("score", [-0.01, 1.01])
def test_a_quality_score_outside_0_to_1_is_refused(score: float) -> None:
    assert _refused_at(messages.Quality, _quality(score=score), strict=False) == "score"


def test_a_faint_level_within_its_bounds_is_taken_and_sent() -> None:
    quality = messages.Quality.model_validate(_quality(faint_level_dbfs=-199.5))
    assert json.loads(messages.to_json(quality))["faint_level_dbfs"] == -199.5
    quiet = messages.Quality.model_validate(_quality(faint_level_dbfs=-0.01, score=1.0))
    assert quiet.faint_level_dbfs == -0.01
    assert messages.to_json(messages.Quality.model_validate(_quality())) == (
        b'{"score":0.5,"acceptable":true,"problems":[]}'
    )


@pytest.mark.parametrize(
    ("changes", "where"),
    [({"seq": -1}, "seq"), ({"seq": 2**32}, "seq"), ({"sample_rate_hz": 0}, "sample_rate_hz"),
     ({"sample_rate_hz": 2**32}, "sample_rate_hz"), ({"magic": "STL2"}, "magic")],
)  # fmt: skip
def test_a_live_chunk_header_out_of_its_fields_is_refused(
    changes: dict[str, object], where: str
) -> None:
    header = {"seq": 2**32 - 1, "captured_at": 1.0, "sample_rate_hz": 2**32 - 1}
    assert messages.LiveChunkHeader.model_validate(header).seq == 2**32 - 1
    with pytest.raises(ValidationError) as caught:
        messages.LiveChunkHeader.model_validate({**header, **changes})
    assert caught.value.errors()[0]["loc"] == (where,)


def test_an_exam_reason_longer_than_200_characters_is_refused() -> None:
    exam: dict[str, object] = {
        "exam_id": EXAM, "event": "opened", "state": "open", "site": "home-1", "agent": "pi",
        "resident": "res-7", "staff": "nurse-1", "reason": "r" * 200, "protocol": "cardiac",
        "age_band": "adult", "sites": [], "opened_at": AT, "closed_at": None, "at": AT,
    }  # fmt: skip
    assert messages.ExamMessage.model_validate(exam).reason == "r" * 200
    assert _refused_at(messages.ExamMessage, {**exam, "reason": "r" * 201}, False) == "reason"
    assert _refused_at(messages.ExamMessage, {**exam, "age_band": "old"}, False) == "age_band"
