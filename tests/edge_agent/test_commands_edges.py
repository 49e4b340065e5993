"""What the agent takes over MQTT, bound by bound: each refusal's words, each count, each log line.

In-process and direct (no broker): the tests under mutation of `edge_agent/runtime/commands.py`.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from edge_agent.errors import AgentError, RejectedInboundError
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.runtime import commands
from edge_agent.runtime.commands import (
    COMMAND_MAX_AGE_S,
    KEEP_ACKS,
    KNOWN_ALERTS,
    LOG_FIRST_REJECTIONS,
    MAX_CLOCK_SKEW_S,
    MAX_INBOUND_BYTES,
    AckRecord,
    InboundHandler,
    parse_ack,
    parse_command,
    parse_exam_answer,
    parse_receipt,
)
from edge_agent.transport.mqtt import ReceivedMessage
from edge_agent.wire import messages, topics

SITE, AGENT, DEVICE = "home-c", "pi-c", "steth-a"
DEVICES = frozenset({DEVICE})
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ALERT = "00000000-0000-4000-8000-0000000000a1"


def command(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"schema": "stetho.command", "schema_version": 1,
        "command_id": "00000000-0000-4000-8000-0000000000c1", "action": "ping",
        "device": None, "timeout_s": 5, "by": "dr-a", "at": NOW.isoformat()}  # fmt: skip
    return {**base, **changes}


def ack(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"schema": "stetho.ack", "schema_version": 1, "by": "dr-a",
        "alert_id": ALERT, "note": None, "at": NOW.isoformat()}  # fmt: skip
    return {**base, **changes}


def answer(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"schema": "stetho.exam-answer", "schema_version": 1,
        "exam_id": "00000000-0000-4000-8000-0000000000e1", "by": "dr-a",
        "disposition": "no-action", "note": None, "at": NOW.isoformat()}  # fmt: skip
    return {**base, **changes}


def receipt(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"schema": "stetho.receipt", "schema_version": 1,
        "recording_id": "00000000-0000-4000-8000-000000000001", "site": SITE,
        "device": DEVICE, "audio_sha256": "a" * 64, "pcm_sha256": "b" * 64, "size_bytes": 1,
        "archived_at": "2026-01-01T00:00:00Z", "hub": "hub-1"}  # fmt: skip
    return {**base, **changes}


def body(document: dict[str, object]) -> bytes:
    return json.dumps(document).encode()


def cmd(
    document: dict[str, object] | bytes, target: str = AGENT, now: datetime | None = NOW
) -> tuple[str | None, messages.CommandMessage]:
    payload = document if isinstance(document, bytes) else body(document)
    return parse_command(topics.command(SITE, target), payload, SITE, AGENT, DEVICES, now=now)


def refusal(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(RejectedInboundError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value)


class FakeLive:
    """The calls a LiveStreamer receives, with their arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def start(self, device: str, timeout_s: float, requested_by: str) -> None:
        self.calls.append(("start", device, timeout_s, requested_by))

    def stop(self, device: str, reason: str) -> None:
        self.calls.append(("stop", device, reason))


class Handler:
    """An InboundHandler with every callback recorded."""

    def __init__(self, **kwargs: object) -> None:
        self.live = FakeLive()
        self.refreshed = 0
        live = cast(LiveStreamer, self.live)
        self.inbound = InboundHandler(SITE, AGENT, DEVICES, live, self.refresh, **kwargs)  # type: ignore[arg-type]

    def refresh(self) -> None:
        self.refreshed += 1

    def send(self, topic: str, payload: bytes) -> None:
        self.inbound.handle(ReceivedMessage(topic, payload, False, None, ()))


# ---- parsing: sizes, duplicate keys, strict types, the first error named


def test_a_payload_of_exactly_the_limit_is_parsed_and_one_byte_more_is_refused() -> None:
    document = ack(by="d" * 80)
    room = MAX_INBOUND_BYTES - len(body(document))
    exact = body(document).replace(b'"note": null', b'"note": null' + b" " * room)
    assert len(exact) == MAX_INBOUND_BYTES
    assert parse_ack(exact).by == "d" * 80
    over = exact + b" "
    assert refusal(parse_ack, over) == (
        f"payload of {MAX_INBOUND_BYTES + 1} bytes exceeds {MAX_INBOUND_BYTES}"
    )


