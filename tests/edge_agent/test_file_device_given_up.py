"""A `file` device whose recording the agent cannot play is given up once, said once and shown;
a stethoscope's failures keep their backoff. Real WAV/FLAC files, written by soundfile."""

from __future__ import annotations

import asyncio
import html
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
from rich.console import Console

from edge_agent.cli.status import render
from edge_agent.config import AgentConfig, parse_config
from edge_agent.pipeline.sources import given_up_reason, retry_delay
from edge_agent.runtime.daemon import Agent
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.web import stethoscope_rows
from edge_agent.web.i18n import translator
from edge_agent.web.render import templates
from edge_agent.wire import topics
from firmware_bridge.errors import (
    AdapterUnavailableError,
    ConfigurationError,
    LinkLostError,
)
from stetho_common import MAX_DELAY_S
from tests.fakes.recordings import write_cut_flac

SCHEDULE = {"interval_s": 5, "duration_s": 4}


def write_noise(path: Path, rate_hz: int, seconds: float, fmt: str = "WAV") -> None:
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(round(rate_hz * seconds)) * 3000).astype(np.int16)
    soundfile.write(path, noise, rate_hz, format=fmt, subtype="PCM_16")


def agent_config(tmp_path: Path, **device: object) -> AgentConfig:
    data = {
        "site": "home-file",
        "broker": {"port": 1},  # never reached: the device loop runs on its own here
        "storage": {"state_dir": str(tmp_path / "state")},
        "devices": [
            {"id": "demo", "kind": "file", "resident": "res-1", "schedule": SCHEDULE,
             "realtime": False, **device}
        ],
    }  # fmt: skip
    return parse_config(data, "agent.toml", tmp_path)


@dataclass
class Run:
    agent: Agent
    retained: list[OutboundMessage]  # what the device loop set as retained state
    status: dict[str, Any]  # status.json's snapshot after the loop


