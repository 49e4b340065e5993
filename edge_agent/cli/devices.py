"""`stetho pair`, `devices`, `forget` and `record`: the stethoscope commands.

Every failure a nurse or installer can meet ends with one clear line and its own exit status,
never a traceback (see `EXIT_CODES`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import time
from collections.abc import Coroutine, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar, get_args

import typer
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from edge_agent.config import AuscultationSite
from edge_agent.errors import RegistryError
from edge_agent.storage.registry import DeviceRegistry, RegisteredDevice
from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    BridgeError,
    ConfigurationError,
    DeviceNotFoundError,
    LinkLostError,
    PairingRejectedError,
)
from stetho_common.cli_choices import refuse_choice
from stetho_common.cli_numbers import bounded, whole
from stetho_common.console import EXIT_CODES, fail, run_until_signalled
from stetho_common.text import without_surrogates

# The radio (bleak), the audio sources and the recorder (NumPy, libsndfile) are imported by the
# commands that use them: `stetho devices` only reads the registry, and started a third of a
# second slower with them (several times that on a Pi).
if TYPE_CHECKING:
    from firmware_bridge import pairing
    from firmware_bridge.recorder import RecordingSummary
    from firmware_bridge.sources import AudioSource, SimulatedAir

__all__ = [
    "EXIT_CODES",
    "devices_command",
    "forget_command",
    "pair_command",
    "record_command",
]

SITES: Final = get_args(AuscultationSite)
err = Console(stderr=True)
out = Console()
T = TypeVar("T")

StateDir = Annotated[
    Path,
    typer.Option("--state-dir", envvar="STETHO_STATE_DIR", help="Agent state directory."),
]
Simulate = Annotated[
    bool, typer.Option("--simulate", hidden=True, help="Use simulated stethoscopes (demo, tests).")
]
DEFAULT_STATE_DIR = Path("/var/lib/stetho-edge")
# What the IT person checks when BlueZ or the adapter is missing (the deploy guide's section 3).
NO_ADAPTER_CHECKS = (
    "check `systemctl status bluetooth` and `bluetoothctl show` (docs/deploy-raspberry-pi.md, "
    "BlueZ)"
)


@contextlib.contextmanager
def _exit_on_errors() -> Iterator[None]:
    """Turn our errors into one red line and a distinct exit status."""
    try:
        yield
    except AdapterUnavailableError as exc:
        if exc.reason == exc.POWERED_OFF:  # its message says `bluetoothctl power on`
            fail(str(exc), "powered-off")
        fail(f"{exc}: {NO_ADAPTER_CHECKS}", "no-adapter")
    except BluetoothPermissionError as exc:
        fail(str(exc), "permission")
    except DeviceNotFoundError as exc:
        fail(f"{exc}: is the stethoscope on and within a few metres?", "not-found")
    except PairingRejectedError as exc:
        fail(f"{exc}: put the stethoscope in pairing mode and try again", "rejected")
    except LinkLostError as exc:
        fail(str(exc), "link-lost")
    except RegistryError as exc:
        fail(str(exc), "registry")
    except (ConfigurationError, BridgeError) as exc:
        fail(str(exc), "usage")


def _run(main: Coroutine[Any, Any, T]) -> T:
    return run_until_signalled(main)


def _simulated_air() -> SimulatedAir:
    from firmware_bridge.sources import PeripheralConfig, SimulatedAir, SimulatedStethoscope

    return SimulatedAir(
        SimulatedStethoscope("normal", config=PeripheralConfig()),
        SimulatedStethoscope(
            "normal",
            config=PeripheralConfig("5E:7A:00:00:00:02", "Stetho-Sim-2", -71, battery_percent=54),
        ),
    )


def pair_command(
    state_dir: StateDir = DEFAULT_STATE_DIR,
    address: Annotated[str | None, typer.Option(help="Pair this address; default: pick.")] = None,
    location: Annotated[str, typer.Option(help="Where the device lives, e.g. 'Room 12'.")] = "",
    scan_seconds: Annotated[
        float,
        typer.Option(parser=bounded(1, 300), metavar="SECONDS", help="How long to scan (1-300)."),
    ] = 5.0,
    simulate: Simulate = False,
) -> None:
    """Scan for stethoscopes, pair and bond one, and add it to the registry."""
    from edge_agent.pipeline.radio import Radio, pair_and_register, scan

    # The same code path as the nurses' page (edge_agent.pipeline.radio).
    radio = Radio.simulated(*_simulated_air().peripherals.values()) if simulate else Radio()
    with _exit_on_errors():
        found = _run(scan(radio, scan_seconds))
        _print_scan(found)
        chosen = _choose(found, address)
        device = _run(pair_and_register(
            DeviceRegistry(state_dir), chosen, radio, location, show=out.print
        ))  # fmt: skip
    out.print(f"paired [bold]{device.name}[/] ({device.address}) as [bold]{device.id}[/]")


def _print_scan(found: list[pairing.Advertised]) -> None:
    table = Table("#", "name", "address", "RSSI (dBm)", "battery")
    for i, adv in enumerate(found, 1):
        battery = "?" if adv.battery_percent is None else f"{adv.battery_percent}%"
        table.add_row(str(i), adv.name, adv.address, str(adv.rssi_dbm), battery)
    out.print(table)


def _choose(found: list[pairing.Advertised], address: str | None) -> str:
    if address is not None:
        if all(a.address.upper() != address.upper() for a in found):
            raise DeviceNotFoundError(f"{address} did not answer the scan")
        return address.upper()
    if not found:
        raise DeviceNotFoundError("no stethoscope advertising the profile")
    if len(found) == 1 or not os.isatty(0):
        return str(found[0].address)  # the strongest signal: the one in the nurse's hand
    pick = typer.prompt("Pair which one (#)", type=int, default=1)
    if not 1 <= pick <= len(found):
        raise ConfigurationError(f"choose between 1 and {len(found)}")
    return str(found[pick - 1].address)


def devices_command(
    state_dir: StateDir = DEFAULT_STATE_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the paired stethoscopes."""
    with _exit_on_errors():
        devices = DeviceRegistry(state_dir).list()
    if as_json:
        out.print_json(json.dumps([asdict(d) for d in devices]))
        return
    if not devices:
        out.print("no paired stethoscopes: run `stetho pair`")
        return
    table = _devices_table(devices)
    if _fits(table, out.width):
        out.print(table)
    else:  # a phone's SSH app, a split terminal: one block per stethoscope
        out.print(Group(*_device_blocks(devices)))


