"""The test's side of MQTT: a paho v5 client that subscribes, publishes and keeps what arrives.

Tests may use paho's network thread here; the agent itself never does.
"""

from __future__ import annotations

import gc
import ssl
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from stetho_testkit.poll import wait_until

TIMEOUT_S = 10.0
_KEPT_PROPERTIES = ("ContentType", "UserProperty", "MessageExpiryInterval", "CorrelationData")


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: dict[str, object]
    at: float = field(default_factory=time.time)  # when it arrived here (wall clock)


class Refused(Exception):
    """The broker did not accept the connection; `cause` says how it ended."""

    def __init__(self, cause: BaseException | str) -> None:
        self.cause = cause
        super().__init__(str(cause))


def release_leaked_socket(exc: BaseException) -> None:
    """paho leaves its TLS socket open when the handshake fails; only the traceback's
    frames still reference it. Drop them now, so the socket is closed here rather than
    warned about (ResourceWarning is an error in this suite) in some later test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        exc.__traceback__ = None
        gc.collect()


class MqttTestClient:
    """Connects (optionally over TLS), subscribes to ``topics`` on every connect, collects.

    Parameters
    ----------
    topics : sequence of str
        Filters subscribed at QoS 1 on each (re)connection; entering waits for their SUBACK.
    tls : ssl.SSLContext, optional
        Mutual TLS for the deployment tests.
    clean_start, session_expiry_s : bool, int
        MQTT v5 session settings, for tests of what a persistent session receives.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topics: Sequence[str] = (),
        client_id: str = "",
        *,
        tls: ssl.SSLContext | None = None,
        clean_start: bool = True,
        session_expiry_s: int = 0,
    ) -> None:
        self.messages: list[Received] = []
        self._host, self._port = host, port
        self._topics = list(topics)
        self._clean_start = clean_start
        self._session_expiry_s = session_expiry_s
        self._lock = threading.Lock()
        self._connack = threading.Event()
        self._connect_rc: ReasonCode | None = None
        self._disconnected = threading.Event()
        self._subscribed = threading.Event()
        self._subacks: dict[int, threading.Event] = {}
        self._pubacks: dict[int, ReasonCode] = {}
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        if tls is not None:
            self._client.tls_set_context(tls)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._client.on_message = self._on_message

    def _on_connect(
        self, client: mqtt.Client, ud: object, flags: object, rc: ReasonCode, props: object
    ) -> None:
        self._connect_rc = rc
        self._connack.set()
        if self._topics and not rc.is_failure:
            client.subscribe([(t, 1) for t in self._topics])

    def _on_disconnect(
        self, client: mqtt.Client, ud: object, flags: object, rc: object, props: object
    ) -> None:
        self._disconnected.set()

    def _on_subscribe(
        self, client: mqtt.Client, ud: object, mid: int, rcs: object, props: object
    ) -> None:
        self._subacks.setdefault(mid, threading.Event()).set()
        self._subscribed.set()

    def _on_publish(
        self, client: mqtt.Client, ud: object, mid: int, rc: ReasonCode, props: object
    ) -> None:
        with self._lock:
            self._pubacks[mid] = rc

    def _on_message(self, client: mqtt.Client, ud: object, msg: mqtt.MQTTMessage) -> None:
        props: dict[str, object] = {}
        if msg.properties is not None:
            for name in _KEPT_PROPERTIES:
                if hasattr(msg.properties, name):
                    props[name] = getattr(msg.properties, name)
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), props))

    def connect(self) -> None:
        """Return once CONNACK accepted us (and ``topics`` are subscribed); raise Refused
        otherwise (a TLS error, a refusal or the broker closing the connection)."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self._session_expiry_s
        try:
            self._client.connect(
                self._host, self._port, clean_start=self._clean_start, properties=props
            )
        except (OSError, ssl.SSLError) as exc:
            release_leaked_socket(exc)
            raise Refused(exc) from None
        self._client.loop_start()
        if not self._accepted():
            self._client.loop_stop()
            raise Refused(f"no accepted CONNACK (reason: {self._connect_rc})")
        if self._topics and not self._subscribed.wait(TIMEOUT_S):
            raise TimeoutError("test subscriber did not get SUBACK")

    def _accepted(self) -> bool:
        def answered() -> bool:
            return self._connack.is_set() or self._disconnected.is_set()

        try:
            wait_until(answered, TIMEOUT_S, every_s=0.01, what="a CONNACK or a disconnect")
        except TimeoutError:
            return False
        if not self._connack.is_set():
            return False
        return self._connect_rc is not None and not self._connect_rc.is_failure

    def subscribe(self, *filters: str) -> None:
        _rc, mid = self._client.subscribe([(f, 1) for f in filters])
        assert mid is not None  # paho gives no id only when the client is not connected
        if not self._subacks.setdefault(mid, threading.Event()).wait(TIMEOUT_S):
            raise TimeoutError("no SUBACK")

    def publish(
        self, topic: str, payload: bytes, retain: bool = False, properties: Properties | None = None
    ) -> ReasonCode:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        info = self._client.publish(topic, payload, qos=1, retain=retain, properties=properties)

        def acked() -> bool:
            with self._lock:
                return info.mid in self._pubacks

        wait_until(acked, TIMEOUT_S, every_s=0.005, what=f"a PUBACK for {topic}")
        with self._lock:
            return self._pubacks[info.mid]

    def on(self, topic_suffix: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(topic_suffix)]

    def topics(self) -> list[str]:
        with self._lock:
            return [m.topic for m in self.messages]

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout_s: float = 30.0
    ) -> list[Received]:
        snapshot: list[Received] = []

        def met() -> bool:
            with self._lock:
                snapshot[:] = self.messages
            return predicate(snapshot)

        wait_until(
            met,
            timeout_s,
            every_s=0.02,
            what="the messages waited for",
            describe=lambda: f"received {self.topics()}",
        )
        return snapshot

    def __enter__(self) -> MqttTestClient:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        # loop_start's wake-up socket pair is closed only by paho's Client.__del__, which the
        # cyclic collector may run after the sockets' own finalizers: a ResourceWarning.
        self._client._reset_sockets(sockpair_only=True)
