"""The doctor's side of the topic tree: follow alerts, save their audio, acknowledge, listen.

Built on the same asyncio MQTT connection as the agent, so TLS and reconnects behave alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import uuid
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from edge_agent.errors import ConfigError, ConnectError
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttConnection, MqttSettings, ReceivedMessage
from edge_agent.wire import messages, topics
from edge_agent.wire.v311 import recording_id_in
from stetho_common import persistent_delay, quote
from stetho_common.private_files import private_dir, write_private
from stetho_common.waits import within
from stetho_doctor.ack_answer import AckWatch
from stetho_doctor.errors import DoctorToolError as DoctorToolError  # also named here

log = logging.getLogger(__name__)

COMMAND_EXPIRY_S = (
    30  # a command the agent did not get within 30 s is stale: let the broker drop it
)
KEEP_UNMATCHED = 200  # recordings buffered while waiting to learn whether they raised an alert
RETAINED_S = 1.0  # how long `stetho ack` waits for the agents' retained statuses


async def connect(settings: MqttSettings) -> MqttConnection:
    """Connect to the first broker that accepts, in `[broker] hosts` order.

    A doctor's command and the console's decisions and live streams are short connections:
    where the agent and the hub's ingest rotate (edge_agent.transport.failover), these just
    try each address once, so the first broker being down costs one refused connect.
    """
    error: ConnectError | None = None
    for host, port in ((settings.host, settings.port), *settings.failover):
        here = dataclasses.replace(settings, host=host, port=port)
        connection = MqttConnection(here)
        try:
            await connection.connect()
        except ConnectError as exc:
            error = exc
            continue
        return connection
    assert error is not None  # the loop ran at least once and every address failed
    raise DoctorToolError(str(error)) from error


OnRetry = Callable[[str, float], None]


def doctor_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where the doctor's tools look for their broker: $XDG_CONFIG_HOME/stetho/doctor.toml."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".config")
    return Path(base) / "stetho" / "doctor.toml"


def default_doctor_config(environ: Mapping[str, str] | None = None) -> Path | None:
    path = doctor_config_path(environ)
    return path if path.is_file() else None


async def received(
    settings: MqttSettings, on_retry: OnRetry | None = None
) -> AsyncGenerator[ReceivedMessage, None]:
    """Every message on the subscriptions, reconnecting with backoff until cancelled.

    `on_retry(error, delay_s)` hears each failed connection, so a person watching sees why
    nothing arrives.
    """
    attempt = 0
    while True:
        try:
            connection = await connect(settings)
        except DoctorToolError as exc:
            delay = persistent_delay(attempt, exc)
            log.warning("event=broker_connect_failed error=%r retry_in_s=%.1f", str(exc), delay)
            if on_retry is not None:
                on_retry(str(exc), delay)
            attempt += 1
            await asyncio.sleep(delay)
            continue
        attempt = 0
        try:
            while not connection.closed.is_set():
                getter = asyncio.ensure_future(connection.messages.get())
                closed = asyncio.ensure_future(connection.closed.wait())
                try:
                    done, _ = await asyncio.wait(
                        {getter, closed}, return_when=asyncio.FIRST_COMPLETED
                    )  # fmt: skip
                finally:  # asyncio.wait cancels neither when it is cancelled itself
                    closed.cancel()
                    getter.cancel()  # a done task ignores it
                if getter in done:
                    yield getter.result()
        finally:
            await connection.disconnect()


def alert_subscriptions(site: str | None, save: bool) -> tuple[str, ...]:
    where = site or "+"
    subs = [f"{topics.ROOT}/{where}/alerts"]
    if save:
        subs += [f"{topics.ROOT}/{where}/+/recordings", f"{topics.ROOT}/{where}/+/recordings/audio"]
    return tuple(subs)


def recording_id_of(message: ReceivedMessage) -> str | None:
    if not message.user_properties:  # MQTT 3.1.1: the payload names the recording
        return recording_id_in(message.topic, message.payload)
    return dict(message.user_properties).get("recording_id")


class AlertSaver:
    """Writes each alert with its recording's FLAC and metadata, matched by recording_id.

    The agent publishes audio and metadata before the alert, so recordings are held
    (a bounded number) until their alert arrives or they are pushed out.
    """

    def __init__(self, directory: Path) -> None:
        try:
            self.directory = private_dir(directory)  # health data: 0700, files 0600
        except OSError as exc:  # a file of that name, or a folder we may not make
            raise ConfigError(
                "--save", [f"{directory}: cannot make this folder: {exc.strerror}"]
            ) from exc
        self._held: OrderedDict[str, dict[str, bytes]] = OrderedDict()
        self._alerted: OrderedDict[str, None] = OrderedDict()
        self.saved: list[Path] = []

    def offer(self, message: ReceivedMessage) -> None:
        rid = recording_id_of(message)
        if rid is None or not _is_uuid(rid):
            return
        suffix = ".flac" if message.topic.endswith("/recordings/audio") else ".recording.json"
        if rid in self._alerted:
            self._write(f"{rid}{suffix}", message.payload)
            return
        self._held.setdefault(rid, {})[suffix] = message.payload
        while len(self._held) > KEEP_UNMATCHED:
            self._held.popitem(last=False)

    def alert(self, alert: messages.AlertMessage, payload: bytes) -> None:
        rid = str(alert.recording_id)
        self._alerted[rid] = None
        while len(self._alerted) > KEEP_UNMATCHED:
            self._alerted.popitem(last=False)
        self._write(f"{rid}.alert-{alert.alert_id}.json", payload)
        for suffix, data in self._held.pop(rid, {}).items():
            self._write(f"{rid}{suffix}", data)

    def _write(self, name: str, data: bytes) -> None:
        path = self.directory / name
        try:
            write_private(path, data)  # atomic: a reader never sees half a FLAC
        except OSError as exc:  # stop rather than follow alerts that are no longer kept
            raise DoctorToolError(f"cannot save {path}: {exc.strerror}") from exc
        self.saved.append(path)


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def follow_alerts(
    settings: MqttSettings,
    on_alert: Callable[[messages.AlertMessage], None],
    saver: AlertSaver | None = None,
    limit: int | None = None,
    on_retry: OnRetry | None = None,
) -> int:
    """Call `on_alert` for each valid alert (and save it); return how many were seen."""
    seen = 0
    async with contextlib.aclosing(received(settings, on_retry)) as stream:  # disconnects on exit
        async for message in stream:
            if not message.topic.endswith("/alerts"):
                if saver is not None:
                    saver.offer(message)
                continue
            try:
                alert = messages.AlertMessage.model_validate_json(message.payload)
            except ValidationError as exc:
                log.warning(
                    "event=alert_invalid topic=%s errors=%d",
                    quote(message.topic),
                    exc.error_count(),
                )
                continue
            if saver is not None:
                saver.alert(alert, message.payload)
            on_alert(alert)
            seen += 1
            if limit is not None and seen >= limit:
                break
    return seen


ALERT_COLUMNS = (
    "time",
    "care home",
    "resident",
    "auscultation site",
    "level",
    "reasons",
    "alert id",
)


def reasons_text(reasons: list[str]) -> str:
    """The flags' reasons as one paragraph: each is a sentence, so "; " after its full stop
    read ".; " ("... count the pulse over a minute.; Beat-to-beat intervals vary ...")."""
    return " ".join(r if r.endswith((".", "!", "?")) else f"{r}." for r in reasons)


def alert_row(alert: messages.AlertMessage) -> dict[str, str]:
    return {
        "time": alert.recorded_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
        "care home": alert.site,
        "resident": alert.resident,
        "auscultation site": alert.auscultation_site,
        "level": alert.level,
        "reasons": reasons_text([f.reason for f in alert.flags]),
        "alert id": str(alert.alert_id),
    }


async def publish_once(settings: MqttSettings, message: OutboundMessage) -> None:
    """Connect, publish at QoS 1, wait for the PUBACK, disconnect."""
    connection = await connect(settings)
    try:
        await connection.publish(message, timeout_s=15)
    finally:
        await connection.disconnect()


async def ack_and_watch(
    settings: MqttSettings, message: OutboundMessage, watch: AckWatch, wait_s: float
) -> None:
    """Publish the ack, then read the agents' statuses (`settings` subscribes to the site's
    `+/status`) until one confirms it, every online agent has answered that it raised no such
    alert, or `wait_s` has passed: `watch` holds what was said.

    With no agent online after `RETAINED_S`, the wait ends: the retained statuses come right
    after the subscription, and no agent online can take the ack now."""
    connection = await connect(settings)
    try:
        await connection.publish(message, timeout_s=15)
        start = asyncio.get_running_loop().time()
        while True:
            limit = wait_s if watch.online else min(wait_s, RETAINED_S)
            left = start + limit - asyncio.get_running_loop().time()
            if left <= 0:
                return
            status = await within(left, connection.messages.get())
            if status is None:
                return
            watch.offer(status.payload, live=not status.retain)
            if watch.settled():
                return
    finally:
        await connection.disconnect()


def ack_message(
    site: str,
    alert_id: uuid.UUID,
    by: str,
    note: str | None,
    disposition: messages.Disposition | None = None,
) -> OutboundMessage:
    ack = messages.AckMessage(
        alert_id=alert_id, by=by, note=note, at=datetime.now(tz=UTC), disposition=disposition
    )
    return OutboundMessage(
        topics.acks(site),
        messages.to_json(ack),
        qos=1,
        content_type=messages.JSON_CONTENT_TYPE,
        user_properties=(("schema_version", str(messages.SCHEMA_VERSION)),),
    )


def command_message(
    site: str, device: str, action: messages.CommandAction, by: str, timeout_s: float = 120.0
) -> OutboundMessage:
    command = messages.CommandMessage(
        command_id=uuid.uuid4(),
        action=action,
        device=device,
        timeout_s=timeout_s,
        by=by,
        at=datetime.now(tz=UTC),
    )
    return OutboundMessage(
        topics.command(site, device),
        messages.to_json(command),
        qos=1,
        content_type=messages.JSON_CONTENT_TYPE,
        expiry_s=COMMAND_EXPIRY_S,
        user_properties=(("schema_version", str(messages.SCHEMA_VERSION)),),
    )


def record_request_message(
    site: str,
    agent: str,
    resident: str,
    auscultation_site: str,
    duration_s: float | None,
    by: str,
) -> OutboundMessage:
    """The `record_request` command a nurse accepts on the page (`stetho request`, console)."""
    command = messages.CommandMessage(
        command_id=uuid.uuid4(), action="record_request", by=by, at=datetime.now(tz=UTC),
        resident=resident, auscultation_site=auscultation_site, duration_s=duration_s,
    )  # fmt: skip
    return OutboundMessage(
        topics.command(site, agent),
        messages.to_json(command),
        qos=1,
        content_type=messages.JSON_CONTENT_TYPE,
        expiry_s=COMMAND_EXPIRY_S,
        user_properties=(("schema_version", str(messages.SCHEMA_VERSION)),),
    )


def alert_json_line(alert: messages.AlertMessage) -> str:
    return json.dumps(alert.model_dump(mode="json", by_alias=True), sort_keys=True)
