"""The nurses' page live waveform: how far behind the stethoscope the tablet's trace runs.

A real agent process (simulated stethoscope at real-time speed, the page on), a signed-in
HTTP client reading the Server-Sent Events the page's script reads. Latency is the wall-clock
time an event arrives minus the capture time of the newest sample it carries. The baseline,
in the same run and from the same stethoscope, is the doctor's live MQTT stream (a QoS 0
chunk per block through Mosquitto): the page should not be slower than the doctor's ear.
Goal (issue 14): the page at most 250 ms behind capture, at least 5 updates a second.
The simulator's stream clock starts a few milliseconds off the wall clock, so absolute values
carry that constant; the page's own share is the difference to the MQTT baseline. A sample
also waits for its block to fill on the stethoscope (1 / updates_per_s) before either path
can carry it.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from edge_agent.exam.store import exam_dir
from edge_agent.pipeline.live import decode_chunk
from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.mqtt import MqttConnection, MqttSettings
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from edge_agent.wire import messages, topics

ROOT = Path(__file__).resolve().parents[1]
SITE, DEVICE, PIN = "bench", "steth-1", "975310"
SECONDS = float(os.environ.get("PAGE_LIVE_BENCH_S", "20"))


def _config(state: Path, broker: int, web: int) -> str:
    return (f'site = "{SITE}"\nagent_id = "pi"\n[broker]\nport = {broker}\n[storage]\n'
            f'state_dir = "{state}"\n[web]\nport = {web}\n[[devices]]\nid = "{DEVICE}"\n'
            'kind = "simulated"\n')  # fmt: skip


def _summary(latencies_ms: list[float], events: int, seconds: float) -> dict[str, float]:
    ordered = sorted(latencies_ms)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
        "updates_per_s": round(events / seconds, 1),
    }


async def _page(base: str, seconds: float) -> dict[str, float]:
    # unsafe: the jar keeps cookies of an IP address (127.0.0.1), as a browser does
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        page = await (await http.get(f"{base}/login")).text()
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        await http.post(f"{base}/login", data={"staff": "bench", "secret": PIN,
                                                "csrf": token.group(1)})  # fmt: skip
        latencies: list[float] = []
        events = 0
        async with http.get(f"{base}/live/{DEVICE}") as stream:
            stream.raise_for_status()
            end = time.monotonic() + seconds
            async for line in stream.content:
                if time.monotonic() > end:
                    break
                if line.startswith(b"data: "):
                    frames = json.loads(line[6:])
                    latencies.append((time.time() - frames[-1]["t"]) * 1000)
                    events += 1
        return _summary(latencies, events, seconds)


async def _mqtt(broker: LocalBroker, seconds: float) -> dict[str, float]:
    """The doctor's live stream of the same stethoscope, asked for with a live_start command."""
    doctor = MqttConnection(MqttSettings(broker.host, broker.port, "bench-doctor"))
    await doctor.connect()
    await doctor.subscribe([topics.live(SITE, DEVICE)])
    command = messages.CommandMessage(
        command_id=uuid.uuid4(),
        action="live_start",
        device=DEVICE,
        timeout_s=seconds + 30,
        by="bench",
        at=datetime.now(tz=UTC),
    )
    await doctor.publish(OutboundMessage(topics.command(SITE, "pi"), messages.to_json(command)),
                         timeout_s=10)  # fmt: skip
    latencies: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            message = await asyncio.wait_for(doctor.messages.get(), timeout=2)
        except TimeoutError:
            continue
        header, pcm = decode_chunk(message.payload)
        newest = header.captured_at + len(pcm) / header.sample_rate_hz
        latencies.append((time.time() - newest) * 1000)
    await doctor.disconnect()
    return _summary(latencies, len(latencies), seconds)


async def _measure(base: str, broker: LocalBroker, seconds: float) -> dict[str, Any]:
    page, mqtt = await asyncio.gather(_page(base, seconds), _mqtt(broker, seconds))
    return {"page_sse": page, "doctor_mqtt_live": mqtt,
            # Both count from the simulator's stream clock, whose zero sits a few ms off the
            # wall clock (values can be negative): the difference is the page's own delay.
            "page_minus_mqtt_median_ms": round(page["median_ms"] - mqtt["median_ms"], 1),
            "page_minus_mqtt_p95_ms": round(page["p95_ms"] - mqtt["p95_ms"], 1),
            "goal": {"max_behind_ms": 250, "min_updates_per_s": 5}}  # fmt: skip


def _wait_for_port(port: int, agent: subprocess.Popen[bytes], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and agent.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the agent's page did not listen on {port}")


def run(seconds: float = SECONDS) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = LocalBroker(work / "mosquitto")
        broker.start()
        state = work / "state"
        accounts = Accounts(exam_dir(state) / ACCOUNTS_FILE)
        accounts.add("bench", "Bench", PIN)
        accounts.close()
        web = free_port()
        config = work / "agent.toml"
        config.write_text(_config(state, broker.port, web))
        command = [sys.executable, "-m", "stetho_cli", "run", "-c", str(config)]
        agent = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
        try:
            _wait_for_port(web, agent)
            time.sleep(1)  # the simulated stethoscope connects and streams
            return asyncio.run(_measure(f"http://127.0.0.1:{web}", broker, seconds))
        finally:
            agent.terminate()
            agent.wait(timeout=15)
            broker.kill()


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
