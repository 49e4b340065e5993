"""Pairing from the page: a nurse scans, pairs a stethoscope, and records with it at once.

The running agent's radio is the simulator's air (the hardware boundary: bleak backends that
answer with the profile's exact GATT bytes); scanning, pairing, the registry, the daemon's
device loop and the exam are the real code, over real HTTP.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from edge_agent.config import parse_config
from edge_agent.exam import ExamStore, Resident
from edge_agent.exam.store import exam_dir
from edge_agent.pipeline import radio
from edge_agent.runtime import daemon
from edge_agent.runtime.local_broker import free_port
from edge_agent.storage.registry import DeviceRegistry
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts

PIN = "246810"


def _prepare(state: Path) -> None:
    accounts = Accounts(exam_dir(state) / ACCOUNTS_FILE)
    accounts.add("nurse-a", "Marie", PIN)
    accounts.close()
    store = ExamStore(exam_dir(state) / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1")])
    store.close()


async def _csrf(http: aiohttp.ClientSession, url: str) -> str:
    page = await (await http.get(url)).text()
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


async def _until(check: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_a_nurse_pairs_a_stethoscope_and_records_with_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(radio, "SCAN_S", 1.0)
    state = tmp_path / "state"
    _prepare(state)
    port = free_port()
    config = parse_config({
        "site": "home", "agent_id": "pi", "broker": {"port": free_port()},
        "storage": {"state_dir": str(state)}, "exam": {"duration_s": 2},
        "web": {"port": port}, "radio": {"simulated": ["normal"], "speed": 4.0},
    }, "test")  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    async def main() -> None:
        agent = daemon.Agent(config)
        task = asyncio.create_task(agent.run())
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
        async with aiohttp.ClientSession(base, cookie_jar=jar) as http:
            for _ in range(100):
                try:
                    token = await _csrf(http, "/login")
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            await http.post("/login", data={"staff": "nurse-a", "secret": PIN, "csrf": token})
            token = await _csrf(http, "/stethoscopes")
            listed = await (await http.post("/stethoscopes/scan", data={"csrf": token})).text()
            (address,) = re.findall(r'data-address="([^"]+)"', listed)
            assert address == "5E:7A:00:00:01:01"
            started = time.monotonic()
            page = await http.post(
                "/stethoscopes/pair", data={"csrf": token, "address": address, "location": "B"}
            )
            text = await page.text()
            device = "stetho-sim-1-0101"
            assert page.status == 200 and f"Paired as {device}" in text
            assert f'data-device="{device}"' in text  # listed at once, no 5 s wait
            slot = agent.exams.slots[device]
            await _until(lambda: slot.connected, 5.0)
            assert time.monotonic() - started < 5.0
            assert DeviceRegistry(state).get(device).location == "B"
            # Usable at once: an exam records its site with it.
            token = await _csrf(http, "/residents/res-1")
            opened = await http.post("/exams", data={
                "csrf": token, "resident": "res-1", "protocol": "custom", "site": "mitral",
                "age_band": "adult"})  # fmt: skip
            exam_id = uuid.UUID(str(opened.url).rsplit("/", 1)[1])
            recorded = await http.post(f"/exams/{exam_id}/record", data={
                "csrf": token, "site": "mitral", "device": device})  # fmt: skip
            assert recorded.status == 200, await recorded.text()
            exam = agent.exams.active(exam_id)
            await _until(lambda: exam.recordings, 20.0)
            assert exam.recordings[0].device == device
            audit = agent_audit(state)
            assert ("nurse-a", "pair-stethoscope", device) in audit
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())


def agent_audit(state: Path) -> list[tuple[str, str, str]]:
    accounts = Accounts(exam_dir(state) / ACCOUNTS_FILE)
    try:
        return [(s, a, subj) for _, s, a, subj in accounts.audit_log()]
    finally:
        accounts.close()
