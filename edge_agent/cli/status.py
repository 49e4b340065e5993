"""`stetho status`: the running agent's state, read from its status file."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edge_agent.cli._common import DEFAULT_CONFIG, ConfigOption, load_or_exit
from edge_agent.config import STATUS_FILE, STATUS_INTERVAL_S
from stetho_common.console import EXIT_CODES, fail

EXIT_NOT_RUNNING = EXIT_CODES["not-running"]
EXIT_STALE = EXIT_CODES["stale"]  # running, but its status file is old: not what is now
# Refreshes missed before the status file is stale, counted at the configured interval, or
# at the default one when the configured one is shorter: 20 s at least.
STALE_REFRESHES = 4


def _when(t: float | None) -> str:
    return "-" if t is None else datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S")


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def render(data: dict[str, Any], console: Console) -> None:
    broker = data["broker"]
    outbox = data["outbox"]
    console.print(
        f"[bold]{data['site']}/{data['agent']}[/] v{data['version']} pid {data['pid']}, "
        f"started {_when(data['started_at'])}, updated {_when(data['updated_at'])}"
    )
    state = "[green]connected[/]" if broker["connected"] else "[red]disconnected[/]"
    console.print(
        f"broker {broker['host']}:{broker['port']} {state}, {broker['published']} published, "
        f"{broker['connects']} connects"
        + (f", last error: {broker['last_error']}" if broker["last_error"] else "")
    )
    age = outbox["oldest_pending_age_s"]
    console.print(
        f"outbox {outbox['pending']} pending"
        + (f" (oldest {age:.0f} s)" if age is not None else "")
        + f", {_mib(outbox['used_bytes'])} of {_mib(outbox['quota_bytes'])} quota, "
        f"{_mib(outbox['free_disk_bytes'])} free on disk"
    )
    if outbox["alarm"]:
        console.print(f"[bold red]ALARM[/] {outbox['alarm']}")
    for key in ("alarm", "packet_alarm"):  # a taken-over client id; a message too large
        if broker.get(key):
            console.print(f"[bold red]ALARM[/] broker: {escape(broker[key])}")
    for alarm in broker.get("capture_alarms", {}).values():  # recordings refused: too long
        console.print(f"[bold red]ALARM[/] broker: {escape(alarm)}")
    for device_id, d in sorted(data["devices"].items()):  # a file device it cannot play
        if d.get("given_up"):
            console.print(f"[bold red]ALARM[/] device {escape(device_id)} given up: "
                          f"{escape(d['given_up'])}")  # fmt: skip
    table = Table("device", "connected", "battery", "recordings", "refused", "last recording",
                  "last triage")  # fmt: skip
    for device_id, d in sorted(data["devices"].items()):
        battery = d.get("battery_percent")
        table.add_row(
            device_id,
            "yes" if d["connected"] else "no",
            "-" if battery is None else f"{battery}%",
            str(d["recordings"]),
            str(d["refused"]),
            _when(d["last_recording_at"]),
            d["last_level"] or "-",
        )
    console.print(table)
    receipts = data.get("receipts")
    if receipts:
        age = receipts["oldest_awaiting_age_s"]
        console.print(
            f"hospital receipts: {receipts['awaiting']} recording(s) waiting"
            + (f", oldest {age:.0f} s" if age is not None else "")
            + f"; {receipts['sent_again']} sent again after {receipts['timeout_s']:.0f} s"
            + f"; {receipts['archived']} archived since start",
            markup=False,
        )
    for ack in data.get("acknowledgements", []):
        console.print(
            f"acknowledged: alert {ack['alert_id']} by {ack['by']} at {ack['at']}"
            + (f", decision: {ack['disposition']}" if ack.get("disposition") else ""),
            markup=False,
        )


def _alive(pid: object) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # someone else's process (the service user): it exists
    except OSError:
        return False
    return True


def status_command(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Show the running agent's devices, outbox, broker link and acknowledgements."""
    cfg = load_or_exit(config)
    path = cfg.storage.state_dir / STATUS_FILE
    console = Console()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        # The OS's words, not Python's repr of the error ("[Errno 2] ...: '<path>'" again).
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not JSON"
        Console(stderr=True).print(
            f"[red]no status at {path}[/]: the agent is not running or has not started yet ({why})",
            highlight=False,
        )
        raise typer.Exit(EXIT_NOT_RUNNING) from exc
    stale_after_s = STALE_REFRESHES * max(STATUS_INTERVAL_S, cfg.status_interval_s)
    try:
        _show(data, path, as_json, console, stale_after_s)
    except (KeyError, TypeError, AttributeError) as exc:  # JSON, but not the status we write
        fail(
            f"{path} does not hold the status this stetho reads ({type(exc).__name__}: {exc}); "
            "was it written by another version of the agent?"
        )


def _show(
    data: dict[str, Any], path: Path, as_json: bool, console: Console, stale_after_s: float
) -> None:
    age = time.time() - data["updated_at"]
    fresh = age < stale_after_s and data.get("stopped_at") is None
    # A running agent that cannot write (a full disk) leaves an old file: say it is stale rather
    # than show its free space and alarms from before as if they were now (issue 18).
    data["stale"] = not fresh and data.get("stopped_at") is None and _alive(data.get("pid"))
    data["running"] = fresh or data["stale"]
    if as_json:
        typer.echo(json.dumps(data))
    else:
        if data["stale"]:
            console.print(
                f"[bold red]STALE[/]: agent pid {data['pid']} is running but has not written "
                f"{path} for {age:.0f} s (disk full?); what follows is from "
                f"{_when(data['updated_at'])}",
                highlight=False,
            )
        render(data, console)
        if not data["running"]:
            stopped = data.get("stopped_at")
            why = f"stopped at {_when(stopped)}" if stopped else f"last update {age:.0f} s ago"
            console.print(f"[bold red]not running[/]: {why}")
    if not data["running"]:
        raise typer.Exit(EXIT_NOT_RUNNING)
    if data["stale"]:
        raise typer.Exit(EXIT_STALE)