def run_device_loop(config: AgentConfig, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run the one file device's loop until it returns, as Agent.run would, and close up."""
    agent = Agent(config)
    agent.journal.prepare()  # as Agent.run does first
    retained: list[OutboundMessage] = []
    monkeypatch.setattr(agent.publisher, "set_state", retained.append)
    try:
        asyncio.run(asyncio.wait_for(agent._device_loop(config.devices[0]), 20))
        status = asyncio.run(agent._snapshot())
    finally:
        agent.analysis.shutdown(wait=True)
        agent.journal.close()
        agent.outbox.close()
        agent.exams.store.close()
    return Run(agent, retained, status)


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a recording\n" * 100)


def folder(path: Path) -> None:
    path.unlink()
    path.mkdir()  # unreadable as a file even by root, unlike a chmod 000 one


def low_rate(path: Path) -> None:
    write_noise(path, 1000, 2.0)


def no_samples(path: Path) -> None:
    write_noise(path, 4000, 0.0)  # a WAV header with 0 samples (libsndfile reads by content)


@pytest.mark.parametrize(
    ("spoil", "wrong", "reason"),
    [
        (garbage, ": Format not recognised", "not_audio"),
        (
            low_rate,
            " is sampled at 1000 Hz; the analysis takes 2000 to 48000 Hz: resample it",
            "rate_unsupported",
        ),
        (write_cut_flac, " is damaged ", "damaged"),
        (folder, ": Is a directory", "unreadable"),
        (no_samples, " holds no sound (a header with 0 samples)", "empty"),
    ],
    ids=["not-audio", "rate", "damaged", "unreadable", "empty"],
)
def test_a_file_the_agent_cannot_play_is_given_up_once_and_shown(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Callable[[Path], None],
    wrong: str,
    reason: str,
) -> None:
    # Before: `event=source_failed ... retry_in_s=60`, then the same every 60 s for ever (the
    # loop below timed out), and nothing in the status; the damaged FLAC's read error leaked
    # with a traceback and the file was replayed from its start about a second later.
    path = tmp_path / "take.flac"
    write_noise(path, 4000, 1.0, "FLAC")  # good at `stetho config check`, spoilt after
    config = agent_config(tmp_path, path="take.flac")
    spoil(path)
    with caplog.at_level(logging.INFO, logger="edge_agent"):
        run = run_device_loop(config, monkeypatch)
    agent, retained, data = run.agent, run.retained, run.status
    lines = [r.getMessage() for r in caplog.records if "event=source_" in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("event=source_given_up device=demo error=")
    assert str(path) in lines[0] and wrong in lines[0]
    given_up = agent.state.devices["demo"].given_up
    assert given_up is not None and str(path) in given_up and wrong in given_up
    assert data["devices"]["demo"]["given_up"] == given_up  # status.json
    last = retained[-1]  # the device's retained status, as the hub keeps it
    status = json.loads(last.payload)
    assert last.topic == topics.device_status("home-file", "demo") and last.retain
    # Before: the full sentence, the care home's path with it; the hub gets the class only.
    assert status["state"] == "offline" and status["detail"] == {"given_up": reason}
    assert str(tmp_path) not in last.payload.decode()
    console = Console(record=True, width=400)
    render(data, console)
    assert f"ALARM device demo given up: {given_up}" in console.export_text()  # stetho status
    (row,) = stethoscope_rows(agent)  # the nurses' page
    assert row.given_up == given_up and not row.connected
    page = templates().get_template("stethoscopes.html").render(
        t=translator("en"), lang="en", session=None, csrf="", path="/stethoscopes",
        stethoscopes=[row], found=None, can_pair=False, running=None, receipts=None,
    )  # fmt: skip
    assert "not used: tell the IT contact" in page and html.escape(given_up) in page


def test_a_playable_file_ends_without_being_given_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_noise(tmp_path / "take.wav", 4000, 1.0)
    agent = run_device_loop(agent_config(tmp_path, path="take.wav"), monkeypatch).agent
    assert agent.state.devices["demo"].given_up is None
    assert agent.state.devices["demo"].recordings == 1  # its one second, kept as partial


def test_only_a_file_device_is_given_up_and_only_for_a_set_up_error(tmp_path: Path) -> None:
    write_noise(tmp_path / "take.wav", 4000, 1.0)
    file_device = agent_config(tmp_path, path="take.wav").devices[0]
    stethoscopes = parse_config(
        {"site": "h", "devices": [
            {"id": "b", "kind": "ble", "address": "c0:ff:ee:00:00:01", "schedule": SCHEDULE,
             "resident": "r"},
            {"id": "u", "kind": "usb", "schedule": SCHEDULE, "resident": "r"},
        ]},
        "agent.toml",
    ).devices  # fmt: skip
    bad_file = ConfigurationError("cannot open recording take.wav: Format not recognised")
    assert retry_delay(file_device, 0, bad_file) is None
    assert given_up_reason(bad_file) == "unplayable"  # not a RecordingError: its class only
    for transient in (OSError("I/O error"), LinkLostError("gone")):
        delay = retry_delay(file_device, 3, transient)
        assert delay is not None and 4.0 <= delay <= 8.0  # the one policy: base 1 s, doubling
    for device in stethoscopes:  # a stethoscope is never given up: unchanged
        assert retry_delay(device, 0, bad_file) == MAX_DELAY_S
        assert retry_delay(device, 0, AdapterUnavailableError("no-adapter", "x")) == MAX_DELAY_S
        delay = retry_delay(device, 0, LinkLostError("gone"))
        assert delay is not None and 0.5 <= delay <= 1.0


def test_a_file_under_a_folder_not_named_in_utf8_is_given_up_not_the_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the reason held the path's surrogates, which the retained status's JSON cannot
    # encode: PydanticSerializationError out of the device loop, ending the agent's TaskGroup.
    folder = tmp_path / os.fsdecode(b"d\xe9mo")  # Latin-1 off a USB stick
    folder.mkdir()
    soundfile.write(os.fsencode(folder / "take.wav"), np.zeros(4000, np.int16), 4000)
    config = agent_config(folder, path="take.wav")
    garbage(folder / "take.wav")
    run = run_device_loop(config, monkeypatch)
    given_up = run.agent.state.devices["demo"].given_up
    assert given_up is not None and "d\ufffdmo" in given_up
    assert json.loads(run.retained[-1].payload)["detail"] == {"given_up": "not_audio"}
    assert run.status["devices"]["demo"]["given_up"] == given_up
