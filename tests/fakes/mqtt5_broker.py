"""A scripted MQTT v5 broker double for issue 18: misbehaves on purpose, at the network boundary.

It speaks just enough MQTT v5 (OASIS MQTT 5.0, §3.1-§3.14) for one agent: CONNECT -> CONNACK,
SUBSCRIBE -> SUBACK, PUBLISH QoS 0/1 -> PUBACK, PINGREQ -> PINGRESP, and a server DISCONNECT
with a reason code. Each connection takes the next `Behaviour` of the script (the last one repeats),
so a test says "close right after CONNACK twice, then behave". It runs on its own thread and loop,
so an agent process or an in-process publisher can use it alike.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from dataclasses import dataclass, field

CONNECT, CONNACK, PUBLISH, PUBACK, SUBSCRIBE, SUBACK = 1, 2, 3, 4, 8, 9
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14


@dataclass(frozen=True)
class Behaviour:
    """What the broker does on one connection."""

    close_after_connack: bool = False  # TCP close right after a successful CONNACK
    stall_subscribe: bool = False  # never answer SUBSCRIBE (CONNACK-then-stall)
    puback_reason: int = 0  # reason code of every PUBACK (0x87: not authorised)
    disconnect_after_s: float | None = None  # server DISCONNECT after this long...
    disconnect_reason: int = 0x8E  # ...with this reason (0x8E: session taken over)
    disconnect_on_publish: int | None = None  # answer a PUBLISH with DISCONNECT(this reason)
    max_packet_size: int | None = None  # CONNACK's Maximum Packet Size property
    v311_only: bool = False  # answer as a 3.1.1-only broker: CONNACK return code 1, close


@dataclass
class Published:
    topic: str
    payload: bytes
    qos: int
    properties: bytes
    packet_bytes: int  # the whole PUBLISH on the wire: fixed header, variable header, payload


@dataclass
class FakeBroker:
    script: list[Behaviour]
    host: str = "127.0.0.1"
    port: int = 0
    connections: int = 0
    received: list[Published] = field(default_factory=list)
    client_ids: list[str] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None
    _server: asyncio.Server | None = None
    _thread: threading.Thread | None = None

    def start(self) -> FakeBroker:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake broker did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    def set_script(self, script: list[Behaviour]) -> None:
        """From now on (new connections): this script, counted from the next connection."""
        self.script = list(script)
        self.connections = 0

    def payloads(self) -> list[bytes]:
        return [p.payload for p in self.received if p.qos == 1]

    def _main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(
            asyncio.start_server(self._client, self.host, self.port)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()
        self._server.close()
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(self._server.wait_closed())
        loop.close()

    def _behaviour(self) -> Behaviour:
        index = min(self.connections, len(self.script) - 1)
        self.connections += 1
        return self.script[index]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        behaviour = self._behaviour()
        try:
            await self._session(behaviour, reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _session(
        self, how: Behaviour, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        kind, _, body = await read_packet(reader)
        if kind != CONNECT:
            return
        self.client_ids.append(_connect_client_id(body))
        if how.v311_only:  # MQTT 3.1.1 §3.2.2.3: 0x01 unacceptable protocol version
            writer.write(bytes([CONNACK << 4, 2, 0, 1]))
            await writer.drain()
            return
        props = (
            b"" if how.max_packet_size is None else b"\x27" + struct.pack("!I", how.max_packet_size)
        )
        writer.write(packet(CONNACK, 0, b"\x00\x00" + varint(len(props)) + props))
        await writer.drain()
        if how.close_after_connack:
            return
        if how.disconnect_after_s is not None:
            asyncio.get_running_loop().call_later(
                how.disconnect_after_s, _disconnect, writer, how.disconnect_reason
            )
        while not writer.is_closing():
            kind, flags, body = await read_packet(reader)
            if kind == SUBSCRIBE and not how.stall_subscribe:
                writer.write(packet(SUBACK, 0, body[:2] + b"\x00" + _granted(body)))
            elif kind == PUBLISH:
                self._on_publish(how, flags, body, writer)
            elif kind == PINGREQ:
                writer.write(packet(PINGRESP, 0, b""))
            elif kind == DISCONNECT:
                return
            await writer.drain()

    def _on_publish(
        self, how: Behaviour, flags: int, body: bytes, writer: asyncio.StreamWriter
    ) -> None:
        qos = (flags >> 1) & 3
        if how.disconnect_on_publish is not None:
            _disconnect(writer, how.disconnect_on_publish)
            return
        (tlen,) = struct.unpack("!H", body[:2])
        topic = body[2 : 2 + tlen].decode()
        pos = 2 + tlen
        pid = body[pos : pos + 2] if qos else b""
        pos += len(pid)
        plen, used = read_varint(body, pos)
        properties = body[pos + used : pos + used + plen]
        payload = body[pos + used + plen :]
        if qos == 1:
            writer.write(packet(PUBACK, 0, pid + bytes([how.puback_reason, 0])))
        if how.puback_reason < 0x80:
            size = 1 + len(varint(len(body))) + len(body)
            self.received.append(Published(topic, payload, qos, properties, size))


def _disconnect(writer: asyncio.StreamWriter, reason: int) -> None:
    if not writer.is_closing():
        writer.write(packet(DISCONNECT, 0, bytes([reason, 0])))
        # As Mosquitto does: the DISCONNECT goes out, then the socket closes; a moment between
        # them lets the client read the reason before a write of its own hits the closed socket.
        asyncio.get_running_loop().call_later(0.2, writer.close)


def _granted(subscribe_body: bytes) -> bytes:
    """One granted-QoS-1 code per topic filter in a SUBSCRIBE (§3.8.3)."""
    plen, used = read_varint(subscribe_body, 2)
    pos, codes = 2 + used + plen, b""
    while pos < len(subscribe_body):
        (tlen,) = struct.unpack("!H", subscribe_body[pos : pos + 2])
        pos += 2 + tlen + 1
        codes += b"\x01"
    return codes


def _connect_client_id(body: bytes) -> str:
    (nlen,) = struct.unpack("!H", body[:2])
    pos = 2 + nlen + 1 + 1 + 2  # name, level, flags, keep-alive
    plen, used = read_varint(body, pos)
    pos += used + plen
    (clen,) = struct.unpack("!H", body[pos : pos + 2])
    return body[pos + 2 : pos + 2 + clen].decode()


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift, used = 0, 0, 0
    while True:
        byte = data[pos + used]
        used += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, used


def packet(kind: int, flags: int, body: bytes) -> bytes:
    return bytes([kind << 4 | flags]) + varint(len(body)) + body


async def read_packet(reader: asyncio.StreamReader) -> tuple[int, int, bytes]:
    first = (await reader.readexactly(1))[0]
    length, shift = 0, 0
    while True:
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
    return first >> 4, first & 0x0F, await reader.readexactly(length)
