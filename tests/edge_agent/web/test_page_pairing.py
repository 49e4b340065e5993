"""Pairing from the page: a nurse scans, pairs a stethoscope, and records with it at once.

The running agent's radio is the simulator's air (the hardware boundary: bleak backends that
answer with the profile's exact GATT bytes; a keypad stethoscope's pairing calls our BlueZ agent's
DisplayPasskey as BlueZ would); scanning, pairing, the registry, the daemon's device loop and the
exam are the real code, over real HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from edge_agent.config import AgentConfig, RadioConfig, parse_config
from edge_agent.exam import ExamStore, Resident
from edge_agent.exam.store import exam_dir
from edge_agent.pipeline import radio
from edge_agent.runtime import daemon
from edge_agent.runtime.local_broker import free_port
from edge_agent.storage.registry import DeviceRegistry
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from firmware_bridge import pairing
from firmware_bridge.sources import SimulatedStethoscope
from stetho_testkit.poll import eventually

PIN = "246810"
ADDRESS = "5E:7A:00:00:01:01"
DEVICE = "stetho-sim-1-0101"


def _prepare(state: Path) -> None:
    accounts = Accounts(exam_dir(state) / ACCOUNTS_FILE)
    accounts.add("nurse-a", "Marie", PIN)
    accounts.add("nurse-b", "Paul", PIN)
    accounts.close()
    store = ExamStore(exam_dir(state) / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1")])
    store.close()


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    page = await (await http.get(url)).text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def _until(check: Callable[[], object], timeout_s: float) -> None:
    await eventually(check, timeout_s, 0.05)


def _config(state: Path, port: int, keypad: str, speed: float) -> AgentConfig:
    return parse_config({
        "site": "home", "agent_id": "pi", "broker": {"port": free_port()},
        "storage": {"state_dir": str(state)}, "exam": {"duration_s": 2},
        "web": {"port": port}, "radio": {"simulated": ["normal"], "speed": speed, "keypad": keypad},
    }, "test")  # fmt: skip


async def _signed_in(base: str, staff: str) -> tuple[aiohttp.ClientSession, str]:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    http = aiohttp.ClientSession(base, cookie_jar=jar)
    for _ in range(100):
        try:
            token = await _csrf(http, "/login")
            break
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.1)
    await http.post("/login", data={"staff": staff, "secret": PIN, "csrf": token})
    return http, await _csrf(http, "/stethoscopes")


async def _start_pairing(http: aiohttp.ClientSession, token: str) -> str:
    """Scan, press Pair; returns the status page's URL path."""
    listed = await (await http.post("/stethoscopes/scan", data={"csrf": token})).text()
    (address,) = re.findall(r'data-address="([^"]+)"', listed)
    assert address == ADDRESS
    page = await http.post(
        "/stethoscopes/pair", data={"csrf": token, "address": address, "location": "B"}
    )
    text = await page.text()
    assert page.status == 200 and "/stethoscopes/pairing/" in page.url.path, text
    # It refreshes itself with the Pi's own script file: the strict CSP stays.
    assert "<script>" not in text and 'src="/static/pairing.js"' in text
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    return page.url.path


async def _page_when(http: aiohttp.ClientSession, path: str, phase: str) -> str:
    """Poll the state as the page's script does; the page once it shows `phase`."""
    deadline = time.monotonic() + 15.0
    while True:
        state = json.loads(await (await http.get(path + "/state")).text())
        if state["phase"] == phase:
            return await (await http.get(path)).text()
        assert not state["finished"] and time.monotonic() < deadline, state
        await asyncio.sleep(0.05)


def _passkey(page: str) -> str:
    found = re.search(r'<p class="passkey" id="passkey">(.*?)</p>', page)
    assert found, page
    return "".join(re.findall(r"<span>(\d)</span>", found.group(1)))


def _keypad(agent: daemon.Agent) -> SimulatedStethoscope:
    assert agent.radio.air is not None
    return agent.radio.air.peripherals[ADDRESS]


async def _running(config: AgentConfig) -> tuple[daemon.Agent, asyncio.Task[None]]:
    agent = daemon.Agent(config)
    return agent, asyncio.create_task(agent.run())


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_simulated_air_scans_as_fast_as_it_runs_and_bluez_for_scan_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The page's scan at the simulator's speed 20 (0.25 s) still hears the stethoscope; the
    # browser tests' agents (speed 4) scan 1.25 s instead of 5.
    fast = radio.radio_for(RadioConfig(simulated=["normal"], speed=20.0))
    started = time.monotonic()
    found = asyncio.run(radio.scan(fast))
    assert [a.address for a in found] == [ADDRESS]
    assert time.monotonic() - started < radio.SCAN_S / 4
    # BlueZ (no adapter here: its scan faked at the bleak boundary) listens SCAN_S.
    listened: list[float] = []

    async def bluez_scan(timeout_s: float, **_: object) -> list[pairing.Advertised]:
        listened.append(timeout_s)
        return []

    monkeypatch.setattr(pairing, "scan", bluez_scan)
    assert asyncio.run(radio.scan(radio.radio_for(RadioConfig()))) == []
    assert listened == [radio.SCAN_S]


