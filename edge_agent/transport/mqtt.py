"""paho-mqtt driven from the asyncio loop: no paho network thread.

paho's socket is registered with the loop (add_reader/add_writer) and `loop_misc`
runs every second, so every paho callback runs on the event loop. Only the
blocking `connect()` (DNS, TCP, TLS handshake) goes to an executor. One fresh paho
client per connection: paho's in-memory session is never trusted, the outbox is.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge_agent.errors import (
    ConnectError,
    LinkLostError,
    PubackTimeoutError,
    PublishError,
    SubscriptionRefusedError,
)
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.link_errors import NOT_V5, UNSUPPORTED_PROTOCOL, link_lost, reason_text
from edge_agent.transport.tls_errors import (
    CONFIG_KEYS,
    TlsFiles,
    TlsProblem,
    TlsWords,
    classify_tls_error,
    describe_tls_error,
    describe_tls_problem,
)
from stetho_common import quote

log = logging.getLogger(__name__)
MAX_QUEUED_VOLATILE = 8  # packets waiting for the socket before a QoS 0 message is dropped


@dataclass(frozen=True)
class MqttSettings:
    host: str
    port: int
    client_id: str
    keepalive_s: int = 30
    session_expiry_s: int = 7 * 24 * 3600
    clean_start: bool = False
    tls: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    will: OutboundMessage | None = None
    subscriptions: tuple[str, ...] = ()
    max_inflight: int = 20
    failover: tuple[tuple[str, int], ...] = ()  # further brokers, in order (broker.hosts)
    failback_s: float = 300.0  # on a failover broker, go back to the first after this long
    # A subscriber that must store before acknowledging (the hub) sets manual_ack and calls
    # `ack()`; receive_maximum then bounds how many unacknowledged messages the broker sends.
    manual_ack: bool = False
    receive_maximum: int | None = None
    # "3.1.1": no properties on the wire (content type, user properties, expiry, session
    # expiry, receive maximum are left out); clean_start becomes the 3.1.1 clean session.
    protocol: Literal["5", "3.1.1"] = "5"
    max_packet_bytes: int | None = None  # broker.max_packet_bytes (packet_size.packet_limit)
    tls_words: TlsWords = CONFIG_KEYS  # what a TLS message tells to fix: config keys, options
    subscribe_timeout_s: float = 10.0  # a SUBACK later than this makes the connect a failure

    @property
    def v5(self) -> bool:
        return self.protocol == "5"


@dataclass(frozen=True)
class ReceivedMessage:
    topic: str
    payload: bytes
    retain: bool
    content_type: str | None
    user_properties: tuple[tuple[str, str], ...]
    mid: int = 0
    qos: int = 0


def publish_properties(message: OutboundMessage, v5: bool = True) -> Properties | None:
    if not v5:  # MQTT 3.1.1 has no properties: the payload and topic carry what they said
        return None
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    if message.content_type:
        props.ContentType = message.content_type
    if message.expiry_s is not None:
        props.MessageExpiryInterval = message.expiry_s
    if message.user_properties:
        props.UserProperty = list(message.user_properties)
    return props


class MqttConnection:
    """One MQTT v5 connection on the running loop; create a new one to reconnect."""

    def __init__(
        self, settings: MqttSettings, inbox: asyncio.Queue[ReceivedMessage] | None = None
    ) -> None:
        self.settings = settings
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._client = self._make_client()
        self._connack: asyncio.Future[None] = self._loop.create_future()
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._suback: dict[int, asyncio.Future[None]] = {}
        self.closed = asyncio.Event()
        self.close_reason: str = ""
        self.loss: LinkLostError | None = None  # why the link ended, once it has
        self.max_packet_size: int | None = None  # the broker's limit from CONNACK, if it gave one
        self.refused_subscriptions = ""  # SUBACK reasons, when the broker refused our filters
        # Shared with the owner across reconnections, so no received message is stranded.
        self.messages = inbox if inbox is not None else asyncio.Queue(maxsize=10000)
        self._misc_task: asyncio.Task[None] | None = None
        self._inflight = asyncio.Semaphore(settings.max_inflight)

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv5 if s.v5 else mqtt.MQTTv311,
            clean_session=None if s.v5 else s.clean_start,
            manual_ack=s.manual_ack,
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_socket_open = self._threadsafe(self._on_socket_open)
        client.on_socket_close = self._threadsafe(self._on_socket_close)
        client.on_socket_register_write = self._threadsafe(self._on_register_write)
        client.on_socket_unregister_write = self._threadsafe(self._on_unregister_write)
        client.max_inflight_messages_set(s.max_inflight)
        client.max_queued_messages_set(0)
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.will is not None:
            client.will_set(
                s.will.topic,
                s.will.payload,
                qos=s.will.qos,
                retain=s.will.retain,
                properties=publish_properties(s.will, s.v5),
            )
        return client

    def _threadsafe(self, fn: Callable[[Any], None]) -> Callable[[mqtt.Client, Any, Any], None]:
        # connect() runs in an executor, and paho opens the socket there.
        def callback(client: mqtt.Client, userdata: Any, sock: Any) -> None:
            if threading.get_ident() == self._loop_thread:
                fn(sock)
            else:
                self._loop.call_soon_threadsafe(fn, sock)

        return callback

    def _on_socket_open(self, sock: Any) -> None:
        self._loop.add_reader(sock, self._client.loop_read)
        self._misc_task = self._loop.create_task(self._misc_loop())

    def _on_socket_close(self, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_reader(sock)
            self._loop.remove_writer(sock)
        if self._misc_task is not None:
            self._misc_task.cancel()

    def _on_register_write(self, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.add_writer(sock, self._client.loop_write)

    def _on_unregister_write(self, sock: Any) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(sock)

    async def _misc_loop(self) -> None:
        # paho's keep-alive and retry timers want a tick every second; this is that clock.
        while self._client.loop_misc() == mqtt.MQTT_ERR_SUCCESS:  # noqa: ASYNC110
            await asyncio.sleep(1)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        if self._connack.done():
            return
        if rc.is_failure:
            retryable = rc.value not in (0x84, 0x85, 0x86, 0x87, 0x8C)  # refusals that repeat
            why = NOT_V5 if rc.value == UNSUPPORTED_PROTOCOL else "broker refused the connection"
            self._connack.set_exception(ConnectError.of(f"{why}: {reason_text(rc)}", retryable))
        else:
            self.max_packet_size = getattr(props, "MaximumPacketSize", None)
            self._connack.set_result(None)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: ReasonCode, props: Any
    ) -> None:
        by_broker = bool(getattr(flags, "is_disconnect_packet_from_server", False))
        reason = reason_text(rc)
        self.close_reason = f"broker sent DISCONNECT: {reason}" if by_broker else reason
        if self.loss is None:
            self.loss = link_lost(self.close_reason, rc.value if rc else None, by_broker)
        self._fail_all(self.loss)
        if not self._connack.done():
            self._connack.set_exception(self._closed_before_connack(by_broker))
        self.closed.set()

    def _closed_before_connack(self, by_broker: bool) -> ConnectError:
        s = self.settings
        if s.tls and not by_broker:
            # TLS 1.3: the broker checks our certificate after the handshake and a refusal
            # only closes the link (paho keeps the alert to itself); say what to check.
            problem = TlsProblem.CLOSED_DURING_HANDSHAKE
            files = TlsFiles(s.ca_file, s.cert_file, s.key_file, s.tls_words)
            message = describe_tls_problem(problem, files, s.host)
            return ConnectError.of(message, problem.may_clear_by_itself)
        said = f"broker closed the connection before CONNACK: {self.close_reason}"
        if not by_broker:  # a plain CONNECT to a TLS listener ends so, without a word
            said += f"; if {s.port} is its TLS port, connect with TLS (mqtts://, broker.tls = true)"
        return ConnectError(said)

    def _fail_all(self, error: Exception) -> None:
        for future in [*self._pending.values(), *self._suback.values()]:
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
        self._suback.clear()

    def _on_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, rc: ReasonCode, props: Any
    ) -> None:
        future = self._pending.pop(mid, None)
        if future is None or future.done():
            return
        if rc.is_failure:
            future.set_exception(PublishError(f"broker rejected the message: {reason_text(rc)}"))
        else:
            future.set_result(None)

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, rcs: list[ReasonCode], props: Any
    ) -> None:
        future = self._suback.pop(mid, None)
        if future is None or future.done():
            return
        refused = [reason_text(rc) for rc in rcs if rc.is_failure]
        if refused:
            future.set_exception(SubscriptionRefusedError(", ".join(refused)))
        else:
            future.set_result(None)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        props = msg.properties
        content_type = getattr(props, "ContentType", None) if props is not None else None
        user = getattr(props, "UserProperty", []) if props is not None else []
        received = ReceivedMessage(
            msg.topic,
            bytes(msg.payload),
            bool(msg.retain),
            content_type,
            tuple(user),
            msg.mid,
            msg.qos,
        )
        try:
            self.messages.put_nowait(received)
        except asyncio.QueueFull:
            log.warning("event=mqtt_inbox_full topic=%s dropped=1", quote(msg.topic))

    async def connect(self, timeout_s: float = 15.0) -> None:
        """Open TCP (+TLS), send CONNECT, wait for CONNACK; then subscribe."""
        s = self.settings
        try:
            async with asyncio.timeout(timeout_s):
                await self._loop.run_in_executor(None, self._connect_blocking)
            try:
                async with asyncio.timeout(timeout_s):
                    await asyncio.shield(self._connack)
            except TimeoutError as exc:  # str(TimeoutError()) is empty: say what was awaited
                raise TimeoutError(f"no CONNACK within {timeout_s:.0f} s") from exc
        except ssl.SSLError as exc:
            _close_sockets_in(exc.__traceback__)
            problem = classify_tls_error(exc)
            retryable = problem is not None and problem.may_clear_by_itself
            files = TlsFiles(s.ca_file, s.cert_file, s.key_file, s.tls_words)
            raise ConnectError.of(describe_tls_error(exc, files, s.host), retryable) from exc
        except (OSError, TimeoutError) as exc:
            self.close()
            raise ConnectError(f"cannot reach broker {s.host}:{s.port}: {exc}") from exc
        except ConnectError:
            self.close()
            raise
        if s.subscriptions:
            await self._subscribe_after_connack(list(s.subscriptions))

    def _connect_blocking(self) -> None:
        s = self.settings
        if s.tls:  # here, not in __init__: a CA or key file it cannot load is connect()'s error
            self._client.tls_set(ca_certs=s.ca_file, certfile=s.cert_file, keyfile=s.key_file)
        if not s.v5:  # the session is the Client's clean_session; 3.1.1 has no properties
            self._client.connect(s.host, s.port, s.keepalive_s)
            return
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = s.session_expiry_s
        if s.receive_maximum is not None:
            props.ReceiveMaximum = s.receive_maximum
        self._client.connect(
            s.host, s.port, s.keepalive_s, clean_start=s.clean_start, properties=props
        )

    async def _subscribe_after_connack(self, topics: list[str]) -> None:
        """Subscribe as part of connecting: a broker that accepted us and then stalls or drops
        the link is a failed connection (retried), not an error for the daemon."""
        try:
            await self.subscribe(topics, self.settings.subscribe_timeout_s)
        except SubscriptionRefusedError as exc:
            self.refused_subscriptions = exc.reasons
        except (PublishError, TimeoutError) as exc:
            self.close()
            why = str(exc) or f"no SUBACK within {self.settings.subscribe_timeout_s:.0f} s"
            raise ConnectError(f"broker accepted the connection, then: {why}") from exc

    async def subscribe(self, topics: list[str], timeout_s: float = 10.0) -> None:
        rc, mid = self._client.subscribe([(t, 1) for t in topics])
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            raise PublishError(f"cannot subscribe: {mqtt.error_string(rc)}")
        future = self._loop.create_future()
        self._suback[mid] = future
        try:
            async with asyncio.timeout(timeout_s):
                await future
        except TimeoutError as exc:
            raise PublishError(f"no SUBACK within {timeout_s:.0f} s") from exc

    def ack(self, message: ReceivedMessage) -> bool:
        """With `manual_ack`: send the PUBACK for `message` now; False when the connection it
        came on is gone (the broker then delivers it again on the next session)."""
        if self.closed.is_set() or message.qos == 0:
            return False
        return self._client.ack(message.mid, message.qos) == mqtt.MQTT_ERR_SUCCESS

    async def publish(self, message: OutboundMessage, timeout_s: float = 30.0) -> None:
        """Publish and, for QoS 1, return only after the broker's PUBACK."""
        if self.closed.is_set():
            raise PublishError(f"not connected: {self.close_reason}")
        async with self._inflight:
            info = self._client.publish(
                message.topic,
                message.payload,
                qos=message.qos,
                retain=message.retain,
                properties=publish_properties(message, self.settings.v5),
            )
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise PublishError(f"publish failed: {mqtt.error_string(info.rc)}")
            if message.qos == 0:
                return
            future = self._pending.get(info.mid)
            if future is None:
                future = self._loop.create_future()
                self._pending[info.mid] = future
            if info.is_published():
                self._pending.pop(info.mid, None)
                return
            try:
                # asyncio.timeout, not wait_for: in 3.11 wait_for can swallow a cancellation
                # that races the PUBACK, and the daemon would then never stop on SIGTERM.
                async with asyncio.timeout(timeout_s):
                    await future
            except TimeoutError as exc:
                raise PubackTimeoutError(f"no PUBACK within {timeout_s} s") from exc
            finally:
                self._pending.pop(info.mid, None)

    def publish_nowait(self, message: OutboundMessage) -> bool:
        """Queue a QoS 0 message (live audio) without waiting; False when it cannot go out."""
        if message.qos != 0:
            raise ValueError("publish_nowait is for QoS 0 messages; QoS 1 waits for PUBACK")
        if self.closed.is_set() or not self._connack.done() or self._connack.exception():
            return False
        # paho queues unwritten packets without limit; on a congested link live audio
        # would pile up and arrive late. Past a few queued packets, drop it (QoS 0 anyway).
        if len(self._client._out_packet) > MAX_QUEUED_VOLATILE:
            return False
        info = self._client.publish(
            message.topic,
            message.payload,
            qos=0,
            properties=publish_properties(message, self.settings.v5),
        )
        return info.rc == mqtt.MQTT_ERR_SUCCESS

    async def disconnect(self) -> None:
        if not self.closed.is_set():
            self._client.disconnect()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self.closed.wait()
        self.close()

    def close(self) -> None:
        """Drop the socket without DISCONNECT (the will fires, as after a crash)."""
        sock = self._client.socket()
        if sock is not None:
            self._on_socket_close(sock)
        with contextlib.suppress(Exception):
            self._client._sock_close()  # no public abort in paho; closing keeps the will intact
        if self.loss is None:
            self.loss = LinkLostError("closed by the agent")
        self._fail_all(self.loss)
        self.closed.set()


def _close_sockets_in(tb: TracebackType | None) -> None:
    """paho leaves its socket open when the TLS handshake fails, referenced only by the
    traceback's frames: close it here instead of leaking a descriptor per reconnect."""
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            if isinstance(value, socket.socket):
                value.close()
        tb = tb.tb_next
