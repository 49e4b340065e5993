"""Issue 18: a damaged outbox is moved aside, its intact recordings delivered, the rest reported.

Before: one random 4 KiB page in the first pages ended the agent with a traceback and delivered
nothing in 12 of 17 cases. Here an agent stores recordings while no broker is reachable; then,
for several seeded cases, one of the first 16 pages of a copy is overwritten with random bytes
and the agent is started against a real Mosquitto.

"Intact" is judged on the undamaged file: a recording is intact when no page holding its
message rows, its payload cells or their overflow chains is the damaged page.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.storage._pages import scan_table_rows
from edge_agent.storage.salvage import page_size
from stetho_testkit.agent_harness import AgentProcess, MosquittoSub, check_delivery, write_config

pytestmark = pytest.mark.broker
PAGE = 4096
# SQLite pages 1 (header and schema), 2 (the messages table's root) and 4 (the payloads root):
# the pages whose loss hides every row from SQLite; then two pages drawn at random (seeded).
CASES = [(1, 0), (2, 1), (4, 2), (None, 3), (None, 4)]


@pytest.fixture(scope="module")
def stored_state(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    """A state directory whose outbox holds >= 8 unsent recordings (no broker was reachable)."""
    work = tmp_path_factory.mktemp("outbox18")
    state = work / "state"
    config = write_config(work / "a.toml", free_port(), state, speed=10)
    agent = AgentProcess(config, work / "a.log")
    agent.start(wait_connected=False)
    stored = agent.wait_for_stored(8, timeout_s=60)
    assert agent.stop() == 0
    stored = agent.stored_ids()
    return state, stored


def pages_of_recordings(image: bytes) -> dict[str, set[int]]:
    """Every page each recording's rows and payloads sit on (undamaged file)."""
    seq_pages: dict[int, set[int]] = {}
    seq_recording: dict[int, str] = {}
    for row in scan_table_rows(image, page_size(image)):
        message = len(row.values) == 10 and isinstance(row.values[1], str)
        payload = len(row.values) == 2 and isinstance(row.values[1], bytes)
        if message or payload:  # not the schema's or sqlite_sequence's rows
            seq_pages.setdefault(row.rowid, set()).update(row.pages)
        if message:
            seq_recording[row.rowid] = str(row.values[1])
    found: dict[str, set[int]] = {}
    for seq, rid in seq_recording.items():
        found.setdefault(rid, set()).update(seq_pages[seq])
    return found


@pytest.mark.parametrize(("page", "case"), CASES)
def test_damaged_outbox_delivers_every_intact_recording(
    page: int | None,
    case: int,
    stored_state: tuple[Path, set[str]],
    broker: LocalBroker,
    tmp_path: Path,
) -> None:
    source, stored = stored_state
    state = tmp_path / "state"
    shutil.copytree(source, state)
    outbox = state / "outbox.sqlite3"
    image = outbox.read_bytes()
    rng = random.Random(1800 + case)
    damaged = page - 1 if page is not None else rng.randrange(16)  # 0-based index
    with outbox.open("r+b") as f:
        f.seek(damaged * PAGE)
        f.write(rng.randbytes(PAGE))
    intact = {r for r, pages in pages_of_recordings(image).items() if damaged + 1 not in pages}
    assert intact <= stored

    doctor = MosquittoSub(broker.port, f"doctor-d{case}", tmp_path / "doctor.txt")
    doctor.start()
    config = write_config(tmp_path / "a.toml", broker.port, state, speed=10, status_interval_s=0.5)
    agent = AgentProcess(config, tmp_path / "a.log")
    agent.start()
    delivery = doctor.wait_for(intact, timeout_s=60)
    status = agent.wait_for_status(state, lambda s: _check(s) == "salvaged")
    assert agent.stop() == 0
    doctor.stop()
    log = agent.output()
    print(f"case {case}: page {damaged + 1} damaged, {len(intact)} of {len(stored)} intact")
    assert "Traceback" not in log
    assert "event=outbox_damaged" in log and "event=outbox_salvaged" in log
    assert status["outbox"]["check"]["state"] == "salvaged"
    assert list(state.glob("outbox.sqlite3.damaged-*")), "the damaged file was not kept"
    check_delivery(f"damaged-page-{damaged + 1}", intact, delivery)
    # Nothing half-made reached the doctor: every delivered recording is whole and checks out.
    old = delivery.complete_ids() & stored
    check_delivery(f"damaged-page-{damaged + 1}-all", old, delivery)


def test_empty_outbox_in_a_used_state_dir_is_said_loudly(
    stored_state: tuple[Path, set[str]], broker: LocalBroker, tmp_path: Path
) -> None:
    source, _ = stored_state
    state = tmp_path / "state"
    shutil.copytree(source, state)
    (state / "outbox.sqlite3").write_bytes(b"")  # a zero-length file, as a bad SD card leaves
    config = write_config(tmp_path / "a.toml", broker.port, state, speed=10, status_interval_s=0.5)
    agent = AgentProcess(config, tmp_path / "a.log")
    agent.start()
    status = agent.wait_for_status(state, lambda s: _check(s) == "history_lost")
    assert agent.stop() == 0
    assert "event=outbox_history_lost" in agent.output()
    assert status["outbox"]["check"]["state"] == "history_lost"
    assert "empty (0 bytes)" in status["outbox"]["check"]["alarm"]


def _check(status: dict[str, Any]) -> object:
    """The outbox check's state in a status.json (None before the check has run)."""
    # Until the check ends, status.json says "check": null, not a missing key.
    check = status.get("outbox", {}).get("check") or {}
    return check.get("state")