@pytest.mark.parametrize(
    ("parse", "document"),
    [
        (parse_ack, ack()),
        (parse_exam_answer, answer()),
        (lambda p: parse_receipt(p, SITE), receipt()),
    ],
)
def test_each_parser_refuses_duplicate_keys_and_oversize_before_the_schema(
    parse: object, document: dict[str, object]
) -> None:
    doubled = body(document)[:-1] + b', "by": "dr-b"}'
    if "by" not in document:
        doubled = body(document)[:-1] + b', "hub": "hub-2"}'
    said = refusal(parse, doubled)
    assert said in ("invalid JSON: duplicate key(s) by", "invalid JSON: duplicate key(s) hub")
    huge = b" " * MAX_INBOUND_BYTES + body(document)
    assert refusal(parse, huge) == f"payload of {len(huge)} bytes exceeds {MAX_INBOUND_BYTES}"


def test_a_command_with_a_duplicate_key_is_refused_whatever_its_topic() -> None:
    doubled = body(command())[:-1] + b', "action": "live_stop"}'
    assert refusal(cmd, doubled) == "invalid JSON: duplicate key(s) action"
    assert refusal(cmd, doubled, "nobody") == "invalid JSON: duplicate key(s) action"


def test_each_parser_names_the_first_error_its_field_and_the_count() -> None:
    assert refusal(parse_ack, b"not json") == (
        "invalid ack: payload: Invalid JSON: expected ident at line 1 column 2 (1 error(s))"
    )
    assert (
        refusal(parse_ack, b"[]") == "invalid ack: payload: Input should be an object (1 error(s))"
    )
    assert refusal(parse_ack, body({"schema": "stetho.ack"})) == (
        "invalid ack: alert_id: Field required (3 error(s))"
    )
    assert refusal(parse_exam_answer, body(answer(disposition="maybe"))).startswith(
        "invalid exam answer: disposition: Input should be "
    )
    assert refusal(cmd, body(command(timeout_s="2"))) == (
        "invalid command: timeout_s: Input should be a valid number (1 error(s))"
    )
    assert refusal(parse_receipt, body({}), SITE) == "malformed receipt: 8 error(s)"


def test_acks_and_answers_are_strict_where_receipts_are_lax() -> None:
    # Strict: a string where a number or a UUID object belongs, a naive time, are refused.
    stamped = NOW.timestamp()
    assert refusal(parse_ack, body(ack(at=stamped))).startswith("invalid ack: at: ")
    assert refusal(parse_exam_answer, body(answer(at=stamped))).startswith(
        "invalid exam answer: at: "
    )
    assert parse_ack(body(ack())).alert_id == uuid.UUID(ALERT)
    assert parse_exam_answer(body(answer())).disposition == "no-action"
    # The hub's receipt is parsed laxly: a size written as a string is still a size.
    assert parse_receipt(body(receipt(size_bytes="7")), SITE).size_bytes == 7


def test_a_receipt_for_another_care_home_is_refused_by_name() -> None:
    assert refusal(parse_receipt, body(receipt(site="home-z")), SITE) == (
        "receipt for another care home ('home-z')"
    )
    assert parse_receipt(body(receipt()), SITE).site == SITE


# ---- commands: topic, target, device, age


def test_the_command_topic_gives_the_target_and_anything_else_is_refused() -> None:
    assert cmd(command(action="live_stop"), DEVICE) == (
        DEVICE,
        cmd(command(action="live_stop"), DEVICE)[1],
    )
    for topic in (
        f"stetho/v1/{SITE}/{AGENT}/cmdx",  # the right prefix, not the suffix
        f"stetho/v2/{SITE}/{AGENT}/cmd",  # the suffix, not the prefix
        f"stetho/v1/other/{AGENT}/cmd",
        topics.acks(SITE),
    ):
        said = refusal(parse_command, topic, body(command()), SITE, AGENT, DEVICES, now=NOW)
        assert said == f"not a command topic: {topic!r}"


def test_a_device_topic_takes_its_own_device_or_none_and_refuses_another() -> None:
    device, taken = cmd(command(action="live_start", device=None), DEVICE)
    assert device == DEVICE and taken.action == "live_start"
    assert cmd(command(action="live_start", device=DEVICE), DEVICE)[0] == DEVICE
    said = refusal(cmd, command(action="live_start", device="steth-b"), DEVICE)
    assert said == f"command on {DEVICE}'s topic names device steth-b"


def test_the_agent_topic_needs_a_known_device_except_for_ping_and_record_request() -> None:
    assert cmd(command(action="ping")) == (None, cmd(command(action="ping"))[1])
    request = command(action="record_request", resident="res-1", auscultation_site="mitral")
    assert cmd(request)[0] is None
    assert cmd(command(action="live_start", device=DEVICE))[0] == DEVICE
    assert cmd(command(action="ping", device=DEVICE))[0] == DEVICE
    assert (
        refusal(cmd, command(action="live_start")) == "live_start on the agent topic needs a device"
    )
    assert (
        refusal(cmd, command(action="live_stop")) == "live_stop on the agent topic needs a device"
    )
    assert refusal(cmd, command(device="steth-z")) == "command for unknown device 'steth-z'"
    assert refusal(cmd, command(), "nobody") == "command for unknown target 'nobody'"


