"""Issue 18: a capture the broker could not take is refused before it is recorded.

The bound on a recording's message (edge_agent/transport/capture_limit.py) is checked against
real FLAC from libsndfile, on noise that FLAC cannot shrink; the refusal, the alarm and its
clearing are checked without I/O; the config check through the loader `stetho` uses.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
import typer
from numpy.typing import NDArray
from rich.console import Console
from typer.testing import CliRunner

from edge_agent.cli.service import config_check
from edge_agent.cli.status import render
from edge_agent.config import parse_config
from edge_agent.pipeline.capture import Segmenter
from edge_agent.pipeline.recordings import process_capture
from edge_agent.runtime import daemon
from edge_agent.runtime.status import snapshot as status_snapshot
from edge_agent.storage.outbox import OutboxStats
from edge_agent.transport.capture_limit import (
    METADATA_BYTES,
    MIN_BLOCK,
    CaptureGate,
    audio_packet_bound,
    check_capture,
    flac_bound,
    max_seconds,
)
from edge_agent.transport.packet_size import PacketLimit, PacketWatch, publish_packet_size
from edge_agent.wire.recording import Capture, RecordingContext
from firmware_bridge.flac import encode_flac, to_pcm16
from firmware_bridge.flac_tags import read_vorbis_comments
from stetho_signal import TriageThresholds

SITE = "s" * 63  # the longest ids a config allows (slugs of up to 63 characters)
DEVICE = "d" * 63
RATES = (2000, 4000, 8000, 48000)


def _noise(kind: str, n: int, seed: int) -> NDArray[np.float32]:
    """Sounds FLAC can hardly shrink: full-scale white noise (its worst case), noise clipped
    at full scale (a stethoscope's gain too high), and quiet noise with a heart-like thump."""
    rng = np.random.default_rng(seed)
    if kind == "white":
        return rng.uniform(-1.0, 1.0, n).astype(np.float32)
    if kind == "clipped":
        return np.clip(rng.normal(0.0, 1.5, n), -1, 1).astype(np.float32)
    t = np.arange(n) / 4000.0
    thump = 0.6 * np.sin(2 * np.pi * 40 * t) * (np.sin(2 * np.pi * 1.2 * t) > 0.9)
    return (thump + rng.normal(0.0, 0.05, n)).astype(np.float32)


def _capture(samples: NDArray[np.float32], rate: int) -> tuple[Capture, RecordingContext]:
    capture = Capture(uuid.uuid4(), time.time(), rate, samples, (), False)
    # An exam's, with the longest age band: each is a FLAC tag (STETHO_AGE_BAND) too.
    ctx = RecordingContext(SITE, "pi", DEVICE, "res-1", "lung-right-posterior", "lung",
                           uuid.uuid4(), "12_to_16")  # fmt: skip
    return capture, ctx


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("kind", ["white", "clipped", "thump"])
def test_the_bound_holds_for_the_real_audio_message(rate: int, kind: str) -> None:
    """process_capture's own audio message (FLAC, longest topic, exam id) is under the bound,
    for lengths around the encoder's block size and a long one."""
    for i, n in enumerate((1, 1151, 4095, 4097, 3 * rate + 17)):
        capture, ctx = _capture(_noise(kind, n, seed=n + i), rate)
        audio = process_capture(capture, ctx, TriageThresholds()).outbound[0]
        assert audio.topic.endswith("/recordings/audio") and audio.payload[:4] == b"fLaC"
        for v5 in (True, False):
            sent = publish_packet_size(audio, v5)
            assert sent <= audio_packet_bound(n, SITE, DEVICE, v5), (n, kind, sent)


@pytest.mark.parametrize("rate", RATES)
def test_white_noise_comes_out_verbatim_and_the_bound_is_tight_there(rate: int) -> None:
    n = 10 * rate
    flac = encode_flac(to_pcm16(_noise("white", n, 1)), rate, {"COMMENT": "recording_id=x"})
    assert 2 * n < len(flac) <= flac_bound(n)
    # Safe, and not so loose it refuses for nothing: the metadata allowance and 1 % over.
    assert flac_bound(n) - len(flac) < METADATA_BYTES + 0.01 * len(flac)


def test_the_encoder_uses_blocks_no_smaller_than_the_bound_assumes() -> None:
    """STREAMINFO's minimum block size (FLAC format, METADATA_BLOCK_STREAMINFO: the first 16
    bits) is the encoder's, whatever libsndfile does: the bound counts frames with it."""
    flac = encode_flac(to_pcm16(_noise("white", 20000, 2)), 4000, {"TITLE": "x"})
    assert read_vorbis_comments(flac)["TITLE"] == "x"
    streaminfo = flac[8 : 8 + 34]  # after "fLaC" and the block header
    assert int.from_bytes(streaminfo[0:2], "big") >= MIN_BLOCK


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("limit", [16384, 100_000, 1_000_000, 16 * 1024 * 1024])
def test_max_seconds_is_the_longest_that_passes(rate: int, limit: int) -> None:
    most = max_seconds(limit, rate, SITE, DEVICE)
    known = PacketLimit(limit, configured=False)
    if most > 0:
        assert check_capture(most, rate, SITE, DEVICE, known) is None
    refused = check_capture(most + 1, rate, SITE, DEVICE, known, key="exam.duration_s")
    assert refused is not None and refused.max_s == most
    assert f"at most {most} s fit" in refused.alarm() and "exam.duration_s" in refused.alarm()
    assert check_capture(3600, rate, SITE, DEVICE, None) is None  # no known limit: no refusal


def test_the_figures_docs_quote() -> None:
    """docs/mqtt.md §4: at 4 kHz, 16 MiB takes 34 min; 1 MB 2 min; 100 000 bytes 12 s."""
    assert max_seconds(16 * 1024 * 1024, 4000, "home-1", "steth-1") == 2078
    assert max_seconds(100_000, 4000, "home-1", "steth-1") == 12
    assert max_seconds(100_000, 8000, "home-1", "steth-1") == 6
    assert max_seconds(1_000_000, 4000, "home-1", "steth-1") == 123


def test_a_refused_interval_is_skipped_whole_and_the_next_asked_again() -> None:
    answers = iter([True, False, True])
    asked: list[int] = []

    def may_start() -> bool:
        asked.append(1)
        return next(answers)

    segmenter = Segmenter(100, duration_s=1.0, interval_s=2.0, may_start=may_start)
    done = []
    for i in range(60):  # 6 s of audio in 0.1 s blocks: three intervals
        done += segmenter.feed(np.zeros(10, np.float32), i * 0.1)
    assert len(asked) == 3
    assert [round(c.started_at, 1) for c in done] == [0.0, 4.0]
    assert all(len(c.samples) == 100 and not c.partial for c in done)
    back_to_back = Segmenter(100, 1.0, 1.0, may_start=lambda: False)
    assert back_to_back.feed(np.zeros(250, np.float32), 0.0) == []  # no loop, nothing kept
    assert back_to_back.flush() is None


def test_the_gate_raises_one_alarm_per_device_and_clears_it_saying_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    limit: list[PacketLimit | None] = [PacketLimit(100_000, configured=False)]
    changes: list[int] = []
    gate = CaptureGate("home-1", lambda: limit[0], on_change=lambda: changes.append(1))
    key = "devices[1].monitoring.duration_s"
    with caplog.at_level(logging.INFO):
        assert gate.check("steth-1", 10, 4000, key) is None
        assert gate.check("steth-2", 60, 4000, key) is not None
        assert gate.check("steth-2", 60, 4000, key) is not None
        alarm = gate.alarms["steth-2"]
        assert "at most 12 s fit" in alarm and "devices[1].monitoring.duration_s" in alarm
        assert "100000 bytes" in alarm and "16 MiB" in alarm
        assert len(changes) == 1 and gate.refused == 2
        gate.refresh()  # the same limit: nothing changes
        assert len(changes) == 1
        limit[0] = PacketLimit(200_000, configured=False)  # a larger limit, still too small
        gate.refresh()
        assert "at most 24 s fit" in gate.alarms["steth-2"] and len(changes) == 2
        limit[0] = None  # a new connection's CONNACK states no limit
        gate.refresh()  # no capture needed: an exam stethoscope may stay unused for days
        assert gate.check("steth-2", 60, 4000, key) is None
    assert gate.alarms == {} and len(changes) == 3 and gate.refused == 2
    assert caplog.text.count("event=capture_refused device=steth-2 duration_s=60 max_s=12") == 2
    assert 'event=capture_alarm_cleared device=steth-2 reason="the broker states no limit' in (
        caplog.text
    )


def test_stetho_status_shows_a_capture_alarm() -> None:
    alarm = "device steth-2: a recording of 60 s at 4000 Hz could exceed ... at most 12 s fit"
    broker = {"host": "h", "port": 1883, "connected": True, "published": 3, "connects": 1}
    broker |= {"last_error": None, "alarm": None, "packet_alarm": None}
    broker |= {"capture_alarms": {"steth-2": alarm}}
    outbox = {"pending": 0, "oldest_pending_age_s": None, "used_bytes": 1, "quota_bytes": 2}
    outbox |= {"free_disk_bytes": 3, "alarm": None}
    data = {"site": "s", "agent": "a", "version": "0", "pid": 1, "started_at": 0.0}
    data |= {"updated_at": 0.0, "broker": broker, "outbox": outbox, "devices": {}}
    console = Console(record=True, width=400)
    render(data, console)
    assert f"ALARM broker: {alarm}" in console.export_text()


def test_the_packet_alarm_clears_once_nothing_pending_is_over_the_limit() -> None:
    watch = PacketWatch()
    small = PacketLimit(20000, configured=False)
    assert watch.caught_up(small) is None  # no alarm: nothing to clear
    watch.hold(7, 60000, small)
    assert watch.alarm is not None and watch.caught_up(small) is None  # still held
    watch.new_link()  # the same limit again: the drain holds it again
    watch.hold(7, 60000, small)
    assert watch.caught_up(small) is None
    watch.new_link()  # a larger limit: nothing held on this pass
    watch.delivered(7)
    why = watch.caught_up(PacketLimit(1_000_000, configured=False))
    assert why is not None and watch.alarm is None
    assert "allows 1000000 bytes" in why and "1 message(s) held back earlier were delivered" in why
    suspected = PacketWatch()  # 3.1.1 without a limit: the suspect must get its PUBACK
    suspected.suspicion.alarmed.add(3)
    suspected.suspect(50000)
    assert suspected.caught_up(None) is None
    suspected.delivered(3)
    assert "states no limit" in (suspected.caught_up(None) or "")


AGENT = """site = "home-1"
[broker]
max_packet_bytes = 100000
[exam]
duration_s = {exam_s}
[storage]
state_dir = "{state}"
[[devices]]
id = "steth-1"
kind = "simulated"
resident = "res-1"
monitoring = {{ interval_s = 600, duration_s = 10 }}
[[devices]]
id = "steth-2"
kind = "simulated"
sample_rate_hz = {rate}
resident = "res-2"
monitoring = {{ interval_s = 600, duration_s = 60 }}
"""


def test_a_monitoring_duration_over_max_packet_bytes_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(AGENT.format(state=tmp_path / "state", rate=4000, exam_s=10), encoding="utf-8")
    cli = typer.Typer()
    cli.command("check")(config_check)  # `stetho config check`
    cli.command("other")(lambda: None)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert str(path) in text and "devices[1].monitoring.duration_s: expected at most 12 s" in text
    assert "broker.max_packet_bytes (100000 bytes" in text and "found 60" in text
    assert "devices[0]" not in text  # 10 s fits
    path.write_text(
        AGENT.format(state=tmp_path / "state", rate=2000, exam_s=10).replace("60 }", "24 }")
    )
    assert CliRunner().invoke(cli, ["check", str(path)]).exit_code == 0


def test_an_exam_duration_over_max_packet_bytes_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    text = AGENT.format(state=tmp_path / "state", rate=4000, exam_s=15).replace("60 }", "10 }")
    path.write_text(text, encoding="utf-8")
    cli = typer.Typer()
    cli.command("check")(config_check)
    cli.command("other")(lambda: None)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "exam.duration_s: expected at most 12 s" in text and "found 15" in text
    assert text.count("exam.duration_s:") == 1  # both stethoscopes at 4 kHz: said once
    assert "monitoring.duration_s" not in text


@pytest.mark.parametrize(
    ("status", "remembered"),
    [
        ({"broker": {"connack_max_packet": 40000}}, 40000),
        ({"broker": {"connack_max_packet": None}}, None),
        ({"broker": {"connack_max_packet": True}}, None),
        ({"broker": {}}, None),  # written by an older agent
        ("{not json", None),
        (None, None),  # no status file yet
    ],
)
def test_a_restarted_agent_remembers_the_broker_limit_until_it_connects(
    tmp_path: Path, status: object, remembered: int | None
) -> None:
    """A Pi restarted while the broker is unreachable still refuses what it could not take."""
    if status is not None:
        text = status if isinstance(status, str) else json.dumps(status)
        (tmp_path / "status.json").write_text(text, encoding="utf-8")
    config = {"site": "home", "broker": {"port": 9}, "storage": {"state_dir": str(tmp_path)}}
    agent = daemon.Agent(parse_config(config, "test"))
    try:
        assert agent.publisher.stats.connack_max_packet == remembered
        refused = agent.gate.check("steth-1", 20, 4000, "devices[0].monitoring.duration_s")
        assert (refused is not None) == (remembered is not None)
        if refused is not None:
            assert refused.max_s == 4 and not refused.limit.configured
            snapshot = status_snapshot(agent.config, agent.state, agent.publisher,
                                       OutboxStats(0, None, 0, 1, 1), 0.0)  # fmt: skip
            assert snapshot["broker"]["connack_max_packet"] == 40000  # kept for the next start
            assert snapshot["broker"]["capture_alarms"]["steth-1"] == refused.alarm()
    finally:
        agent.journal.close()
        agent.outbox.close()
        agent.exams.store.close()
