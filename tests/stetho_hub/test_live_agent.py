"""Live listening end to end: a real `stetho run` agent, Mosquitto, the hub's relay, a client.

The hub's relay asks the agent to stream (`live_start`), forwards its chunks to a WebSocket,
and says `live_stop` when the last listener leaves. What reaches the listener must be what
the agent published, byte for byte, at the agent's sample rate, soon after capture.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path

import numpy as np
import pytest

from edge_agent.pipeline.live import decode_chunk
from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.transport.settings import broker_from_url, broker_settings
from edge_agent.wire import topics
from stetho_hub.console.shell import COOKIE
from stetho_testkit.agent_harness import SITE, AgentProcess, write_config
from stetho_testkit.hub.browser import Browser
from stetho_testkit.hub.console import console_running
from stetho_testkit.mqtt_client import MqttTestClient

pytestmark = pytest.mark.broker
CHUNKS = 30
# Capture -> ear, the target; a loaded 2-core test machine gets twice that, loosely.
TARGET_S, LOOSE_S = 0.300, 0.600


async def _listen(url: str, cookie: str, count: int) -> list[tuple[float, bytes]]:
    import aiohttp

    heard: list[tuple[float, bytes]] = []
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, headers={"Cookie": cookie}) as ws,
    ):
        while len(heard) < count:
            msg = await ws.receive(timeout=30)
            assert msg.type == aiohttp.WSMsgType.BINARY, msg
            heard.append((time.time(), msg.data))
    return heard


def test_a_real_agent_streams_live_to_a_listener_through_the_hub(
    broker: LocalBroker, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "agent.toml", broker.port, tmp_path / "state", speed=1.0,
        interval_s=600.0, duration_s=5.0,
    )  # fmt: skip
    # The console's archive knows home-a's steth-a: the agent plays that care home.
    config.write_text(config.read_text().replace(f'site = "{SITE}"', 'site = "home-a"'))
    agent = AgentProcess(config, tmp_path / "agent.log")
    publish = broker_settings(broker_from_url(broker.url), None)
    watched = [topics.live("home-a", "steth-a"), topics.command("home-a", "steth-a")]
    with (
        MqttTestClient(broker.host, broker.port, watched) as wire,
        console_running(tmp_path, publish) as hub,
    ):
        agent.start()
        try:
            doctor = Browser(hub.url)
            assert doctor.sign_in("dr-a") == 303
            cookie = f"{COOKIE}={next(c.value for c in doctor.jar if c.name == COOKIE)}"
            url = hub.url.replace("http", "ws") + "/live/home-a/steth-a/socket"
            heard = asyncio.run(_listen(url, cookie, CHUNKS))
            wire.wait_for(lambda m: any(b'"live_stop"' in x.payload for x in m), timeout_s=20)
            time.sleep(1.0)  # chunks still in flight after the stop
        finally:
            agent.stop()
    output = agent.output()
    commands = [json.loads(m.payload) for m in wire.on("/cmd")]
    assert [c["action"] for c in commands] == ["live_start", "live_stop"], commands
    assert "event=live_started device=steth-a by=dr-a" in output
    assert "event=live_stopped device=steth-a" in output
    published = {decode_chunk(m.payload)[0].seq: m for m in wire.on("/live")}
    capture, relay = [], []
    for arrived, payload in heard:
        header, pcm = decode_chunk(payload)
        sent = published[header.seq]  # every chunk heard is one the agent published...
        assert payload == sent.payload  # ...byte for byte, header and PCM
        assert header.sample_rate_hz == 4000 and pcm.dtype == np.int16 and len(pcm) > 0
        block_s = len(pcm) / header.sample_rate_hz
        # capture -> ear from the block's FIRST sample: it includes the wait for the rest of
        # the block (the simulator's stream clock puts the last sample a little ahead)
        capture.append(arrived - header.captured_at)
        relay.append(arrived - sent.at)  # broker -> hub -> socket, beside the agent's publish
    seqs = [decode_chunk(p)[0].seq for _a, p in heard]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    p50, p95 = statistics.median(capture), float(np.percentile(capture, 95))
    r50 = statistics.median(relay)
    print(
        f"live agent->listener over {len(heard)} chunks of {block_s * 1000:.0f} ms: first sample"
        f" -> ear p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {max(capture) * 1000:.0f}"
        f" ms; broker copy -> ear p50 {r50 * 1000:.1f} ms"
    )
    # The agent stamps capture on the same clock, anchored as the first frame is decoded
    # (firmware_bridge/sources/ble.py `_t0`): a first frame handled late under load stamps
    # every chunk late by as much (-26 ms seen at load 17), never by a tenth of a second.
    assert min(capture) > -0.1
    assert p50 < TARGET_S and p95 < LOOSE_S
