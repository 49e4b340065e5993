"""`stetho pair/devices/forget/record` end to end, on simulated stethoscopes and real FLAC."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import typer
from rich.console import Console
from typer.testing import CliRunner

from edge_agent.cli import devices as cli_devices
from firmware_bridge import errors, pairing
from firmware_bridge.bluez_agent import error_for_dbus
from firmware_bridge.flac_tags import read_vorbis_comments
from stetho_testkit.poll import wait_until
from tests.fakes.recordings import write_cut_flac

app = typer.Typer()
app.command("pair")(cli_devices.pair_command)
app.command("devices")(cli_devices.devices_command)
app.command("forget")(cli_devices.forget_command)
app.command("record")(cli_devices.record_command)
runner = CliRunner()


def stetho(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def words(output: str) -> str:
    """The output's words, rich's error box and its line breaks left out."""
    return " ".join(re.sub("[│╭╮╰╯─]", " ", output).split())


def test_record_sim_normal_writes_a_valid_tagged_flac_of_the_right_length(tmp_path: Path) -> None:
    out = tmp_path / "x.flac"
    code, _ = stetho("record", "--device", "sim:normal", "--duration", "10", "--out", str(out),
                     "--site", "aortic", "--speed", "25", "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 0
    subprocess.run(["flac", "-s", "-t", str(out)], check=True)
    info = soundfile.info(str(out))
    assert info.samplerate == 4000 and info.duration == pytest.approx(10.0, rel=0.01)
    tags = read_vorbis_comments(out.read_bytes())
    assert tags["STETHO_DEVICE"] == "sim:normal" and tags["STETHO_SITE"] == "aortic"
    assert tags["STETHO_SAMPLE_RATE_HZ"] == "4000" and json.loads(tags["STETHO_GAPS"]) == []
    assert "STETHO_START_TIME" in tags
    assert not list(tmp_path.glob("*.partial.wav"))


def test_record_sim_lossy_keeps_timing_and_reports_gaps(tmp_path: Path) -> None:
    out = tmp_path / "lossy.flac"
    code, output = stetho("record", "--device", "sim:lossy", "--duration", "10", "--out",
                          str(out), "--speed", "25", "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 0
    assert "link lost" in output
    assert soundfile.info(str(out)).duration == pytest.approx(10.0, rel=0.01)
    tags = read_vorbis_comments(out.read_bytes())
    gaps = json.loads(tags["STETHO_GAPS"])
    lost = sum(length for _, length in gaps)
    assert gaps and lost == int(tags["STETHO_LOST_SAMPLES"])
    assert 0.02 < lost / 40000 < 0.09  # about 5% of the frames were dropped


def test_ctrl_c_stops_and_keeps_what_was_recorded(tmp_path: Path) -> None:
    out = tmp_path / "stopped.flac"
    code = (
        "import typer, sys; from edge_agent.cli import devices as c; a = typer.Typer();"
        "a.command('record')(c.record_command); a.command('devices')(c.devices_command); a()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "record", "--device", "sim:normal", "--duration", "600",
         "--out", str(out), "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "100"},
    )  # fmt: skip
    partial = tmp_path / "stopped.flac.partial.wav"
    with contextlib.suppress(TimeoutError):  # stopped either way: the asserts below tell
        wait_until(lambda: partial.exists() and partial.stat().st_size >= 20_000, 60, every_s=0.1)
    proc.send_signal(signal.SIGINT)
    stdout, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert b"stopped early" in stdout
    subprocess.run(["flac", "-s", "-t", str(out)], check=True)
    assert soundfile.info(str(out)).duration > 0.1


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "0", "3601", "ten"])
def test_a_duration_that_is_no_number_of_seconds_is_refused_by_name(
    tmp_path: Path, value: str
) -> None:
    out = tmp_path / "a.flac"
    code, output = stetho("record", "--device", "sim:normal", "--duration", value, "--out",
                          str(out), "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 2 and "not a number of seconds" in words(output)
    assert "less than or equal" not in output  # typer's words for NaN misled
    assert not out.exists()


def test_an_endless_scan_is_refused_before_the_radio_starts(tmp_path: Path) -> None:
    code, output = stetho("pair", "--simulate", "--scan-seconds", "inf",
                          "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 2 and "inf is not a number of seconds from 1 to 300" in words(output)


def test_bad_site_and_extension_are_usage_errors(tmp_path: Path) -> None:
    out = str(tmp_path / "a.flac")
    assert stetho("record", "--device", "sim:normal", "--duration", "1", "--out", out,
                  "--site", "elbow")[0] == 2  # fmt: skip
    assert stetho("record", "--device", "sim:normal", "--duration", "1", "--out",
                  str(tmp_path / "a.wav"))[0] == 2  # fmt: skip
    assert stetho("record", "--device", "sim:asthma", "--duration", "1", "--out", out)[0] == 2
    nowhere = tmp_path / "no" / "such" / "a.flac"
    code, output = stetho("record", "--device", "sim:normal", "--duration", "1", "--out",
                          str(nowhere))  # fmt: skip
    assert code == 2 and "create it first" in output
    assert not (tmp_path / "no").exists()  # a typo in --out must not leave folders behind


RATES_TAKEN = "the analysis takes 2000 to 48000 Hz: resample it first"


@pytest.mark.parametrize(
    ("rate_hz", "samples", "said"),
    [
        (1000, 1000, f"is sampled at 1000 Hz; {RATES_TAKEN}"),
        (96000, 96000, f"is sampled at 96000 Hz; {RATES_TAKEN}"),
        (4000, 0, "holds no sound (a header with 0 samples)"),
    ],
    ids=["1000-hz", "96000-hz", "no-samples"],
)
def test_record_refuses_a_file_the_analysis_cannot_take(
    tmp_path: Path, rate_hz: int, samples: int, said: str
) -> None:
    # Before: recorded and kept (exit 0); only the analysis then said the rate was unsupported,
    # and a header with no samples was written as "0.00 s".
    source = tmp_path / "from-elsewhere.wav"
    soundfile.write(source, np.zeros(samples, dtype=np.int16), rate_hz, subtype="PCM_16")
    out = tmp_path / "kept.flac"
    code, output = stetho("record", "--device", f"file:{source}", "--duration", "0.5",
                          "--out", str(out), "--state-dir", str(tmp_path / "s"))  # fmt: skip
    assert code == 2, output
    assert " ".join(output.split()) == f"error: recording {source} {said}"
    assert not out.exists()


def test_record_from_a_damaged_file_is_one_line(tmp_path: Path) -> None:
    # Before: libsndfile's LibsndfileError ("flac decoder lost sync") as a traceback, exit 1.
    source = tmp_path / "cut.flac"
    write_cut_flac(source)
    out = tmp_path / "kept.flac"
    code, output = stetho("record", "--device", f"file:{source}", "--duration", "20",
                          "--out", str(out), "--state-dir", str(tmp_path / "s"),
                          "--speed", "100")  # fmt: skip
    assert code == 2, output
    # Where the cut is found and libsndfile's words for it vary with its version.
    assert re.fullmatch(
        rf"error: recording {re.escape(str(source))} is damaged \d+\.\d s in: [^\n]+",
        " ".join(output.split()),
    ), output


def test_record_takes_a_file_at_the_edges_of_the_analysis_rates(tmp_path: Path) -> None:
    for rate_hz in (2000, 48000):
        source = tmp_path / f"at-{rate_hz}.wav"
        soundfile.write(source, np.zeros(rate_hz, dtype=np.int16), rate_hz, subtype="PCM_16")
        out = tmp_path / f"at-{rate_hz}.flac"
        code, output = stetho("record", "--device", f"file:{source}", "--duration", "0.5",
                              "--out", str(out), "--state-dir", str(tmp_path / "s"),
                              "--speed", "100")  # fmt: skip
        assert code == 0, output
        assert soundfile.info(str(out)).samplerate == rate_hz


def test_pair_devices_forget_with_simulated_stethoscopes(tmp_path: Path) -> None:
    state = str(tmp_path)
    code, output = stetho("pair", "--simulate", "--scan-seconds", "1", "--location", "Room 12",
                          "--state-dir", state)  # fmt: skip
    assert code == 0, output
    assert "Stetho-Sim-2" in output and "54%" in output  # the scan table lists both
    code, listing = stetho("devices", "--json", "--state-dir", state)
    devices = json.loads(listing)
    assert [(d["id"], d["location"], d["battery_percent"]) for d in devices] == [
        ("stetho-sim-0001", "Room 12", 87)
    ]
    assert stetho("forget", "stetho-sim-0001", "--simulate", "--state-dir", state)[0] == 0
    assert json.loads(stetho("devices", "--json", "--state-dir", state)[1]) == []
    assert stetho("forget", "stetho-sim-0001", "--state-dir", state)[0] == 16


def test_pair_with_an_unknown_address_is_not_found(tmp_path: Path) -> None:
    code, output = stetho("pair", "--simulate", "--scan-seconds", "1", "--address",
                          "AA:BB:CC:DD:EE:FF", "--state-dir", str(tmp_path))  # fmt: skip
    assert code == 12 and "did not answer" in output


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.AdapterUnavailableError("no-adapter", "no adapter"), 10),
        (errors.AdapterUnavailableError("powered-off", "powered off"), 11),
        (errors.DeviceNotFoundError("gone"), 12),
        (errors.PairingRejectedError("rejected"), 13),
        (errors.BluetoothPermissionError("denied"), 14),
        (errors.LinkLostError("lost"), 15),
    ],
)
def test_each_bluetooth_failure_has_its_own_exit_status(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, error: Exception, status: int
) -> None:
    async def failing_scan(*args: object, **kwargs: object) -> None:
        raise error

    monkeypatch.setattr(pairing, "scan", failing_scan)
    code, output = stetho("pair", "--state-dir", str(tmp_path))
    assert code == status
    assert "error:" in output and "Traceback" not in output
    assert len(set(cli_devices.EXIT_CODES.values())) == len(cli_devices.EXIT_CODES)


@pytest.mark.parametrize("width", [72, 80])
def test_the_devices_table_shows_whole_ids_and_addresses_on_a_narrow_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    # Before: an 80-column SSH session showed "stetho-s…" and "5E:7A:00…": the id that
    # `stetho forget` and `stetho record --device` want could not be read off the table.
    state = str(tmp_path)
    code, output = stetho("pair", "--simulate", "--scan-seconds", "1", "--location",
                          "Room 12, by the window", "--state-dir", state)  # fmt: skip
    assert code == 0, output
    screen = io.StringIO()
    monkeypatch.setattr(cli_devices, "out", Console(file=screen, width=width))
    assert stetho("devices", "--state-dir", state)[0] == 0
    assert "stetho-sim-0001" in screen.getvalue()
    assert "5E:7A:00:00:00:01" in screen.getvalue()


def test_an_adapter_that_is_missing_says_what_to_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Before: "error: cannot reach BlueZ over D-Bus: [Errno 2] No such file or directory"
    # and nothing to do, where docs/deploy-raspberry-pi.md says each failure says what to do.
    async def failing_scan(*args: object, **kwargs: object) -> None:
        raise errors.AdapterUnavailableError(
            errors.AdapterUnavailableError.NO_ADAPTER, "cannot reach BlueZ over D-Bus"
        )

    monkeypatch.setattr(pairing, "scan", failing_scan)
    code, output = stetho("pair", "--state-dir", str(tmp_path))
    assert code == 10
    assert words(output) == (
        "error: cannot reach BlueZ over D-Bus: check `systemctl status bluetooth` and "
        "`bluetoothctl show` (docs/deploy-raspberry-pi.md, BlueZ)"
    )


def test_every_powered_off_adapter_says_how_to_power_it_on() -> None:
    # BlueZ's NotReady said only "the Bluetooth adapter is powered off"; the two other ways
    # of learning it already said to run `bluetoothctl power on`.
    error = error_for_dbus("org.bluez.Error.NotReady", "Resource Not Ready")
    assert error.reason == errors.AdapterUnavailableError.POWERED_OFF
    assert str(error).endswith(": run `bluetoothctl power on`")
