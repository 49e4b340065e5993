"""`stetho demo --serve`: agent, broker and hub keep running, with both pages on.

The care home: the demo's agent with two more simulated stethoscopes that record on demand
(one normal, one with a slipping chest piece, to see the re-record prompt), the nurses' page,
a demo nurse and four demo residents. The hospital: the hub (SQLite archive, receipts back to
the agent) serving the doctor's console, with a demo doctor assigned to the demo care home
and a demo administrator. Everything lives in a temporary directory that disappears when the
demo stops (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from edge_agent.config import parse_config
from edge_agent.exam import ExamStore, Resident
from edge_agent.exam.store import exam_dir
from edge_agent.runtime.daemon import Agent
from edge_agent.runtime.local_broker import LocalBroker, free_port
from edge_agent.transport.settings import broker_settings
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from stetho_cli.demo import DEMO_SITE, demo_config, hub_config
from stetho_hub.config import HubConfig
from stetho_hub.console import ConsoleSettings, serve_console
from stetho_hub.ingest import IngestService, mqtt_settings
from stetho_hub.ingest.runner import open_archive
from stetho_hub.storage.users import add_user

DEMO_STAFF = "nurse"
DEMO_DOCTOR = "doctor"
DEMO_ADMIN = "admin"
EXAM_DEVICES: list[dict[str, Any]] = [
    {"id": "steth-5", "kind": "simulated", "scenario": "normal", "seed": 5},
    {"id": "steth-6", "kind": "simulated", "scenario": "poor-contact", "seed": 6},
]


@dataclass(frozen=True)
class SignIns:
    nurse_pin: str
    doctor_password: str
    admin_password: str


def serve_config(state: Path, broker_port: int, web_port: int) -> dict[str, Any]:
    config = demo_config(state, broker_port, recordings=None)  # the pages show them recording
    config["devices"] = [*config["devices"], *EXAM_DEVICES]
    config["web"] = {"listen_host": "127.0.0.1", "port": web_port}
    config["exam"] = {"duration_s": 8}
    # Two simulated stethoscopes in range, to try pairing from the page (Stethoscopes).
    # They have keypads: the page shows a passkey, which a simulated nurse types in 10 s.
    config["radio"] = {"simulated": ["normal", "murmur"], "keypad": "types"}
    return config


def _prepare_care_home(state: Path) -> str:
    pin = f"{secrets.randbelow(10**6):06d}"
    accounts = Accounts(exam_dir(state) / ACCOUNTS_FILE)
    accounts.add(DEMO_STAFF, "Demo nurse", pin)
    accounts.close()
    store = ExamStore(exam_dir(state) / "exams.sqlite3")
    store.add_residents([Resident(f"res-000{i}", f"Demo resident {i}") for i in range(1, 5)])
    store.close()
    return pin


def _prepare_hub(hub: HubConfig) -> tuple[str, str]:
    """Migrate the hub's archive and add the demo doctor and administrator."""
    archive = open_archive(hub)
    try:
        doctor, admin = secrets.token_urlsafe(12), secrets.token_urlsafe(12)  # 16 characters
        add_user(archive.db, DEMO_DOCTOR, doctor, "doctor", (DEMO_SITE,))
        add_user(archive.db, DEMO_ADMIN, admin, "admin")
    finally:
        archive.db.close()
    return doctor, admin


def _announce(console: Console, broker: LocalBroker, web: int, hub: int, who: SignIns) -> None:
    console.print(f"[bold]stetho demo --serve[/]: private broker at {broker.url}")
    console.print(f"the nurses' page: [bold]http://127.0.0.1:{web}/[/]")
    console.print(f"sign in as [bold]{DEMO_STAFF}[/] with PIN [bold]{who.nurse_pin}[/]")
    console.print(f"the doctor's console: [bold]http://127.0.0.1:{hub}/[/]")
    console.print(
        f"sign in as [bold]{DEMO_DOCTOR}[/] with password [bold]{who.doctor_password}[/] "
        f"(sees {DEMO_SITE}), or as [bold]{DEMO_ADMIN}[/] with password "
        f"[bold]{who.admin_password}[/] (every care home, the audit log)",
        highlight=False,
    )
    console.print("Ctrl-C stops the demo and deletes its data")


async def _serve(tmp: Path, broker: LocalBroker, console: Console) -> None:
    state = tmp / "state"
    hub = hub_config(tmp, broker.port)
    pin = await asyncio.to_thread(_prepare_care_home, state)
    doctor, admin = await asyncio.to_thread(_prepare_hub, hub)
    web_port, console_port = free_port(), free_port()
    config = parse_config(serve_config(state, broker.port, web_port), "demo defaults")
    pages = ConsoleSettings(
        hub.database.target(), hub.archive.audio_dir, "127.0.0.1", console_port,
        publish=broker_settings(hub.broker, None),
    )  # fmt: skip
    archive = await asyncio.to_thread(open_archive, hub)
    try:
        ingest = IngestService(mqtt_settings(hub), archive, hub.hub_id)
        async with asyncio.TaskGroup() as group:
            group.create_task(ingest.run(), name="hub")
            group.create_task(serve_console(pages), name="console")
            await ingest.connected.wait()  # the hub subscribes before the first recording
            group.create_task(Agent(config).run(), name="agent")
            _announce(console, broker, web_port, console_port, SignIns(pin, doctor, admin))
    finally:
        await asyncio.to_thread(archive.db.close)


async def serve_demo(console: Console) -> None:
    """Run until Ctrl-C or SIGTERM, printing where the pages are and how to sign in."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    with (
        tempfile.TemporaryDirectory(prefix="stetho-demo-") as tmp,
        LocalBroker(Path(tmp) / "broker") as broker,
        contextlib.suppress(asyncio.CancelledError),  # the signal: a clean stop, exit status 0
    ):
        await _serve(Path(tmp), broker, console)
