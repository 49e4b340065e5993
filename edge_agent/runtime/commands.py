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
from datetime import datetime

from pydantic import ValidationError

from edge_agent.errors import AgentError, RejectedInboundError
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.transport.mqtt import ReceivedMessage
from edge_agent.wire import messages, topics

log = logging.getLogger(__name__)

MAX_INBOUND_BYTES = 16 * 1024  # an ack or a command is a few hundred bytes; refuse to parse more
KEEP_ACKS = 500  # acknowledgements remembered for the status; older ones stay in the log
LOG_FIRST_REJECTIONS = 20  # then one line per 1000, so a flood cannot fill the journal


@dataclass(frozen=True)
class AckRecord:
    alert_id: str
    by: str
    note: str | None
    at: datetime


@dataclass
class InboundStats:
    acks: int = 0
    commands: int = 0
    rejected: int = 0
    last_rejection: str = ""
    acknowledged: OrderedDict[str, AckRecord] = field(default_factory=OrderedDict)


def parse_ack(payload: bytes) -> messages.AckMessage:
    _check_size(payload)
    try:
        return messages.AckMessage.model_validate_json(payload)
    except ValidationError as exc:
        raise RejectedInboundError(f"invalid ack: {_first_error(exc)}") from exc


def parse_exam_answer(payload: bytes) -> messages.ExamAnswerMessage:
    _check_size(payload)
    try:
        return messages.ExamAnswerMessage.model_validate_json(payload)
    except ValidationError as exc:
        raise RejectedInboundError(f"invalid exam answer: {_first_error(exc)}") from exc


def parse_command(
    topic: str, payload: bytes, site: str, agent: str, devices: frozenset[str]
) -> tuple[str | None, messages.CommandMessage]:
    """Validate a command and resolve the device it is about (None: the agent itself)."""
    _check_size(payload)
    target = _command_target(topic, site)
    try:
        command = messages.CommandMessage.model_validate_json(payload)
    except ValidationError as exc:
        raise RejectedInboundError(f"invalid command: {_first_error(exc)}") from exc
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


def _check_size(payload: bytes) -> None:
    if len(payload) > MAX_INBOUND_BYTES:
        raise RejectedInboundError(f"payload of {len(payload)} bytes exceeds {MAX_INBOUND_BYTES}")


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
        self.site, self.agent, self.devices = site, agent, devices
        self.live = live
        self.refresh_status = refresh_status  # republish the retained agent status
        self.on_receipt = on_receipt  # the hub's receipts, when the agent waits for them
        self.on_exam_answer = on_exam_answer  # exams (edge_agent/exam): a doctor's answer
        self.on_record_request = on_record_request  # and a doctor's request to record
        self.stats = InboundStats()

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
                self.stats.acks += 1
                self.on_exam_answer(parse_exam_answer(message.payload))
            else:
                device, command = parse_command(
                    message.topic, message.payload, self.site, self.agent, self.devices
                )
                self._execute(device, command)
        except RejectedInboundError as exc:
            self._reject(message.topic, str(exc))
        except Exception as exc:  # a bug here must not end the daemon: count it as a rejection
            log.exception("event=inbound_handler_error topic=%s", message.topic)
            self._reject(message.topic, f"internal error: {exc!r}")

    def _acknowledge(self, ack: messages.AckMessage) -> None:
        self.stats.acks += 1
        alert_id = str(ack.alert_id)
        acknowledged = self.stats.acknowledged
        acknowledged[alert_id] = AckRecord(alert_id, ack.by, ack.note, ack.at)
        acknowledged.move_to_end(alert_id)
        while len(acknowledged) > KEEP_ACKS:
            acknowledged.popitem(last=False)
        log.info("event=alert_acknowledged alert=%s by=%s note=%r", alert_id, ack.by, ack.note)
        self.refresh_status()

    def _execute(self, device: str | None, command: messages.CommandMessage) -> None:
        self.stats.commands += 1
        log.info(
            "event=command_received action=%s device=%s by=%s id=%s",
            command.action,
            device,
            command.by,
            command.command_id,
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
                "event=inbound_rejected topic=%s reason=%r rejected_total=%d", topic, reason, n
            )


def parse_receipt(payload: bytes, site: str) -> messages.ReceiptMessage:
    """A hub's receipt for this care home, or RejectedInboundError saying why not."""
    try:
        receipt = messages.ReceiptMessage.model_validate_json(payload)
    except ValidationError as exc:
        raise RejectedInboundError(f"malformed receipt: {exc.error_count()} error(s)") from exc
    if receipt.site != site:
        raise RejectedInboundError(f"receipt for another care home ({receipt.site!r})")
    return receipt