def test_the_age_bounds_are_met_exactly() -> None:
    oldest = NOW - timedelta(seconds=COMMAND_MAX_AGE_S)
    assert cmd(command(), now=NOW)[1].at == NOW
    assert cmd(command(at=oldest.isoformat()))[1].at == oldest
    too_old = NOW - timedelta(seconds=COMMAND_MAX_AGE_S, milliseconds=1)
    assert (
        refusal(cmd, command(at=too_old.isoformat())) == "command sent 150 s ago, past its expiry"
    )
    latest = NOW + timedelta(seconds=MAX_CLOCK_SKEW_S)
    assert cmd(command(at=latest.isoformat()))[1].at == latest
    too_new = NOW + timedelta(seconds=MAX_CLOCK_SKEW_S, milliseconds=1)
    assert refusal(cmd, command(at=too_new.isoformat())) == "command dated 120 s in the future"
    # The refusal says the age as it is, not the bound.
    an_hour = NOW - timedelta(hours=1)
    assert (
        refusal(cmd, command(at=an_hour.isoformat())) == "command sent 3600 s ago, past its expiry"
    )
    ahead = NOW + timedelta(hours=1)
    assert refusal(cmd, command(at=ahead.isoformat())) == "command dated 3600 s in the future"


def test_without_a_clock_given_a_command_is_judged_against_the_real_time() -> None:
    fresh = datetime.now(tz=UTC)
    assert cmd(command(at=fresh.isoformat()), now=None)[1].at == fresh
    assert "past its expiry" in refusal(cmd, command(), now=None)  # NOW is days ago by now


# ---- the handler: dispatch, counts, callbacks, log lines


def test_the_handler_subscribes_to_acks_then_receipts_answers_and_each_target() -> None:
    plain = Handler().inbound
    assert plain.subscriptions() == (
        topics.acks(SITE),
        topics.command(SITE, AGENT),
        topics.command(SITE, DEVICE),
    )
    full = Handler(on_receipt=print, on_exam_answer=print).inbound
    assert full.subscriptions() == (
        topics.acks(SITE),
        topics.receipts(SITE),
        topics.exam_answers(SITE),
        topics.command(SITE, AGENT),
        topics.command(SITE, DEVICE),
    )
    assert (plain.site, plain.agent, plain.devices) == (SITE, AGENT, DEVICES)


def test_a_device_paired_while_running_gets_its_topic_once() -> None:
    inbound = Handler().inbound
    assert inbound.add_device(DEVICE) == ()
    assert inbound.add_device("steth-b") == (topics.command(SITE, "steth-b"),)
    assert inbound.devices == {DEVICE, "steth-b"}
    assert inbound.add_device("steth-b") == ()
    assert inbound.subscriptions()[-1] == topics.command(SITE, "steth-b")


def test_an_ack_is_kept_without_its_note_counted_logged_and_the_status_refreshed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Handler()
    handler.inbound.alert_raised(ALERT)
    caplog.set_level(logging.INFO, logger=commands.__name__)
    handler.send(topics.acks(SITE), body(ack(note="Mrs X, room 4", disposition="no-action")))
    stats = handler.inbound.stats
    assert (stats.acks, stats.rejected, stats.unknown_alerts, handler.refreshed) == (1, 0, 0, 1)
    assert stats.acknowledged == {ALERT: AckRecord(ALERT, "dr-a", 13, NOW, "no-action")}
    assert caplog.messages == [
        f"event=alert_acknowledged alert={ALERT} by=dr-a disposition=no-action note_chars=13"
    ]
    caplog.clear()
    handler.send(topics.acks(SITE), body(ack()))  # no note, no disposition
    assert stats.acknowledged[ALERT] == AckRecord(ALERT, "dr-a", 0, NOW, None)
    assert caplog.messages == [
        f"event=alert_acknowledged alert={ALERT} by=dr-a disposition=- note_chars=0"
    ]
    assert (stats.acks, handler.refreshed) == (2, 2)


