"""What the agent accepts from the broker: acknowledgements and commands, strictly validated.

Anything else (bad JSON, unknown fields or actions, a device we do not have, an
oversized payload, an unexpected topic) is rejected, counted and logged; nothing
a doctor or an attacker sends can stop the daemon.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import ValidationError

from edge_agent.errors import AgentError, RejectedInboundError
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.transport.mqtt import ReceivedMessage
from edge_agent.wire import messages, topics
from stetho_common import quote

log = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 16 * 1024  # an ack or a command is a few hundred bytes; refuse to parse more
KEEP_ACKS = 500  # acknowledgements remembered for the status; older ones stay in the log
LOG_FIRST_REJECTIONS = 20  # then one line per 1000, so a flood cannot fill the journal
# The `stetho` tools send commands with a 30 s MQTT message expiry (docs/mqtt.md §6); the broker
# drops them after that, and the agent refuses any whose own `at` is older, allowing for clocks
# of a care-home Pi and a doctor's laptop that disagree by up to two minutes.
COMMAND_EXPIRY_S = 30.0
MAX_CLOCK_SKEW_S = 120.0
COMMAND_MAX_AGE_S = COMMAND_EXPIRY_S + MAX_CLOCK_SKEW_S
KNOWN_ALERTS = 5000  # alert ids remembered for acks: weeks of alerts at one care home


@dataclass(frozen=True)
class AckRecord:
    """An acknowledgement as the agent keeps it: the note's length, never its text (a note
    may name the resident; health data belongs in the outbox and at the hub, not in status)."""

    alert_id: str
    by: str
    note_chars: int
    at: datetime
    disposition: str | None = None


@dataclass
class InboundStats:
    acks: int = 0
    commands: int = 0
    rejected: int = 0
    unknown_alerts: int = 0  # acks for alerts this agent did not raise (or no longer knows)
    last_rejection: str = ""
    acknowledged: OrderedDict[str, AckRecord] = field(default_factory=OrderedDict)


def parse_ack(payload: bytes) -> messages.AckMessage:
    _check_json(payload)
    try:
        return messages.AckMessage.model_validate_json(payload, strict=True)
    except ValidationError as exc:
        raise RejectedInboundError(f"invalid ack: {_first_error(exc)}") from exc


def parse_exam_answer(payload: bytes) -> messages.ExamAnswerMessage:
    _check_json(payload)
    try:
        return messages.ExamAnswerMessage.model_validate_json(payload, strict=True)
    except ValidationError as exc:
        raise RejectedInboundError(f"invalid exam answer: {_first_error(exc)}") from exc


def parse_command(
    topic: str,
    payload: bytes,
    site: str,
    agent: str,
    devices: frozenset[str],
    now: datetime | None = None,
) -> tuple[str | None, messages.CommandMessage]:
    """Validate a command and resolve the device it is about (None: the agent itself)."""
    _check_json(payload)
    target = _command_target(topic, site)
    try:
        command = messages.CommandMessage.model_validate_json(payload, strict=True)
    except ValidationError as exc:
        raise RejectedInboundError(f"invalid command: {_first_error(exc)}") from exc
    _check_age(command.at, now if now is not None else datetime.now(tz=UTC))
    if target in devices:
        if command.device not in (None, target):
            raise RejectedInboundError(f"command on {target}'s topic names device {command.device}")
        return target, command
    if target != agent:
        raise RejectedInboundError(f"command for unknown target {target!r}")
    if command.device is not None and command.device not in devices:
        raise RejectedInboundError(f"command for unknown device {command.device!r}")
    if command.device is None and command.action not in ("ping", "record_request"):
        raise RejectedInboundError(f"{command.action} on the agent topic needs a device")
    return command.device, command


def _command_target(topic: str, site: str) -> str:
    prefix = f"{topics.ROOT}/{site}/"
    if not (topic.startswith(prefix) and topic.endswith("/cmd")):
        raise RejectedInboundError(f"not a command topic: {topic!r}")
    return topic[len(prefix) : -len("/cmd")]


def _check_json(payload: bytes) -> None:
    """Size first (never parse a huge payload), then duplicate keys (pydantic keeps the last)."""
    if len(payload) > MAX_INBOUND_BYTES:
        raise RejectedInboundError(f"payload of {len(payload)} bytes exceeds {MAX_INBOUND_BYTES}")
    try:
        messages.refuse_duplicate_keys(payload)
    except messages.DuplicateKeyError as exc:
        raise RejectedInboundError(f"invalid JSON: {exc}") from exc
    except ValueError:
        pass  # not JSON at all: pydantic says so, with its position


def _check_age(sent_at: datetime, now: datetime) -> None:
    """A command past its expiry (or from far in the future) is not for now: refuse it."""
    age_s = (now - sent_at).total_seconds()
    if age_s > COMMAND_MAX_AGE_S:
        raise RejectedInboundError(f"command sent {age_s:.0f} s ago, past its expiry")
    if age_s < -MAX_CLOCK_SKEW_S:
        raise RejectedInboundError(f"command dated {-age_s:.0f} s in the future")


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "payload"
    return f"{where}: {first['msg']} ({exc.error_count()} error(s))"


class InboundHandler:
    """Dispatch acks and commands received on the agent's subscriptions; never raises."""

    def __init__(
        self,
        site: str,
        agent: str,
        devices: frozenset[str],
        live: LiveStreamer,
        refresh_status: Callable[[], None],
        on_receipt: Callable[[messages.ReceiptMessage], None] | None = None,
        on_exam_answer: Callable[[messages.ExamAnswerMessage], None] | None = None,
        on_record_request: Callable[[messages.CommandMessage], None] | None = None,
    ) -> None:
        self.site, self.agent = site, agent
        self.devices = frozenset(devices)  # grows as stethoscopes are paired (add_device)
        self.live = live
        self.refresh_status = refresh_status  # republish the retained agent status
        self.on_receipt = on_receipt  # the hub's receipts, when the agent waits for them
        self.on_exam_answer = on_exam_answer  # exams (edge_agent/exam): a doctor's answer
        self.on_record_request = on_record_request  # and a doctor's request to record
        self.stats = InboundStats()
        self._alerts: OrderedDict[str, None] = OrderedDict()

    def alert_raised(self, alert_id: str) -> None:
        """Remember an alert this agent raised, so an ack for it is taken (others refused)."""
        self._alerts[alert_id] = None
        self._alerts.move_to_end(alert_id)
        while len(self._alerts) > KNOWN_ALERTS:
            self._alerts.popitem(last=False)

    def remember_alerts(self, payloads: list[bytes]) -> None:
        """Alerts still in the outbox (sent ones are kept `storage.keep_sent_hours`)."""
        for payload in payloads:
            try:
                alert = messages.AlertMessage.model_validate_json(payload)
            except ValidationError:
                continue  # not ours to judge here: it was valid when stored
            self.alert_raised(str(alert.alert_id))

    def add_device(self, device: str) -> tuple[str, ...]:
        """Take commands for a stethoscope paired while running; returns the topics to add."""
        if device in self.devices:
            return ()
        self.devices = self.devices | {device}
        return (topics.command(self.site, device),)

    def subscriptions(self) -> tuple[str, ...]:
        targets = [self.agent, *sorted(self.devices)]
        receipts = (topics.receipts(self.site),) if self.on_receipt is not None else ()
        answers = (topics.exam_answers(self.site),) if self.on_exam_answer is not None else ()
        return (
            topics.acks(self.site),
            *receipts,
            *answers,
            *(topics.command(self.site, t) for t in targets),
        )

    def handle(self, message: ReceivedMessage) -> None:
        try:
            if message.topic == topics.acks(self.site):
                self._acknowledge(parse_ack(message.payload))
            elif message.topic == topics.receipts(self.site) and self.on_receipt is not None:
                self.on_receipt(parse_receipt(message.payload, self.site))
            elif message.topic == topics.exam_answers(self.site) and self.on_exam_answer:
                self.on_exam_answer(parse_exam_answer(message.payload))
            else:
                device, command = parse_command(
                    message.topic, message.payload, self.site, self.agent, self.devices
                )
                self._execute(device, command)
        except RejectedInboundError as exc:
            self._reject(message.topic, str(exc))
        except Exception as exc:  # a bug here must not end the daemon: count it as a rejection
            log.exception("event=inbound_handler_error topic=%s", quote(message.topic))
            self._reject(message.topic, f"internal error: {exc!r}")

    def answer_settled(self, answer: messages.ExamAnswerMessage, taken: bool) -> None:
        """The exams' word on a doctor's answer: counted with the acks when taken, refused when
        this care home holds no such exam (a mistyped id, or another care home's exam)."""
        if taken:
            self.stats.acks += 1
        else:
            reason = f"answer for an exam this agent does not hold: {answer.exam_id}"
            self._reject(topics.exam_answers(self.site), reason)

    def _acknowledge(self, ack: messages.AckMessage) -> None:
        alert_id = str(ack.alert_id)
        if alert_id not in self._alerts:
            self.stats.unknown_alerts += 1
            # The status again, unchanged: the doctor's `stetho ack` reads a fresh one without
            # the alert as this agent's "not mine", and stops waiting (stetho_doctor.ack_answer).
            self.refresh_status()
            raise RejectedInboundError(f"ack for an alert this agent did not raise: {alert_id}")
        self.stats.acks += 1
        acknowledged = self.stats.acknowledged
        note_chars = len(ack.note or "")
        acknowledged[alert_id] = AckRecord(alert_id, ack.by, note_chars, ack.at, ack.disposition)
        acknowledged.move_to_end(alert_id)
        while len(acknowledged) > KEEP_ACKS:
            acknowledged.popitem(last=False)
        log.info(
            "event=alert_acknowledged alert=%s by=%s disposition=%s note_chars=%d",
            quote(alert_id),
            quote(ack.by),
            quote(ack.disposition or "-"),
            note_chars,
        )
        self.refresh_status()

    def _execute(self, device: str | None, command: messages.CommandMessage) -> None:
        self.stats.commands += 1
        log.info(
            "event=command_received action=%s device=%s by=%s id=%s",
            quote(command.action),
            quote(device),
            quote(command.by),
            quote(command.command_id),
        )
        if command.action == "ping":
            self.refresh_status()
        elif command.action == "live_start" and device is not None:
            self.live.start(device, command.timeout_s, command.by)
        elif command.action == "live_stop" and device is not None:
            self.live.stop(device, f"asked by {command.by}")
        elif command.action == "record_request":
            if self.on_record_request is None:
                raise RejectedInboundError("record_request: this agent takes no exams")
            try:
                self.on_record_request(command)
            except AgentError as exc:  # e.g. an unknown site: refused like any bad command
                raise RejectedInboundError(f"record_request refused: {exc}") from exc

    def _reject(self, topic: str, reason: str) -> None:
        self.stats.rejected += 1
        self.stats.last_rejection = reason
        n = self.stats.rejected
        if n <= LOG_FIRST_REJECTIONS or n % 1000 == 0:
            log.warning(
                "event=inbound_rejected topic=%s reason=%s rejected_total=%d",
                quote(topic),
                quote(reason),
                n,
            )


def parse_receipt(payload: bytes, site: str) -> messages.ReceiptMessage:
    """A hub's receipt for this care home, or RejectedInboundError saying why not."""
    _check_json(payload)
    try:
        receipt = messages.ReceiptMessage.model_validate_json(payload)
    except ValidationError as exc:
        raise RejectedInboundError(f"malformed receipt: {exc.error_count()} error(s)") from exc
    if receipt.site != site:
        raise RejectedInboundError(f"receipt for another care home ({receipt.site!r})")
    return receipt