# Below these widths the other columns break headings mid-word or dates across three lines.
_MIN_WIDTHS: Final = {"name": 4, "location": 8, "bonded": 10, "last seen": 10, "battery": 7}


def _fits(table: Table, width: int) -> bool:
    """Whether rich can draw `table` in `width` columns without cutting its right side off."""
    drawn = io.StringIO()
    Console(file=drawn, width=width).print(table, crop=False)
    return max(map(len, drawn.getvalue().splitlines())) <= width


def _device_fields(d: RegisteredDevice) -> dict[str, str]:
    """The fields after the id and the address, by the headings of `_MIN_WIDTHS`."""
    battery = "?" if d.battery_percent is None else f"{d.battery_percent}%"
    when = _when(d.bonded_at), _when(d.last_seen)
    return {"name": d.name, "location": d.location, "bonded": when[0], "last seen": when[1],
            "battery": battery}  # fmt: skip


def _devices_table(devices: list[RegisteredDevice]) -> Table:
    table = Table()
    # The id and the address are what `forget` and `record --device` take: whole, always;
    # the other columns wrap down to `_MIN_WIDTHS`, below which `_device_blocks` takes over.
    for key, values in (("id", [d.id for d in devices]), ("address", [d.address for d in devices])):
        table.add_column(key, no_wrap=True, min_width=max(map(len, values)))
    for heading, least in _MIN_WIDTHS.items():
        table.add_column(heading, overflow="fold", min_width=least)
    for d in devices:
        table.add_row(d.id, d.address, *_device_fields(d).values())
    return table


