"""A paho MQTT v5 client over mutual TLS for the deployment tests (the test's side).

Tests may use paho's network thread here; the agent itself never does.
"""

from __future__ import annotations

import gc
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from tests.mqtt_collector import Received

TIMEOUT_S = 10.0


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


class Peer:
    """Connects with a TLS context, then publishes with PUBACK reason codes and collects."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, client_id: str) -> None:
        self.messages: list[Received] = []
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._connack = threading.Event()
        self._connect_rc: ReasonCode | None = None
        self._disconnected = threading.Event()
        self._subacks: dict[int, threading.Event] = {}
        self._pubacks: dict[int, ReasonCode] = {}
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.tls_set_context(context)
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

    def _on_disconnect(
        self, client: mqtt.Client, ud: object, flags: object, rc: object, props: object
    ) -> None:
        self._disconnected.set()

    def _on_subscribe(
        self, client: mqtt.Client, ud: object, mid: int, rcs: object, props: object
    ) -> None:
        self._subacks.setdefault(mid, threading.Event()).set()

    def _on_publish(
        self, client: mqtt.Client, ud: object, mid: int, rc: ReasonCode, props: object
    ) -> None:
        with self._lock:
            self._pubacks[mid] = rc

    def _on_message(self, client: mqtt.Client, ud: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), {}))

    def connect(self) -> None:
        """Return once CONNACK accepted us; raise Refused otherwise (TLS error or close)."""
        try:
            self._client.connect(self._host, self._port, keepalive=30)
        except (OSError, ssl.SSLError) as exc:
            release_leaked_socket(exc)
            raise Refused(exc) from None
        self._client.loop_start()
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            if self._connack.is_set():
                if self._connect_rc is not None and not self._connect_rc.is_failure:
                    return
                break
            if self._disconnected.is_set():
                break
            time.sleep(0.01)
        self._client.loop_stop()
        raise Refused(f"no accepted CONNACK (reason: {self._connect_rc})")

    def subscribe(self, *filters: str) -> None:
        _rc, mid = self._client.subscribe([(f, 1) for f in filters])
        if not self._subacks.setdefault(mid, threading.Event()).wait(TIMEOUT_S):
            raise TimeoutError("no SUBACK")

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> ReasonCode:
        """Publish at QoS 1 and return the broker's PUBACK reason code."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            with self._lock:
                if info.mid in self._pubacks:
                    return self._pubacks[info.mid]
            time.sleep(0.005)
        raise TimeoutError(f"no PUBACK for {topic}")

    def wait_for(self, done: Callable[[list[Received]], bool]) -> list[Received]:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            with self._lock:
                if done(self.messages):
                    return list(self.messages)
            time.sleep(0.01)
        raise TimeoutError(f"condition not met; received {self.topics()}")

    def topics(self) -> list[str]:
        with self._lock:
            return [m.topic for m in self.messages]

    def __enter__(self) -> Peer:
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
