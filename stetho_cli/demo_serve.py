"""`stetho demo --serve`: the demo's agent and broker keep running, with the nurses' page on.

Two more simulated stethoscopes record on demand (one normal, one with a slipping chest piece,
to see the re-record prompt); a demo nurse account and four demo residents are created in a
temporary state directory that disappears when the demo stops (Ctrl-C).
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from edge_agent.config import parse_config
from edge_agent.exam import ExamStore, Resident
from edge_agent.exam.store import exam_dir
from edge_agent.runtime.daemon import Agent
from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from stetho_cli.demo import demo_config

DEMO_STAFF = "nurse"
EXAM_DEVICES: list[dict[str, Any]] = [
    {"id": "steth-5", "kind": "simulated", "scenario": "normal", "seed": 5},
    {"id": "steth-6", "kind": "simulated", "scenario": "poor-contact", "seed": 6},
]


def serve_config(state: Path, broker_port: int, web_port: int) -> dict[str, Any]:
    config = demo_config(state, broker_port)
    config["devices"] = [*config["devices"], *EXAM_DEVICES]
    config["web"] = {"listen_host": "127.0.0.1", "port": web_port}
    config["exam"] = {"duration_s": 8}
    # Two simulated stethoscopes in range, to try pairing from the page (Stethoscopes).
    config["radio"] = {"simulated": ["normal", "murmur"]}
    return config


def _prepare(state: Path) -> str:
    pin = f"{secrets.randbelow(10**6):06d}"
    accounts = Accounts(exam_dir(state) / ACCOUNTS_FILE)
    accounts.add(DEMO_STAFF, "Demo nurse", pin)
    accounts.close()
    store = ExamStore(exam_dir(state) / "exams.sqlite3")
    store.add_residents([Resident(f"res-000{i}", f"Demo resident {i}") for i in range(1, 5)])
    store.close()
    return pin


async def serve_demo(console: Console) -> None:
    """Run until cancelled (Ctrl-C), printing where the page is and how to sign in."""
    with (
        tempfile.TemporaryDirectory(prefix="stetho-demo-") as tmp,
        LocalBroker(Path(tmp) / "broker") as broker,
    ):
        state = Path(tmp) / "state"
        pin = await asyncio.to_thread(_prepare, state)
        port = free_port()
        config = parse_config(serve_config(state, broker.port, port), "demo defaults")
        console.print(f"[bold]stetho demo --serve[/]: private broker at {broker.url}")
        console.print(f"the nurses' page: [bold]http://127.0.0.1:{port}/[/]")
        console.print(f"sign in as [bold]{DEMO_STAFF}[/] with PIN [bold]{pin}[/]; Ctrl-C stops")
        await Agent(config).run()