def test_a_nurse_pairs_a_keypad_stethoscope_and_records_with_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    state = tmp_path / "state"
    _prepare(state)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def main() -> None:
        agent, task = await _running(_config(state, port, "waits", 4.0))
        http, token = await _signed_in(base, "nurse-a")
        other, other_token = await _signed_in(base, "nurse-b")
        async with http, other:
            path = await _start_pairing(http, token)
            page = await _page_when(http, path, "passkey")
            passkey = _passkey(page)
            assert len(passkey) == 6
            # A second nurse sees who pairs what, not the passkey, and cannot start another.
            listing = await (await other.get("/stethoscopes")).text()
            assert "Marie is pairing 5E:7A:00:00:01:01" in listing
            seen = await (await other.get(path)).text()
            assert 'id="passkey"' not in seen and "Marie is typing" in seen
            busy = await other.post(
                "/stethoscopes/pair", data={"csrf": other_token, "address": ADDRESS}
            )
            assert busy.status == 409 and "Marie is already pairing" in await busy.text()
            started = time.monotonic()
            _keypad(agent).keypad.type_passkey(int(passkey))  # the nurse types it
            done = await _page_when(http, path, "paired")
            assert f"Paired as {DEVICE}" in done and 'id="pair-cancel"' not in done
            slot = agent.exams.slots[DEVICE]
            await _until(lambda: slot.connected, 5.0)
            assert time.monotonic() - started < 5.0
            assert DeviceRegistry(state).get(DEVICE).location == "B"
            listing = await (await http.get("/stethoscopes")).text()
            assert f'data-device="{DEVICE}"' in listing and "is pairing" not in listing
            await _record_a_site(agent, http)
        await _stop(task)
        audit = agent_audit(state)
        assert ("nurse-a", "pair-stethoscope-start", ADDRESS) in audit
        assert ("nurse-a", "pair-stethoscope", DEVICE) in audit
        logged = "\n".join(r.getMessage() for r in caplog.records)
        assert "event=pairing_passkey_shown" in logged and passkey not in logged

    asyncio.run(main())


async def _record_a_site(agent: daemon.Agent, http: aiohttp.ClientSession) -> None:
    """Usable at once: an exam records its site with the new stethoscope."""
    token = await _csrf(http, "/residents/res-1")
    opened = await http.post("/exams", data={
        "csrf": token, "resident": "res-1", "protocol": "custom", "site": "mitral",
        "age_band": "adult"})  # fmt: skip
    exam_id = uuid.UUID(str(opened.url).rsplit("/", 1)[1])
    recorded = await http.post(f"/exams/{exam_id}/record", data={
        "csrf": token, "site": "mitral", "device": DEVICE})  # fmt: skip
    assert recorded.status == 200, await recorded.text()
    exam = agent.exams.active(exam_id)
    await _until(lambda: exam.recordings, 20.0)
    assert exam.recordings[0].device == DEVICE


def test_timeout_wrong_passkey_and_cancel_are_told_in_words(tmp_path: Path) -> None:
    state = tmp_path / "state"
    _prepare(state)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    async def main() -> None:
        # At 20x, the simulated stethoscope's 30 s SMP timeout is 1.5 s.
        agent, task = await _running(_config(state, port, "waits", 20.0))
        http, token = await _signed_in(base, "nurse-a")
        async with http:
            await http.get("/lang/fr")
            path = await _start_pairing(http, token)
            await _page_when(http, path, "passkey")  # ... and nobody types it
            page = await _page_when(http, path, "failed")
            assert 'data-reason="timeout"' in page and "Trop tard" in page
            assert 'id="passkey"' not in page  # the passkey is gone with the pairing
            path = await _start_pairing(http, token)
            passkey = _passkey(await _page_when(http, path, "passkey"))
            _keypad(agent).keypad.type_passkey((int(passkey) + 1) % 1_000_000)
            page = await _page_when(http, path, "failed")
            assert 'data-reason="rejected"' in page and "nombre tapé était faux" in page
            path = await _start_pairing(http, token)
            await _page_when(http, path, "passkey")
            cancelled = await http.post(path + "/cancel", data={"csrf": token})
            assert "Association annulée" in await cancelled.text()
            assert (await _page_when(http, path, "cancelled")).count('id="pair-cancel"') == 0
        await _stop(task)
        assert DeviceRegistry(state).list() == []
        actions = [a for _, a, _ in agent_audit(state)]
        assert actions.count("pair-stethoscope-start") == 3
        assert "pair-stethoscope-failed" in actions and "pair-stethoscope-cancel" in actions
        assert "pair-stethoscope" not in actions

    asyncio.run(main())


def agent_audit(state: Path) -> list[tuple[str, str, str]]:
    accounts = Accounts(exam_dir(state) / ACCOUNTS_FILE)
    try:
        return [(s, a, subj) for _, s, a, subj in accounts.audit_log()]
    finally:
        accounts.close()