def test_an_ack_for_an_unknown_alert_is_refused_counted_and_answered_with_the_status() -> None:
    handler = Handler()
    handler.send(topics.acks(SITE), body(ack()))
    stats = handler.inbound.stats
    assert (stats.acks, stats.rejected, stats.unknown_alerts, handler.refreshed) == (0, 1, 1, 1)
    assert stats.last_rejection == f"ack for an alert this agent did not raise: {ALERT}"
    assert not stats.acknowledged
    handler.send(topics.acks(SITE), body(ack()))
    assert (stats.unknown_alerts, stats.rejected) == (2, 2)


def test_acks_kept_are_the_last_ones_and_a_repeated_one_moves_to_the_end() -> None:
    handler = Handler()
    ids = [str(uuid.UUID(int=i)) for i in range(KEEP_ACKS + 1)]
    for alert_id in ids:
        handler.inbound.alert_raised(alert_id)
    for alert_id in ids[:KEEP_ACKS]:
        handler.send(topics.acks(SITE), body(ack(alert_id=alert_id)))
    kept = handler.inbound.stats.acknowledged
    assert list(kept) == ids[:KEEP_ACKS]
    handler.send(topics.acks(SITE), body(ack(alert_id=ids[0])))  # acknowledged again: newest
    assert list(kept)[-1] == ids[0] and len(kept) == KEEP_ACKS
    handler.send(topics.acks(SITE), body(ack(alert_id=ids[KEEP_ACKS])))
    assert list(kept) == [*ids[2:KEEP_ACKS], ids[0], ids[KEEP_ACKS]]


def test_alerts_known_are_the_last_raised_and_a_raised_again_one_moves_to_the_end() -> None:
    handler = Handler()
    ids = [str(uuid.UUID(int=i)) for i in range(KNOWN_ALERTS + 1)]
    for alert_id in ids[:KNOWN_ALERTS]:
        handler.inbound.alert_raised(alert_id)
    handler.inbound.alert_raised(ids[0])  # raised again: now the newest, not forgotten
    handler.inbound.alert_raised(ids[KNOWN_ALERTS])  # one too many: ids[1] is forgotten
    for alert_id in (ids[0], ids[2], ids[KNOWN_ALERTS]):
        handler.send(topics.acks(SITE), body(ack(alert_id=alert_id)))
    handler.send(topics.acks(SITE), body(ack(alert_id=ids[1])))
    stats = handler.inbound.stats
    assert (stats.acks, stats.unknown_alerts) == (3, 1)
    assert stats.last_rejection.endswith(ids[1])


def test_alerts_in_the_outbox_are_remembered_and_other_payloads_skipped() -> None:
    handler = Handler()
    alert = {"schema": "stetho.alert", "schema_version": 1, "alert_id": ALERT,
             "recording_id": str(uuid.UUID(int=9)), "site": SITE, "agent": AGENT,
             "device": DEVICE, "resident": "res-1", "auscultation_site": "mitral",
             "kind": "heart", "recorded_at": NOW.isoformat(), "level": "review", "flags": [],
             "audio_topic": "a", "recording_topic": "r"}  # fmt: skip
    handler.inbound.remember_alerts([b"not an alert", body(alert)])
    handler.send(topics.acks(SITE), body(ack()))
    assert handler.inbound.stats.acks == 1


def test_receipts_reach_their_callback_only_when_one_is_given() -> None:
    taken: list[messages.ReceiptMessage] = []
    handler = Handler(on_receipt=taken.append)
    handler.send(topics.receipts(SITE), body(receipt()))
    assert [r.device for r in taken] == [DEVICE] and handler.inbound.stats.rejected == 0
    handler.send(topics.receipts(SITE), body(receipt(site="home-z")))
    assert handler.inbound.stats.last_rejection == "receipt for another care home ('home-z')"
    without = Handler()
    without.send(topics.receipts(SITE), body(receipt()))  # not subscribed: not a command topic
    assert without.inbound.stats.last_rejection == f"not a command topic: {topics.receipts(SITE)!r}"


def test_exam_answers_reach_their_callback_and_count_once_the_exams_settle_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    taken: list[messages.ExamAnswerMessage] = []
    handler = Handler(on_exam_answer=taken.append)
    for _ in range(3):
        handler.send(topics.exam_answers(SITE), body(answer()))
    assert len(taken) == 3 and handler.inbound.stats.acks == 0  # not yet: the exams decide
    caplog.set_level(logging.INFO)
    handler.inbound.answer_settled(taken[0], taken=True)
    handler.inbound.answer_settled(taken[2], taken=True)
    handler.inbound.answer_settled(taken[1], taken=False)  # no such exam here
    stats = handler.inbound.stats
    assert (stats.acks, stats.rejected) == (2, 1)
    reason = f"answer for an exam this agent does not hold: {taken[1].exam_id}"
    assert stats.last_rejection == reason
    assert [r.getMessage() for r in caplog.records] == [
        f'event=inbound_rejected topic={topics.exam_answers(SITE)} reason="{reason}" '
        "rejected_total=1"
    ]  # the exam's id only: never the doctor's name nor the note
    without = Handler()
    without.send(topics.exam_answers(SITE), body(answer()))
    assert without.inbound.stats.acks == 0 and without.inbound.stats.rejected == 1


