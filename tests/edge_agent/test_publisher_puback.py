"""Nothing is marked sent before its PUBACK: a real Mosquitto behind a gate we control.

The gate is an asyncio TCP proxy on the test's own loop. It reads MQTT packets off the broker's
side by their fixed header (MQTT 5.0, 2.1.1: type in the high nibble of byte 1, then the
Remaining Length as a variable byte integer, 1.5.5), forwards every packet except PUBACKs while
it holds them, and can cut the link. So the broker has received and acknowledged a PUBLISH
whose PUBACK the agent never sees: the one moment where marking a message sent would lose it.

A monitor reads the outbox file on its own connection every few milliseconds and checks that
the rows marked sent never outnumber the PUBACKs the agent was given. The scenario takes a few
seconds; a publisher that marks before the PUBACK fails in well under one.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboundMessage, OutboxStore
from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.publisher import Publisher
from stetho_testkit.mqtt_client import MqttTestClient
from stetho_testkit.poll import eventually

pytestmark = pytest.mark.broker

PUBLISH, PUBACK = 3, 4
WINDOW = 4  # max_inflight: PUBLISHes the agent sends before it needs a PUBACK
TOTAL = 12


class PubackGate:
    """Agent <-> gate <-> broker; PUBACKs to the agent can be held, the link can be cut."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.port = 0
        self.holding = True
        self.connections = 0
        self.publishes_seen = 0  # QoS 1 PUBLISH packets from the agent, all connections
        self.pubacks_forwarded = 0
        self.held: list[bytes] = []
        self._agent_writer: asyncio.StreamWriter | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, agent_r: asyncio.StreamReader, agent_w: asyncio.StreamWriter) -> None:
        broker_r, broker_w = await asyncio.open_connection("127.0.0.1", self.broker_port)
        self.connections += 1
        self.held = []  # PUBACKs held for an earlier connection are gone with it
        self._agent_writer = agent_w
        self._writers += [agent_w, broker_w]
        for pump in (self._to_broker(agent_r, broker_w), self._to_agent(broker_r, agent_w)):
            task = asyncio.create_task(pump)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _to_broker(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                packet = await read_packet(src)
                if packet[0] >> 4 == PUBLISH and (packet[0] >> 1) & 3 == 1:
                    self.publishes_seen += 1
                dst.write(packet)
                await dst.drain()

    async def _to_agent(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                packet = await read_packet(src)
                if packet[0] >> 4 == PUBACK and self.holding:
                    self.held.append(packet)
                    continue
                await self._forward(packet, dst)

    async def _forward(self, packet: bytes, dst: asyncio.StreamWriter) -> None:
        if packet[0] >> 4 == PUBACK:
            self.pubacks_forwarded += 1  # counted before the agent can possibly see it
        dst.write(packet)
        await dst.drain()

    async def release(self, count: int) -> None:
        """Let the oldest `count` held PUBACKs through, keep holding the rest."""
        assert self._agent_writer is not None
        for packet in self.held[:count]:
            await self._forward(packet, self._agent_writer)
        del self.held[:count]

    async def heal(self) -> None:
        self.holding = False
        await self.release(len(self.held))

    def cut(self) -> None:
        """Drop every connection at once, held PUBACKs included (the broker has the messages)."""
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()
        self.held = []

    async def close(self) -> None:
        self.cut()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def read_packet(reader: asyncio.StreamReader) -> bytes:
    """One whole MQTT control packet: fixed header byte, Remaining Length, the rest."""
    head = await reader.readexactly(1)
    length_bytes = b""
    length, shift = 0, 0
    while True:
        byte = await reader.readexactly(1)
        length_bytes += byte
        length |= (byte[0] & 0x7F) << shift
        if not byte[0] & 0x80:
            break
        shift += 7
        if shift > 21:
            raise ValueError("Remaining Length longer than four bytes")
    return head + length_bytes + await reader.readexactly(length)


def sent_seqs(path: Path) -> set[int]:
    """Rows marked sent, read on a connection of our own (committed state only)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT seq FROM messages WHERE sent_at IS NOT NULL").fetchall()
    finally:
        db.close()
    return {int(seq) for (seq,) in rows}


def messages() -> list[OutboundMessage]:
    alert = OutboundMessage(
        "stetho/v1/s/a/alert",
        b"alert-0",
        qos=1,
        content_type="application/json",
        expiry_s=7 * 24 * 3600,
        user_properties=(("recording_id", "r-0"),),
        recording_id="r-0",
    )
    rest = [
        OutboundMessage("stetho/v1/s/a/m", f"m-{i}".encode(), recording_id=f"r-{i}")
        for i in range(1, TOTAL)
    ]
    return [alert, *rest]


async def until(predicate: Callable[[], object], timeout_s: float, what: str) -> None:
    await eventually(predicate, timeout_s, 0.005, what=what)


async def scenario(broker: LocalBroker, path: Path) -> tuple[list[str], Publisher]:
    gate = PubackGate(broker.port)
    await gate.start()
    store = OutboxStore(path, 10**9, min_free_disk_bytes=0)
    # The store's own connection, as the publisher uses it: durability as promised.
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    outbox = Outbox(store)
    await outbox.put_many(messages())
    settings = MqttSettings("127.0.0.1", gate.port, client_id="puback-agent", max_inflight=WINDOW)
    publisher = Publisher(settings, outbox)
    violations: list[str] = []

    async def monitor() -> None:
        while True:
            marked = await asyncio.to_thread(sent_seqs, path)
            if len(marked) > gate.pubacks_forwarded:
                violations.append(
                    f"{len(marked)} marked sent after {gate.pubacks_forwarded} PUBACKs"
                )
            await asyncio.sleep(0.005)

    watcher = asyncio.create_task(monitor())
    task = asyncio.create_task(publisher.run())
    try:
        # 1. The link stalls between PUBLISH and PUBACK: the broker has the window, we hold
        #    its acknowledgements. Nothing may be marked sent.
        await until(lambda: len(gate.held) == WINDOW, 5, "a window of held PUBACKs")
        await asyncio.sleep(0.3)  # time enough for a wrongful mark to reach the file
        assert violations == [] and sent_seqs(path) == set()
        assert gate.publishes_seen == WINDOW

        # 2. Two PUBACKs get through: exactly those two messages are marked, in order.
        await gate.release(2)
        await until(lambda: sent_seqs(path) == {1, 2}, 5, "the two acknowledged marks")
        await until(lambda: len(gate.held) == WINDOW, 5, "the window to refill")
        await asyncio.sleep(0.2)
        assert sent_seqs(path) == {1, 2}

        # 3. The link drops with PUBACKs in flight; the agent reconnects through the gate,
        #    publishes again from the outbox, and is still held.
        before = gate.publishes_seen
        gate.cut()
        await until(lambda: gate.connections == 2, 5, "the agent to reconnect")
        await until(lambda: len(gate.held) == WINDOW, 5, "held PUBACKs on the new link")
        await asyncio.sleep(0.2)
        assert sent_seqs(path) == {1, 2}
        assert gate.publishes_seen - before >= WINDOW

        # 4. Healed: everything is acknowledged, marked and delivered.
        await gate.heal()
        await until(lambda: len(sent_seqs(path)) == TOTAL, 10, "every message marked sent")
        assert (await outbox.stats()).pending == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        await gate.close()
        outbox.close()
    return violations, publisher


def test_nothing_is_marked_sent_before_its_puback(broker: LocalBroker, tmp_path: Path) -> None:
    with MqttTestClient(broker.host, broker.port, ["stetho/v1/#"]) as doctor:
        violations, publisher = asyncio.run(scenario(broker, tmp_path / "outbox.db"))
        got = doctor.wait_for(lambda m: len({x.payload for x in m}) >= TOTAL, 10)
    assert violations == []
    assert {m.payload for m in got} == {m.payload for m in messages()}
    assert publisher.stats.connects == 2
    # The alert kept its expiry, content type and properties through SQLite and the broker.
    alert = next(m for m in got if m.payload == b"alert-0")
    assert alert.topic == "stetho/v1/s/a/alert"
    assert alert.properties["ContentType"] == "application/json"
    assert alert.properties["UserProperty"] == [("recording_id", "r-0")]
    expiry = alert.properties["MessageExpiryInterval"]
    assert isinstance(expiry, int) and 7 * 24 * 3600 - 30 <= expiry <= 7 * 24 * 3600
    plain = next(m for m in got if m.payload == b"m-1")
    assert "MessageExpiryInterval" not in plain.properties
    assert plain.retain is False