def _device_blocks(devices: list[RegisteredDevice]) -> Iterator[RenderableType]:
    """Each stethoscope as its id and address on one line, then one line per field."""
    for n, d in enumerate(devices):
        fields = Table.grid(padding=(0, 2))
        fields.add_column()
        fields.add_column(overflow="fold")
        for heading, value in _device_fields(d).items():
            fields.add_row(heading, value)
        yield Text(("\n" if n else "") + f"{d.id}  {d.address}")
        yield Padding.indent(fields, 2)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "never"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def forget_command(
    device_id: Annotated[str, typer.Argument(help="Registry id or address.")],
    state_dir: StateDir = DEFAULT_STATE_DIR,
    simulate: Simulate = False,
) -> None:
    """Remove a stethoscope's bond and its registry entry."""
    from firmware_bridge import pairing
    from firmware_bridge.sources import simulated_backends

    client_backend = simulated_backends(_simulated_air())[0] if simulate else None
    with _exit_on_errors():
        registry = DeviceRegistry(state_dir)
        device = registry.get(device_id)
        try:
            _run(pairing.unpair(device.address, client_backend=client_backend))
        except DeviceNotFoundError:
            err.print(f"note: Bluetooth had no bond with {device.address}; removing the entry")
        registry.remove(device.id)
    out.print(f"forgot {device.id} ({device.address})")


def record_command(
    device: Annotated[
        str, typer.Option(help="Registry id, sim:SCENARIO[+lossy], usb:NAME or file:PATH.")
    ],
    duration: Annotated[
        float,
        typer.Option(parser=bounded(0.1, 3600), metavar="SECONDS", help="Seconds to record."),
    ],
    out_path: Annotated[Path, typer.Option("--out", help="FLAC file to write.")],
    site: Annotated[str, typer.Option(help=f"Auscultation site: {', '.join(SITES)}.")] = "mitral",
    state_dir: StateDir = DEFAULT_STATE_DIR,
    seed: Annotated[int, typer.Option(hidden=True, parser=whole(0, 2**32 - 1))] = 0,
    speed: Annotated[
        float, typer.Option(hidden=True, parser=bounded(0.1, 100, "times real time"))
    ] = 1.0,
) -> None:
    """Record a stethoscope to FLAC with tags; Ctrl-C stops early and keeps the audio."""
    from edge_agent.pipeline.sources import source_for_spec
    from firmware_bridge.flac import SITE_TAG
    from firmware_bridge.sources import BleSource

    if site not in SITES:
        refuse_choice("--site", site, SITES)
    if out_path.suffix.lower() != ".flac":
        fail("--out must end in .flac", "usage")
    if not out_path.parent.is_dir():
        fail(f"no folder {out_path.parent}: create it first, or choose another --out", "usage")
    with _exit_on_errors():
        registry = DeviceRegistry(state_dir)
        source, entry = source_for_spec(device, registry, seed=seed, speed=speed)
        named = without_surrogates(device)  # Vorbis comments are UTF-8 only
        tags = {"STETHO_DEVICE": named, SITE_TAG: site, "ENCODER": "stetho-edge record"}
        summary = run_until_signalled(_record_with_progress(source, out_path, duration, tags))
        if summary is None:
            fail("interrupted before recording started; nothing written", "interrupted")
        if entry is not None and isinstance(source, BleSource):
            registry.touch(entry.id, seen_at=time.time(), battery_percent=source.battery_percent)
    _print_summary(summary)
    if summary.cancelled:
        raise typer.Exit(EXIT_CODES["interrupted"])


async def _record_with_progress(
    source: AudioSource, out_path: Path, duration: float, tags: dict[str, str]
) -> RecordingSummary | None:
    """Record with a progress bar; None when Ctrl-C came before the first sample (no file)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from firmware_bridge.recorder import record

    columns = (
        TextColumn("recording"),
        BarColumn(),
        TextColumn("{task.completed:.1f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        bar = progress.add_task("record", total=duration)
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(source)
            except asyncio.CancelledError:  # Ctrl-C while the stethoscope was connecting
                return None  # this run's one task: nothing above it waits on the cancel

            def advance(seconds: float) -> None:
                progress.update(bar, completed=seconds)

            summary = await record(source, out_path, duration, tags, advance)
    return None if summary.cancelled and not summary.samples else summary


def _print_summary(summary: RecordingSummary) -> None:
    state = " (stopped early)" if summary.cancelled else ""
    out.print(
        f"wrote {summary.path}: {summary.duration_s:.2f} s at {summary.sample_rate_hz} Hz{state}"
    )
    if summary.gaps:
        out.print(f"link lost {len(summary.gaps)} times, {summary.lost_s:.3f} s filled with "
                  f"silence and tagged (STETHO_GAPS)")  # fmt: skip
