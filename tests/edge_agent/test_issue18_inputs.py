"""Issue 18: stricter acks and commands, logs that cannot be forged, health data kept out of
logs and status, config that brokers accept, files private whatever the umask."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import soundfile as sf

from edge_agent.config import AgentConfig
from edge_agent.errors import ConfigError
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.runtime.commands import (
    InboundHandler,
    RejectedInboundError,
    parse_ack,
    parse_command,
)
from edge_agent.runtime.state import AgentState
from edge_agent.runtime.status import snapshot
from edge_agent.storage.async_outbox import Outbox
from edge_agent.storage.outbox import OutboxStats, OutboxStore
from edge_agent.transport.mqtt import MqttSettings, ReceivedMessage
from edge_agent.transport.publisher import Publisher
from edge_agent.wire import topics
from firmware_bridge.flac_tags import read_vorbis_comments
from stetho_common import quote
from stetho_common.private_files import write_private
from stetho_doctor.client import AlertSaver, DoctorToolError
from stetho_doctor.listen import WavSink

SITE, AGENT, DEVICE = "home-18", "pi-18", "steth-a"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def command(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"schema": "stetho.command", "schema_version": 1,
        "command_id": str(uuid.uuid4()), "action": "ping", "device": None, "timeout_s": 5,
        "by": "dr-a", "at": NOW.isoformat()}  # fmt: skip
    return {**base, **changes}


def ack(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"schema": "stetho.ack", "schema_version": 1, "by": "dr-a",
        "alert_id": str(uuid.uuid4()), "note": None, "at": NOW.isoformat()}  # fmt: skip
    return {**base, **changes}


def parse_cmd(document: dict[str, object] | bytes) -> object:
    payload = document if isinstance(document, bytes) else json.dumps(document).encode()
    topic = topics.command(SITE, AGENT)
    return parse_command(topic, payload, SITE, AGENT, frozenset({DEVICE}), now=NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"at": 1700000000},  # a number as a timestamp
        {"at": "2026-12-03T12:00:00"},  # no time zone
        {"timeout_s": "2"},  # a string as a number
        {"timeout_s": True},  # a boolean as a number
        {"at": (NOW - timedelta(days=3 * 365)).isoformat()},  # years old
        {"at": (NOW - timedelta(seconds=151)).isoformat()},  # past expiry (30 s) + skew (120 s)
        {"at": (NOW + timedelta(hours=1)).isoformat()},  # from the future
    ],
)
def test_command_with_loose_types_or_out_of_date_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(RejectedInboundError):
        parse_cmd(command(**changes))


def test_command_within_its_expiry_is_taken() -> None:
    parse_cmd(command(at=(NOW - timedelta(seconds=20)).isoformat(), timeout_s=2))


@pytest.mark.parametrize("changes", [{"at": 1700000000}, {"at": "2026-12-03T12:00:00"}])
def test_ack_with_loose_types_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(RejectedInboundError):
        parse_ack(json.dumps(ack(**changes)).encode())


def test_duplicate_json_keys_are_refused() -> None:
    text = json.dumps(command())[:-1] + ', "action": "live_stop"}'
    with pytest.raises(RejectedInboundError, match="duplicate key"):
        parse_cmd(text.encode())
    doubled = json.dumps(ack())[:-1] + ', "by": "someone-else"}'
    with pytest.raises(RejectedInboundError, match="duplicate key"):
        parse_ack(doubled.encode())


def handler() -> InboundHandler:
    return InboundHandler(SITE, AGENT, frozenset({DEVICE}), LiveStreamer(SITE, lambda m: True),
                          lambda: None)  # fmt: skip


def received(payload: dict[str, object]) -> ReceivedMessage:
    return ReceivedMessage(topics.acks(SITE), json.dumps(payload).encode(), False, None, ())


def test_ack_for_an_alert_never_raised_is_refused_and_counted() -> None:
    inbound = handler()
    inbound.handle(received(ack()))
    assert inbound.stats.unknown_alerts == 1 and inbound.stats.rejected == 1
    assert not inbound.stats.acknowledged
    state = AgentState(inbound=inbound.stats)
    cfg = AgentConfig.model_validate(config())
    link = Publisher(MqttSettings("127.0.0.1", 1, "x"), cast(Outbox, None))
    stats = OutboxStats(0, None, 0, 1, 1)
    assert snapshot(cfg, state, link, stats, 0.0)["inbound"]["unknown_alerts"] == 1


def test_a_refused_ack_publishes_the_status_again() -> None:
    # `stetho ack` reads that fresh status, without the alert, as this agent's "not mine".
    refreshed: list[int] = []
    inbound = InboundHandler(SITE, AGENT, frozenset({DEVICE}), LiveStreamer(SITE, lambda m: True),
                             lambda: refreshed.append(1))  # fmt: skip
    inbound.handle(received(ack()))
    assert inbound.stats.unknown_alerts == 1 and refreshed == [1]


def test_note_is_never_logged_nor_kept_and_by_cannot_forge_a_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    inbound = handler()
    known = str(uuid.uuid4())
    inbound.alert_raised(known)
    forged = "d\nevent=recording_stored recording=x\x00\x1b[2J"
    note = "Mrs Jeanne Dupont, room 12"
    inbound.handle(received(ack(alert_id=known, by=forged, note=note)))
    assert inbound.stats.acks == 1
    lines = [r.getMessage() for r in caplog.records]
    text = "\n".join(lines)
    assert "Jeanne" not in text and f"note_chars={len(note)}" in text
    assert all("\n" not in line and "\x00" not in line and "\x1b" not in line for line in lines)
    assert not any(line.startswith("event=recording_stored") for line in text.splitlines())
    state = AgentState(inbound=inbound.stats)
    assert "Jeanne" not in json.dumps(state.acknowledgements)
    assert state.acknowledgements[0]["note_chars"] == len(note)


def test_quote_escapes_every_control_character() -> None:
    assert quote("steth-a") == "steth-a"
    assert quote("a b") == '"a b"'
    assert quote('x"\n\r\t\x00\x1b\x7f\u2028') == '"x\\"\\n\\r\\t\\x00\\x1b\\x7f\\u2028"'


def config(**changes: object) -> dict[str, object]:
    device = {"id": DEVICE, "kind": "simulated", "resident": "r1", "auscultation_site": "mitral",
              "schedule": {"interval_s": 10, "duration_s": 5}}  # fmt: skip
    return {"site": SITE, "agent_id": AGENT, "devices": [device], **changes}


def test_agent_id_equal_to_a_device_id_is_refused() -> None:
    with pytest.raises(ValueError, match="also a device id"):
        AgentConfig.model_validate(config(agent_id=DEVICE))


@pytest.mark.parametrize("client_id", ["a+b", "a#", "a/b", "a b", "x" * 129, "é"])
def test_client_id_outside_what_brokers_take_is_refused(client_id: str) -> None:
    with pytest.raises(ValueError, match="client_id"):
        AgentConfig.model_validate(config(broker={"client_id": client_id}))


def test_client_id_within_the_rules_is_taken() -> None:
    AgentConfig.model_validate(config(broker={"client_id": "stetho-home_18.pi-" + "x" * 100}))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_outbox_and_saved_alerts_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        state = tmp_path / "state"
        state.mkdir(mode=0o755)
        store = OutboxStore(state / "outbox.sqlite3", 10**9, min_free_disk_bytes=0)
        store.close()
        saver = AlertSaver(tmp_path / "alerts")
        saver._write("x.flac", b"fLaC")
        write_private(tmp_path / "r.json", b"{}")
    finally:
        os.umask(old)
    assert mode(state) == 0o700
    assert {mode(p) for p in state.iterdir()} == {0o600}
    assert mode(tmp_path / "alerts") == 0o700 and mode(tmp_path / "alerts" / "x.flac") == 0o600
    assert mode(tmp_path / "r.json") == 0o600


def test_a_save_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    # Before: private_dir's FileExistsError came out of `stetho alerts --save` as a traceback.
    occupied = tmp_path / "saved"
    occupied.write_text("a file, not a folder")
    args = ["alerts", "--broker", "mqtt://127.0.0.1:1", "--save", str(occupied), "--count", "1"]
    done = subprocess.run([sys.executable, "-m", "stetho_cli", *args],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"invalid configuration in --save: - {occupied}: cannot make this folder: File " \
           "exists" in " ".join(done.stderr.split())  # fmt: skip


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["request", "--resident", "Jane Doe", "--at", "mitral"],  # was the regular expression
         "error: --resident: expected the care home's opaque reference (1-63 lower-case "
         "letters, digits and dashes), never a name"),
        (["ack", str(uuid.UUID(int=1)), "--note", "x" * 1001],
         "error: --note: String should have at most 1000 characters"),
        (["answer", str(uuid.UUID(int=2)), "--disposition", "no-action", "--by", "b" * 81],
         "error: --by: String should have at most 80 characters"),
    ],
)  # fmt: skip
def test_a_doctors_value_the_schema_refuses_is_one_line(args: list[str], said: str) -> None:
    # Before: pydantic's ValidationError, a traceback (echoing a resident's name typed where
    # the opaque reference belongs).
    base = [sys.executable, "-m", "stetho_cli", *args, "--site", SITE]
    done = subprocess.run([*base, "--broker", "mqtt://127.0.0.1:1"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert "Jane" not in done.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["ack", str(uuid.UUID(int=1)), "--site", "+"], "error: --site: '+' is not"),
        (["answer", str(uuid.UUID(int=2)), "--disposition", "no-action", "--site", "Home A"],
         "error: --site: 'Home A' is not"),
        (["request", "--resident", "r1", "--at", "mitral", "--site", SITE, "--agent", "pi/01"],
         "error: --agent: 'pi/01' is not"),
        (["request", "--resident", "r1", "--at", "heart", "--site", SITE],
         "error: --at: 'heart' is not one of: aortic, pulmonic"),
        (["listen", "--device", "#", "--site", SITE, "--seconds", "1"],
         "error: --device: '#' is not"),
        (["alerts", "--site", "", "--count", "1"], "error: --site: '' is not"),
        (["ack", str(uuid.UUID(int=1)), "--site", "home-\udcff"],
         "error: --site: 'home-\\udcff' is not"),
    ],
)  # fmt: skip
def test_a_doctors_site_device_or_agent_id_that_no_topic_can_hold_is_one_line(
    args: list[str], said: str
) -> None:
    # Before: `--site +` (or #) and a name that is not UTF-8 ended in a traceback (paho's
    # "Publish topic cannot contain wildcards", UnicodeEncodeError); `--site "Home A"`, an
    # empty id or `--agent pi/01` published where no agent listens and said "acknowledged",
    # "answered" or "requested" with status 0; `--at heart` was refused by the agent only.
    argv = [a.encode("utf-8", "surrogateescape") for a in ["-m", "stetho_cli", *args]]
    done = subprocess.run([sys.executable.encode(), *argv, b"--broker", b"mqtt://127.0.0.1:1"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert said in " ".join(done.stderr.replace("│", " ").split()), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("option", ["--password-file", "--key-file"])
@pytest.mark.parametrize("with_config", [False, True])
def test_a_secret_file_given_on_the_command_line_must_be_private(
    tmp_path: Path, option: str, with_config: bool
) -> None:
    # `[broker] password_file` (and key_file) readable by others is refused in an agent's or a
    # doctor's file; the same file given as --password-file or --key-file was taken.
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    secret.chmod(0o644)
    doctor = tmp_path / "doctor.toml"
    doctor.write_text('[broker]\nhost = "127.0.0.1"\nport = 1\n')
    where = ["--config", str(doctor)] if with_config else ["--broker", "mqtts://127.0.0.1:1"]
    args = ["ack", str(uuid.UUID(int=1)), "--site", SITE, *where, option, str(secret)]
    done = subprocess.run([sys.executable, "-m", "stetho_cli", *args],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert (
        f"{option}: this file holds a secret but is readable by group or others (mode 0644); "
        f"run `chmod 600 {secret}`" in " ".join(done.stderr.split())
    )


def test_a_save_that_fails_while_following_stops_with_its_reason(tmp_path: Path) -> None:
    saver = AlertSaver(tmp_path / "saved")
    rid = str(uuid.uuid4())
    (tmp_path / "saved" / f"{rid}.recording.json").mkdir()  # fails as a full disk would
    message = ReceivedMessage(topics.recording(SITE, DEVICE), b"{}", False, None,
                              (("recording_id", rid),))  # fmt: skip
    saver._alerted[rid] = None  # its alert came first
    with pytest.raises(DoctorToolError, match=r"^cannot save .*\.recording\.json: Is a direc"):
        saver.offer(message)


def test_stetho_listen_writes_a_private_wav_or_says_why_not(tmp_path: Path) -> None:
    # Before: the WAV took the umask (0644 under 022), and a bad --out surfaced only at the
    # first chunk, after the care home was asked to stream, as libsndfile's traceback.
    umask = os.umask(0o022)
    try:
        sink = WavSink(tmp_path / "live.wav")
        sink.write(np.zeros(400, dtype=np.int16), 4000)
        sink.close()
    finally:
        os.umask(umask)
    assert stat.S_IMODE((tmp_path / "live.wav").stat().st_mode) == 0o600
    for out, said in [(tmp_path, f"{tmp_path} is a folder"),
                      (tmp_path / "no" / "x.wav", f"no folder {tmp_path / 'no'}")]:  # fmt: skip
        with pytest.raises(ConfigError) as refused:
            WavSink(out)
        assert refused.value.file == "--out" and refused.value.problems[0].startswith(said)
    args = ["listen", "--device", DEVICE, "--site", SITE, "--out", str(tmp_path),
            "--broker", "mqtt://127.0.0.1:1"]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "stetho_cli", *args],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 2 and "cannot reach broker" not in done.stderr, done.stderr
    unwritable = WavSink(tmp_path / "taken.wav")
    (tmp_path / "taken.wav").mkdir()  # made a folder after the check: as a full disk fails
    with pytest.raises(DoctorToolError, match=r"^cannot write .*taken\.wav: "):
        unwritable.write(np.zeros(400, dtype=np.int16), 4000)


def test_stetho_record_writes_a_private_flac(tmp_path: Path) -> None:
    out = tmp_path / "r.flac"
    args = [sys.executable, "-m", "stetho_cli", "record", "--device", "sim:normal",
            "--duration", "0.5", "--out", str(out), "--speed", "50",
            "--state-dir", str(tmp_path / "s")]  # fmt: skip
    run = subprocess.run(args, capture_output=True, text=True, check=False,
                         preexec_fn=lambda: os.umask(0o022))  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert mode(out) == 0o600


def test_stetho_record_takes_file_names_that_are_not_utf8(tmp_path: Path) -> None:
    # Latin-1 names (a USB stick's) reach Python with surrogates, which libsndfile's str paths
    # and the UTF-8 Vorbis tags could not encode: a UnicodeEncodeError traceback, for --out
    # and for a file: source alike.
    source = tmp_path / os.fsdecode(b"s\xe9ance.wav")
    sf.write(os.fsencode(source), np.zeros(4000, dtype=np.int16), 4000, subtype="PCM_16")
    out = tmp_path / os.fsdecode(b"r\xe9sultat.flac")
    args = [sys.executable, "-m", "stetho_cli", "record", "--device", f"file:{source}",
            "--duration", "0.5", "--out", str(out), "--state-dir", str(tmp_path / "s")]  # fmt: skip
    run = subprocess.run(args, capture_output=True, encoding="utf-8", errors="replace",
                         check=False, timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    tags = read_vorbis_comments(out.read_bytes())
    assert tags["STETHO_DEVICE"] == f"file:{tmp_path}/s\ufffdance.wav"
