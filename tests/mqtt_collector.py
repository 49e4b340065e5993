"""A doctor-side MQTT subscriber for tests: collects every message it receives."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    properties: dict[str, object]


class Collector:
    """Subscribes to topic filters and keeps what arrives, in order.

    Tests may use paho's network thread here: this is the test's side, not the agent's.
    """

    def __init__(
        self,
        host: str,
        port: int,
        topics: list[str],
        client_id: str = "",
        clean_start: bool = True,
        session_expiry_s: int = 0,
    ) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._topics = topics
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._host, self._port = host, port
        self._clean_start = clean_start
        self._session_expiry_s = session_expiry_s

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: object, props: object
    ) -> None:
        client.subscribe([(t, 1) for t in self._topics])

    def _on_subscribe(
        self, client: mqtt.Client, userdata: object, mid: int, rcs: object, props: object
    ) -> None:
        self._subscribed.set()

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        props: dict[str, object] = {}
        if msg.properties is not None:
            for name in ("ContentType", "UserProperty", "MessageExpiryInterval", "CorrelationData"):
                if hasattr(msg.properties, name):
                    props[name] = getattr(msg.properties, name)
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain), props))

    def __enter__(self) -> Collector:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = self._session_expiry_s
        self._client.connect(
            self._host, self._port, clean_start=self._clean_start, properties=props
        )
        self._client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("test subscriber did not get SUBACK")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def on(self, topic_suffix: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(topic_suffix)]

    def wait_for(
        self, predicate: Callable[[list[Received]], bool], timeout_s: float = 30.0
    ) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.messages)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.05)
        with self._lock:
            topics = [m.topic for m in self.messages]
        raise TimeoutError(f"condition not met in {timeout_s} s; received topics: {topics}")