def test_each_command_is_counted_logged_and_carried_out(caplog: pytest.LogCaptureFixture) -> None:
    requests: list[messages.CommandMessage] = []
    handler = Handler(on_record_request=requests.append)
    fresh = datetime.now(tz=UTC).isoformat()
    caplog.set_level(logging.INFO, logger=commands.__name__)
    handler.send(topics.command(SITE, AGENT), body(command(at=fresh)))
    assert handler.refreshed == 1
    assert caplog.messages == [
        "event=command_received action=ping device=None by=dr-a "
        "id=00000000-0000-4000-8000-0000000000c1"
    ]
    start = command(action="live_start", timeout_s=7.5, by="dr-b", at=fresh)
    handler.send(topics.command(SITE, DEVICE), body(start))
    assert caplog.messages[-1] == (  # the device from the topic
        f"event=command_received action=live_start device={DEVICE} by=dr-b "
        "id=00000000-0000-4000-8000-0000000000c1"
    )
    handler.send(
        topics.command(SITE, DEVICE), body(command(action="live_stop", by="dr-c", at=fresh))
    )
    assert handler.live.calls == [("start", DEVICE, 7.5, "dr-b"), ("stop", DEVICE, "asked by dr-c")]
    request = command(
        action="record_request", resident="res-1", auscultation_site="mitral", at=fresh
    )
    handler.send(topics.command(SITE, AGENT), body(request))
    assert [r.resident for r in requests] == ["res-1"]
    stats = handler.inbound.stats
    assert (stats.commands, stats.rejected, handler.refreshed) == (4, 0, 1)
    # A request naming a stethoscope is a request, on either topic: it stops no live stream.
    handler.send(topics.command(SITE, DEVICE), body(request))
    handler.send(topics.command(SITE, AGENT), body({**request, "device": DEVICE}))
    assert [r.resident for r in requests] == ["res-1"] * 3 and len(handler.live.calls) == 2


def test_a_record_request_without_exams_or_refused_by_them_is_a_rejection() -> None:
    fresh = datetime.now(tz=UTC).isoformat()
    request = body(
        command(action="record_request", resident="res-1", auscultation_site="x", at=fresh)
    )
    handler = Handler()
    handler.send(topics.command(SITE, AGENT), request)
    assert handler.inbound.stats.last_rejection == "record_request: this agent takes no exams"

    def refuse(_: messages.CommandMessage) -> None:
        raise AgentError("unknown site x")

    refusing = Handler(on_record_request=refuse)
    refusing.send(topics.command(SITE, AGENT), request)
    stats = refusing.inbound.stats
    assert stats.last_rejection == "record_request refused: unknown site x"
    assert (stats.commands, stats.rejected) == (1, 1)


def test_a_bug_in_a_callback_is_logged_with_its_topic_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(_: messages.ExamAnswerMessage) -> None:
        raise KeyError("x")

    handler = Handler(on_exam_answer=broken)
    handler.send(topics.exam_answers(SITE), body(answer()))
    stats = handler.inbound.stats
    assert stats.rejected == 1 and stats.last_rejection == "internal error: KeyError('x')"
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failed] == [
        f"event=inbound_handler_error topic={topics.exam_answers(SITE)}"
    ]
    assert failed[0].exc_info is not None
    refused = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert refused == [
        f"event=inbound_rejected topic={topics.exam_answers(SITE)} "
        "reason=\"internal error: KeyError('x')\" rejected_total=1"
    ]


def test_rejections_are_logged_up_to_the_first_ones_then_once_a_thousand(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = Handler()
    caplog.set_level(logging.WARNING, logger=commands.__name__)
    for _ in range(2000):
        handler.send("bad topic", b"{}")
    stats = handler.inbound.stats
    assert stats.rejected == 2000 and stats.last_rejection == "not a command topic: 'bad topic'"
    logged = [int(m.rsplit("=", 1)[1]) for m in caplog.messages]
    assert logged == [*range(1, LOG_FIRST_REJECTIONS + 1), 1000, 2000]
    assert caplog.messages[0] == (
        'event=inbound_rejected topic="bad topic" '
        "reason=\"not a command topic: 'bad topic'\" rejected_total=1"
    )
