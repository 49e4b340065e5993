"""`stetho pair/devices/forget/record`, function by function: the choice of a stethoscope, each
refusal's words, each table's cells, what a recording's summary says.

In-process, on simulated stethoscopes and fakes: the tests under mutation of
`edge_agent/cli/devices.py` with test_cli_devices.py.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import os
import re
import signal
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import typer
from rich.console import Console
from typer.testing import CliRunner

from edge_agent.cli import devices as cli

# The commands import the radio and the sources as they run (a light `stetho devices`): fakes
# replace them in their own modules.
from edge_agent.pipeline import radio as radio_home
from edge_agent.pipeline import sources as sources_home
from edge_agent.pipeline.radio import Radio
from edge_agent.storage.registry import DeviceRegistry, RegisteredDevice
from firmware_bridge import errors, pairing
from firmware_bridge import sources as bridge_sources
from firmware_bridge.flac_tags import read_vorbis_comments
from firmware_bridge.recorder import Gap, RecordingSummary
from firmware_bridge.sources import AudioBlock

app = typer.Typer()
for name, command in (("pair", cli.pair_command), ("devices", cli.devices_command),
                      ("forget", cli.forget_command), ("record", cli.record_command)):  # fmt: skip
    app.command(name)(command)
runner = CliRunner()

A = pairing.Advertised("5E:7A:00:00:00:01", "Stetho-A", -50, 87)
B = pairing.Advertised("5e:7a:00:00:00:02", "Stetho-B", -70, None)
# 2026-12-06 09:05:00 UTC
STAMP = 1796547900.0


def stetho(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())


@pytest.fixture
def screen(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    """What the commands print on standard output, on a wide terminal."""
    text = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=text, width=200))
    return text


def rows(text: str) -> list[list[str]]:
    """A rich table's body rows, cell by cell."""
    return [
        [cell.strip() for cell in line.strip("│┃").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


# ---- which stethoscope: an address asked for, the only one, the one picked


def test_an_address_asked_for_is_found_whatever_its_case_and_said_in_capitals() -> None:
    assert cli._choose([A, B], "5e:7a:00:00:00:01") == "5E:7A:00:00:00:01"
    assert cli._choose([A, B], "5E:7A:00:00:00:02") == "5E:7A:00:00:00:02"
    with pytest.raises(errors.DeviceNotFoundError) as caught:
        cli._choose([A, B], "aa:bb:cc:dd:ee:ff")
    assert str(caught.value) == "aa:bb:cc:dd:ee:ff did not answer the scan"


def test_no_stethoscope_heard_is_not_found_and_one_heard_is_taken() -> None:
    with pytest.raises(errors.DeviceNotFoundError) as caught:
        cli._choose([], None)
    assert str(caught.value) == "no stethoscope advertising the profile"
    assert cli._choose([B], None) == B.address  # as heard: the registry keeps its spelling


def test_several_heard_without_a_terminal_take_the_strongest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli.os, "isatty", lambda fd: False)
    monkeypatch.setattr(cli.typer, "prompt", pytest.fail)
    assert cli._choose([A, B], None) == A.address


@pytest.mark.parametrize(("typed", "chosen"), [(1, A.address), (2, B.address)])
def test_several_heard_at_a_terminal_the_nurse_picks_one(
    monkeypatch: pytest.MonkeyPatch, typed: int, chosen: str
) -> None:
    asked: list[tuple[object, ...]] = []
    monkeypatch.setattr(cli.os, "isatty", lambda fd: asked.append(("isatty", fd)) or True)

    def prompt(text: str, type: type, default: int) -> int:
        asked.append((text, type, default))
        return typed

    monkeypatch.setattr(cli.typer, "prompt", prompt)
    assert cli._choose([A, B], None) == chosen
    assert asked == [("isatty", 0), ("Pair which one (#)", int, 1)]


@pytest.mark.parametrize("typed", [0, 3, -1])
def test_a_number_outside_the_list_is_refused_with_the_range(
    monkeypatch: pytest.MonkeyPatch, typed: int
) -> None:
    monkeypatch.setattr(cli.os, "isatty", lambda fd: True)
    monkeypatch.setattr(cli.typer, "prompt", lambda *a, **k: typed)
    with pytest.raises(errors.ConfigurationError) as caught:
        cli._choose([A, B], None)
    assert str(caught.value) == "choose between 1 and 2"


# ---- what the tables and lines say


def test_the_scan_table_numbers_each_stethoscope_with_its_signal_and_battery(
    screen: io.StringIO,
) -> None:
    cli._print_scan([A, B])
    assert rows(screen.getvalue()) == [
        ["1", "Stetho-A", "5E:7A:00:00:00:01", "-50", "87%"],
        ["2", "Stetho-B", "5e:7a:00:00:00:02", "-70", "?"],
    ]
    header = next(line for line in screen.getvalue().splitlines() if line.startswith("┃"))
    assert [h.strip() for h in header.strip("┃").split("┃")] == [
        "#", "name", "address", "RSSI (dBm)", "battery"
    ]  # fmt: skip


@pytest.fixture
def paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A Pi whose clock is set to Paris time: what it prints must still be UTC."""
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_a_time_is_said_in_utc_to_the_minute_or_never(paris: None) -> None:
    assert cli._when(None) == "never"
    assert cli._when(STAMP) == "2026-12-06 09:05 UTC"
    assert cli._when(0.0) == "1970-01-01 00:00 UTC"  # a real time, not "never"


def test_the_devices_table_says_every_column(tmp_path: Path, screen: io.StringIO) -> None:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(RegisteredDevice("steth-b", "5E:7A:00:00:00:02", "Stetho-B", "Room 4",
                                     STAMP, None, None))  # fmt: skip
    registry.upsert(RegisteredDevice("steth-a", "5E:7A:00:00:00:01", "Stetho-A", "", None,
                                     STAMP + 60, 54))  # fmt: skip
    assert stetho("devices", "--state-dir", str(tmp_path))[0] == 0
    table = screen.getvalue()
    header = next(line for line in table.splitlines() if line.startswith("┃"))
    assert [h.strip() for h in header.strip("┃").split("┃")] == [
        "id", "address", "name", "location", "bonded", "last seen", "battery"
    ]  # fmt: skip
    assert rows(table) == [
        ["steth-a", "5E:7A:00:00:00:01", "Stetho-A", "", "never", "2026-12-06 09:06 UTC", "54%"],
        ["steth-b", "5E:7A:00:00:00:02", "Stetho-B", "Room 4", "2026-12-06 09:05 UTC", "never",
         "?"],
    ]  # fmt: skip


WHERE = "Room-12-by-the-window-of-the-east-wing"  # one word: folded, not cut short


def devices_at(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int) -> list[str]:
    registry = DeviceRegistry(tmp_path)
    registry.upsert(RegisteredDevice("stetho-sim-0001", "5E:7A:00:00:00:01", "Stetho-Sim", WHERE,
                                     STAMP, STAMP + 60, 54))  # fmt: skip
    registry.upsert(RegisteredDevice("steth-b", "5E:7A:00:00:00:02", "Stetho with a long name",
                                     "Room 4"))  # fmt: skip
    text = io.StringIO()
    monkeypatch.setattr(cli, "out", Console(file=text, width=width))
    monkeypatch.setenv("COLUMNS", "500")  # a console not told its width would take this one
    assert stetho("devices", "--state-dir", str(tmp_path))[0] == 0
    lines = text.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    return lines


@pytest.mark.parametrize("width", [102, 120])
def test_the_devices_table_fits_a_wide_terminal_and_folds_long_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    lines = devices_at(tmp_path, monkeypatch, width)
    cells = [line.strip("│").split("│") for line in lines if line.startswith("│")]
    starts = [i for i, row in enumerate(cells) if row[0].strip()] + [len(cells)]
    devices = [
        [" ".join(row[i].strip() for row in cells[a:b] if row[i].strip()) for i in range(7)]
        for a, b in itertools.pairwise(starts)
    ]
    assert devices[0] == ["steth-b", "5E:7A:00:00:00:02", "Stetho with a long name", "Room 4",
                          "never", "never", "?"]  # fmt: skip
    assert devices[1][:3] + devices[1][4:] == ["stetho-sim-0001", "5E:7A:00:00:00:01",
        "Stetho-Sim", "2026-12-06 09:05 UTC", "2026-12-06 09:06 UTC", "54%"]  # fmt: skip
    assert devices[1][3].replace(" ", "") == WHERE


@pytest.mark.parametrize("width", [40, 80])
def test_on_a_narrow_terminal_each_stethoscope_is_a_block_of_whole_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    lines = devices_at(tmp_path, monkeypatch, width)
    blocks = "\n".join(line.rstrip() for line in lines).split("\n\n")
    assert [block.splitlines()[0] for block in blocks] == [
        "steth-b  5E:7A:00:00:00:02", "stetho-sim-0001  5E:7A:00:00:00:01"
    ]  # fmt: skip
    assert blocks[0].splitlines()[1:] == [
        "  name       Stetho with a long name",
        "  location   Room 4",
        "  bonded     never",
        "  last seen  never",
        "  battery    ?",
    ]
    fields = blocks[1].splitlines()[1:]
    assert fields[0] == "  name       Stetho-Sim"
    assert fields[-3:] == [
        "  bonded     2026-12-06 09:05 UTC",
        "  last seen  2026-12-06 09:06 UTC",
        "  battery    54%",
    ]
    assert fields[1].startswith("  location   ")
    assert "".join(line[13:] for line in fields[1:-3]) == WHERE  # folded under its label


def test_no_device_paired_says_how_to_pair_one(tmp_path: Path, screen: io.StringIO) -> None:
    assert stetho("devices", "--state-dir", str(tmp_path))[0] == 0
    assert screen.getvalue() == "no paired stethoscopes: run `stetho pair`\n"
    assert stetho("devices", "--json", "--state-dir", str(tmp_path))[0] == 0
    assert json.loads(screen.getvalue().split("\n", 1)[1]) == []


def test_the_json_listing_holds_every_field(tmp_path: Path, screen: io.StringIO) -> None:
    device = RegisteredDevice("steth-a", "5E:7A:00:00:00:01", "Stetho-A", "Room 1", STAMP,
                              STAMP, 54)  # fmt: skip
    DeviceRegistry(tmp_path).upsert(device)
    assert stetho("devices", "--json", "--state-dir", str(tmp_path))[0] == 0
    assert json.loads(screen.getvalue()) == [
        {"id": "steth-a", "address": "5E:7A:00:00:00:01", "name": "Stetho-A",
         "location": "Room 1", "bonded_at": STAMP, "last_seen": STAMP, "battery_percent": 54}
    ]  # fmt: skip


def test_pairing_says_the_name_address_and_id_it_kept(tmp_path: Path, screen: io.StringIO) -> None:
    code, _ = stetho("pair", "--simulate", "--scan-seconds", "1", "--address",
                     "5e:7a:00:00:00:02", "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 0
    said = screen.getvalue().splitlines()
    assert said[-1] == "paired Stetho-Sim-2 (5E:7A:00:00:00:02) as stetho-sim-2-0002"
    assert rows(screen.getvalue())[:2] == [
        ["1", "Stetho-Sim", "5E:7A:00:00:00:01", "-58", "87%"],
        ["2", "Stetho-Sim-2", "5E:7A:00:00:00:02", "-71", "54%"],
    ]


def test_forgetting_a_device_without_a_bond_notes_it_and_removes_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: io.StringIO
) -> None:
    DeviceRegistry(tmp_path).upsert(RegisteredDevice("steth-a", "5E:7A:00:00:00:01", "A"))
    unpaired: list[tuple[str, object]] = []

    async def unpair(address: str, client_backend: object = None) -> None:
        unpaired.append((address, client_backend))
        raise errors.DeviceNotFoundError("no bond")

    monkeypatch.setattr(pairing, "unpair", unpair)
    code, output = stetho("forget", "steth-a", "--state-dir", str(tmp_path))
    assert code == 0
    assert output == "note: Bluetooth had no bond with 5E:7A:00:00:00:01; removing the entry"
    assert screen.getvalue() == "forgot steth-a (5E:7A:00:00:00:01)\n"
    assert unpaired == [("5E:7A:00:00:00:01", None)] and DeviceRegistry(tmp_path).list() == []


# ---- a recording: what is refused, what is tagged, what is said


def test_a_flac_suffix_in_capitals_is_a_flac(tmp_path: Path, screen: io.StringIO) -> None:
    out = tmp_path / "A.FLAC"
    code, output = stetho("record", "--device", "sim:normal", "--duration", "0.5", "--out",
                          str(out), "--speed", "50", "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 0, output
    tags = read_vorbis_comments(out.read_bytes())
    assert (tags["STETHO_DEVICE"], tags["STETHO_SITE"], tags["ENCODER"]) == (
        "sim:normal", "mitral", "stetho-edge record"
    )  # fmt: skip
    assert screen.getvalue() == f"wrote {out}: 0.50 s at 4000 Hz\n"


def test_each_refused_recording_says_why_in_one_line(tmp_path: Path) -> None:
    args = ("--device", "sim:normal", "--duration", "1", "--state-dir", str(tmp_path))
    code, output = stetho("record", *args, "--out", str(tmp_path / "a.flac"), "--site", "elbow")
    assert code == 2 and output.startswith("error: --site: 'elbow' is not one of: aortic, ")
    assert stetho("record", *args, "--out", str(tmp_path / "a.flac.wav")) == (
        2, "error: --out must end in .flac"
    )  # fmt: skip
    nowhere = tmp_path / "no" / "a.flac"
    assert stetho("record", *args, "--out", str(nowhere)) == (
        2, f"error: no folder {nowhere.parent}: create it first, or choose another --out"
    )  # fmt: skip


def test_a_summary_says_length_rate_gaps_and_an_early_stop(screen: io.StringIO) -> None:
    whole = RecordingSummary(Path("a.flac"), 4000, 10_000, (), 0.0, False)
    cli._print_summary(whole)
    assert screen.getvalue() == "wrote a.flac: 2.50 s at 4000 Hz\n"
    screen.truncate(0), screen.seek(0)
    gaps = (Gap(4000, 10), Gap(8000, 3))
    cli._print_summary(RecordingSummary(Path("b.flac"), 4000, 8001, gaps, 0.0, True))
    assert screen.getvalue() == (
        "wrote b.flac: 2.00 s at 4000 Hz (stopped early)\n"
        "link lost 2 times, 0.003 s filled with silence and tagged (STETHO_GAPS)\n"
    )


def test_a_recording_shows_its_progress_on_a_terminal_then_clears_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: io.StringIO
) -> None:
    terminal = io.StringIO()
    monkeypatch.setattr(cli, "err", Console(file=terminal, force_terminal=True, width=100))
    out = str(tmp_path / "a.flac")
    code, _ = stetho("record", "--device", "sim:normal", "--duration", "1", "--out", out,
                     "--speed", "5", "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 0
    shown = terminal.getvalue()
    frames = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown).replace("\r", "\n").split("\n")
    last = [f for f in frames if f.strip()][-1]
    assert re.fullmatch(r"recording ━{40,} 1\.0/1 s 0:00:00", last), last
    assert shown.endswith("\x1b[1A\x1b[2K")  # transient: the bar is erased once done


def test_pairing_scans_for_the_seconds_asked_and_shows_the_passkey_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: io.StringIO
) -> None:
    scans: list[float] = []

    radios: list[object] = []

    async def scan(radio: Radio, seconds: float) -> list[pairing.Advertised]:
        scans.append(seconds)
        radios.append(radio.air)
        return [A]

    async def pair_and_register(
        registry: DeviceRegistry, address: str, radio: object, location: str, show: object
    ) -> RegisteredDevice:
        show("type 123456 on the stethoscope")  # type: ignore[operator]
        return RegisteredDevice("steth-a", address, "Stetho-A", location)

    monkeypatch.setattr(radio_home, "scan", scan)
    monkeypatch.setattr(radio_home, "pair_and_register", pair_and_register)
    code, _ = stetho("pair", "--scan-seconds", "7.5", "--state-dir", str(tmp_path))
    assert code == 0 and scans == [7.5]
    assert radios == [None]  # BlueZ's radio, not the simulated one
    said = screen.getvalue().splitlines()
    assert said[-2:] == [
        "type 123456 on the stethoscope",
        "paired Stetho-A (5E:7A:00:00:00:01) as steth-a",
    ]


def test_a_device_missing_from_the_registry_is_a_registry_error(tmp_path: Path) -> None:
    code, output = stetho("record", "--device", "steth-z", "--duration", "1", "--out",
                          str(tmp_path / "a.flac"), "--state-dir", str(tmp_path))  # fmt: skip
    assert code == cli.EXIT_CODES["registry"] and output.startswith("error: ")
    assert "Traceback" not in output


def test_the_seed_and_speed_reach_the_simulated_stethoscope(tmp_path: Path) -> None:
    heard = {}
    for seed in ("0", "1"):
        out = tmp_path / f"seed-{seed}.flac"
        started = time.monotonic()
        # 12 s of sound, not 30: at 1x (the speed lost) it outlasts the bound by half, while
        # making its frames takes a tenth of it idle, half of the bound at a load of 7.
        code, output = stetho("record", "--device", "sim:normal", "--duration", "12", "--out",
                              str(out), "--seed", seed, "--speed", "100",
                              "--state-dir", str(tmp_path))  # fmt: skip
        assert code == 0, output
        assert time.monotonic() - started < 8  # 12 s of sound at 100 times real time
        heard[seed] = soundfile.read(out, dtype="int16")[0]
    assert not np.array_equal(heard["0"], heard["1"])


def test_a_paired_stethoscope_is_marked_seen_with_its_battery_after_a_recording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: io.StringIO
) -> None:
    registry = DeviceRegistry(tmp_path)
    entry = RegisteredDevice("steth-a", "5E:7A:00:00:00:01", "Stetho-A")
    registry.upsert(entry)

    class FakeBle:
        battery_percent = 42

    def source_for_spec(spec: str, registry: DeviceRegistry, **kwargs: object) -> object:
        return FakeBle(), registry.get(spec)

    out = tmp_path / "a.flac"

    def run(main: Coroutine[Any, Any, RecordingSummary]) -> RecordingSummary:
        main.close()
        return RecordingSummary(out, 4000, 4000, (), 0.0, False)

    monkeypatch.setattr(bridge_sources, "BleSource", FakeBle)
    monkeypatch.setattr(sources_home, "source_for_spec", source_for_spec)
    monkeypatch.setattr(cli, "run_until_signalled", run)
    before = time.time()
    code, output = stetho("record", "--device", "steth-a", "--duration", "1", "--out", str(out),
                          "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 0, output
    seen = DeviceRegistry(tmp_path).get("steth-a")
    assert seen.battery_percent == 42
    assert seen.last_seen is not None and before <= seen.last_seen <= time.time()


class SilentUntilCtrlC:
    """A stethoscope that gives no audio, or one block, then Ctrl-C comes: while it connects,
    before its first block or after it, as the nurse's own SIGINT to this process."""

    device_id = "silent"
    sample_rate_hz = 4000

    def __init__(self, stage: str) -> None:
        self.stage = stage
        self.events: asyncio.Queue[object] = asyncio.Queue()

    async def _ctrl_c(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.Event().wait()

    async def __aenter__(self) -> SilentUntilCtrlC:
        if self.stage == "connecting":
            await self._ctrl_c()
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def __aiter__(self) -> SilentUntilCtrlC:
        return self

    async def __anext__(self) -> object:
        if self.stage == "after-the-first-block":
            self.stage = "given"
            return AudioBlock(np.zeros(400, np.float32), self.sample_rate_hz, 0, STAMP)
        await self._ctrl_c()
        raise StopAsyncIteration


@pytest.mark.parametrize("stage", ["connecting", "before-the-first-block"])
def test_a_recording_stopped_before_any_audio_says_nothing_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: io.StringIO, stage: str
) -> None:
    def source_for_spec(spec: str, registry: DeviceRegistry, **kwargs: object) -> object:
        return SilentUntilCtrlC(stage), None

    monkeypatch.setattr(sources_home, "source_for_spec", source_for_spec)
    out = tmp_path / "a.flac"
    code, output = stetho("record", "--device", "sim:normal", "--duration", "1", "--out",
                          str(out), "--state-dir", str(tmp_path))  # fmt: skip
    assert (code, output) == (130, "error: interrupted before recording started; nothing written")
    assert screen.getvalue() == ""
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_after_the_first_block_keeps_it_and_says_stopped_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: io.StringIO
) -> None:
    def source_for_spec(spec: str, registry: DeviceRegistry, **kwargs: object) -> object:
        return SilentUntilCtrlC("after-the-first-block"), None

    monkeypatch.setattr(sources_home, "source_for_spec", source_for_spec)
    out = tmp_path / "a.flac"
    code, output = stetho("record", "--device", "sim:normal", "--duration", "1", "--out",
                          str(out), "--state-dir", str(tmp_path))  # fmt: skip
    assert (code, output) == (130, "")
    assert screen.getvalue() == f"wrote {out}: 0.10 s at 4000 Hz (stopped early)\n"
    assert soundfile.info(str(out)).frames == 400


def test_a_recording_stopped_early_keeps_its_summary_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, screen: io.StringIO
) -> None:
    out = tmp_path / "a.flac"

    def run(main: Coroutine[Any, Any, RecordingSummary]) -> RecordingSummary:
        main.close()
        return RecordingSummary(out, 4000, 2000, (), 0.0, True)

    monkeypatch.setattr(cli, "run_until_signalled", run)
    code, _ = stetho("record", "--device", "sim:normal", "--duration", "1", "--out", str(out),
                     "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 130
    assert screen.getvalue() == f"wrote {out}: 0.50 s at 4000 Hz (stopped early)\n"
