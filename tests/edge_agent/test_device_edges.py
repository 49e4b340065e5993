"""One stethoscope's pipeline, each rule of its hand-off, direct.

"Nothing lost": every recording the device loop captures is journalled with its own context,
sealed on disk before it is offered, offered with the right context and date, and its journal
deleted only once accepted; a link lost or a source run out mid-recording hands on what came as
partial. The source is scripted (the hardware boundary); the journal is the real one on disk,
the live streamer and the segmenters the real ones.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
import soundfile

from edge_agent.config import DeviceConfig, parse_config
from edge_agent.errors import AgentError
from edge_agent.pipeline import device as device_pipeline
from edge_agent.pipeline.capture import Segmenter
from edge_agent.pipeline.device import DevicePipeline, _context, _outruns_wall_clock, wall_dated
from edge_agent.pipeline.live import LiveStreamer
from edge_agent.pipeline.on_demand import OnDemandSegmenter
from edge_agent.pipeline.radio import Radio
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.storage.journal import CaptureJournal, list_journals, load_journal
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire.recording import Capture, Gap, RecordingContext
from firmware_bridge.errors import LinkLostError
from firmware_bridge.sources import AudioBlock, DeviceEvent, EventKind

RATE = 2000
BLOCK = 200  # 0.1 s
T0 = 1_765_000_000.0
DEFAULT = RecordingContext("home-1", "pi", "steth-1", "res-1", "mitral", "heart")
EXAM_CTX = RecordingContext("home-1", "pi", "steth-1", "res-2", "apex", "heart", uuid.uuid4())


class ScriptedSource:
    """`seconds` of a ramp in 0.1 s blocks from T0, then the end or `fail`; events queued."""

    def __init__(
        self,
        seconds: float,
        fail: BaseException | None = None,
        events: tuple[DeviceEvent, ...] = (),
    ) -> None:
        self.device_id = "steth-1"
        self.sample_rate_hz = RATE
        self.events: asyncio.Queue[DeviceEvent] = asyncio.Queue()
        for event in events:
            self.events.put_nowait(event)
        self.samples = (np.arange(round(seconds * RATE)) / 1e5).astype(np.float32)
        self.fail = fail
        self.blocks = 0

    async def __aenter__(self) -> ScriptedSource:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[AudioBlock]:
        for start in range(0, len(self.samples), BLOCK):
            chunk = self.samples[start : start + BLOCK]
            gaps = (Gap(start + 10, 5),) if start == BLOCK else ()
            self.blocks += 1
            yield AudioBlock(chunk, RATE, start, T0 + start / RATE, gaps)
            await asyncio.sleep(0)
        if self.fail is not None:
            raise self.fail


def _device(**more: Any) -> DeviceConfig:
    entry = {"id": "steth-1", "resident": "res-1", "kind": "ble", "address": "5E:7A:00:00:01:01"}
    entry |= {"sample_rate_hz": RATE, **more}
    return parse_config({"site": "home-1", "devices": [entry]}, "test").devices[0]


def _monitored(duration_s: float = 1, interval_s: float = 1, **more: Any) -> DeviceConfig:
    return _device(monitoring={"interval_s": interval_s, "duration_s": duration_s, **more})


class Harness:
    """A pipeline on a real journal; what it hands on and tells, kept in order."""

    def __init__(
        self, tmp_path: Path, device: DeviceConfig, accept: bool = True, **more: Any
    ) -> None:
        self.journal = CaptureJournal(tmp_path / "journal")
        self.journal.prepare()
        self.streamed: list[str] = []
        self.live = LiveStreamer("home-1", self._stream)
        self.accepted: list[tuple[Capture, RecordingContext, RecordingContext | None]] = []
        self.links: list[bool] = []
        self.stats = DeviceStats()
        self.opened: list[tuple[DeviceConfig, Radio | None]] = []
        self._accept = accept
        self.pipeline = DevicePipeline(device, DEFAULT, self.journal, self.live, self.accept,
                                       self.stats, self.links.append, **more)  # fmt: skip

    def _stream(self, message: OutboundMessage) -> bool:
        self.streamed.append(message.topic)
        return True

    async def accept(self, capture: Capture, ctx: RecordingContext, stats: DeviceStats) -> bool:
        assert stats is self.stats
        # Sealed before it is offered: the journal on disk holds the whole recording already.
        path = self.journal.path_for(capture.recording_id)
        kept = load_journal(path)
        assert len(kept.samples) == len(capture.samples) and kept.gaps == capture.gaps
        self.accepted.append((capture, ctx, kept.header.context))
        return self._accept

    def run(self, source: ScriptedSource, monkeypatch: pytest.MonkeyPatch) -> None:
        def open_source(device: DeviceConfig, radio: Radio | None = None) -> ScriptedSource:
            self.opened.append((device, radio))
            return source

        monkeypatch.setattr(device_pipeline, "open_source", open_source)
        try:
            asyncio.run(self.pipeline.run())
        finally:
            self.journal.close()


def test_monitoring_hands_on_each_recording_journalled_and_lets_the_device_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    radio = cast(Radio, object())  # the shared BLE adapter, handed to the source as it is
    device = _monitored(recordings=2)
    h = Harness(tmp_path, device, radio=radio)
    h.live.start("steth-1", 60.0, "doctor")
    source = ScriptedSource(5.0)
    with caplog.at_level(logging.INFO):
        h.run(source, monkeypatch)
    assert source.blocks == 20  # 2 s read: let go once its two recordings were made
    assert [(c.started_at, len(c.samples), c.partial) for c, _, _ in h.accepted] == [
        (T0, RATE, False), (T0 + 1, RATE, False)]  # fmt: skip
    assert [(ctx, journalled) for _, ctx, journalled in h.accepted] == [(DEFAULT, DEFAULT)] * 2
    assert h.accepted[0][0].gaps == (Gap(BLOCK + 10, 5),)
    np.testing.assert_array_equal(h.accepted[1][0].samples, source.samples[RATE : 2 * RATE])
    assert list_journals(tmp_path / "journal") == []  # accepted: deleted
    assert h.opened == [(device, radio)]
    assert h.links == [True, False] and h.stats.connected is False and h.stats.held
    assert h.live.sessions == {} and h.streamed == ["stetho/v1/home-1/steth-1/live"] * 20
    messages = [r.getMessage() for r in caplog.records]
    assert "event=monitoring_complete device=steth-1" in messages
    assert any('event=live_stopped device=steth-1 reason="device disconnected"' in m
               for m in messages)  # fmt: skip


def test_a_recording_not_accepted_keeps_its_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, _monitored(recordings=1), accept=False)
    h.run(ScriptedSource(1.0), monkeypatch)
    (capture, _, _) = h.accepted[0]
    assert list_journals(tmp_path / "journal") == [h.journal.path_for(capture.recording_id)]


def test_the_recordings_left_are_kept_across_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, _monitored(recordings=3))
    first = ScriptedSource(2.0)
    h.run(first, monkeypatch)
    assert len(h.accepted) == 2
    second = ScriptedSource(5.0)
    h.journal = h.pipeline._journal = CaptureJournal(tmp_path / "journal")
    h.run(second, monkeypatch)
    assert len(h.accepted) == 3 and second.blocks == 10  # one more, then let go


def test_a_source_run_out_mid_recording_hands_on_the_rest_as_partial(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, _monitored(duration_s=2, interval_s=2))
    h.run(ScriptedSource(2.5), monkeypatch)
    assert [(len(c.samples), c.partial) for c, _, _ in h.accepted] == [
        (2 * RATE, False), (RATE // 2, True)]  # fmt: skip
    assert h.accepted[1][0].started_at == T0 + 2 and h.accepted[1][1] == DEFAULT
    assert list_journals(tmp_path / "journal") == []


def test_a_lost_link_hands_on_what_came_then_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, _monitored(duration_s=2, interval_s=2))
    with pytest.raises(LinkLostError, match="gone"):
        h.run(ScriptedSource(1.3, fail=LinkLostError("gone")), monkeypatch)
    assert [(c.started_at, len(c.samples), c.partial) for c, _, _ in h.accepted] == [
        (T0, 1.3 * RATE, True)]  # fmt: skip
    assert h.accepted[0][1] == DEFAULT and h.links == [True, False]
    assert h.stats.connected is False and h.opened == [(h.pipeline.device, None)]


def test_a_lost_link_between_recordings_hands_on_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, _monitored(duration_s=1, interval_s=2))
    with pytest.raises(LinkLostError):
        h.run(ScriptedSource(1.5, fail=LinkLostError("gone")), monkeypatch)
    assert [len(c.samples) for c, _, _ in h.accepted] == [RATE]


def test_monitoring_asks_before_each_recording_with_its_length_and_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[float, int]] = []

    def may_record(duration_s: float, rate_hz: int) -> bool:
        asked.append((duration_s, rate_hz))
        return len(asked) != 1  # the first refused: the broker could not take it

    h = Harness(tmp_path, _monitored(duration_s=1, interval_s=1), may_record=may_record)
    h.run(ScriptedSource(3.0), monkeypatch)
    assert asked == [(1.0, RATE)] * 3
    assert [c.started_at for c, _, _ in h.accepted] == [T0 + 1, T0 + 2]


class Exams:
    """The exams' side as the pipeline sees it (the OnDemand protocol), recording once asked."""

    def __init__(self, start_after_blocks: int | None = 2) -> None:
        self.segmenter: OnDemandSegmenter | None = None
        self.calls: list[tuple[str, ...]] = []
        self.offered = 0
        self.events: list[DeviceEvent] = []
        self._start_after = start_after_blocks

    def attach(self, device: str, sample_rate_hz: int) -> OnDemandSegmenter:
        self.calls.append(("attach", device, str(sample_rate_hz)))
        self.segmenter = OnDemandSegmenter(sample_rate_hz, track_appends=True)
        return self.segmenter

    def detach(self, device: str) -> None:
        self.calls.append(("detach", device))

    def offer(self, device: str, block: AudioBlock) -> None:
        assert device == "steth-1" and block.start_sample == self.offered * BLOCK
        self.offered += 1
        if self.offered == self._start_after and self.segmenter is not None:
            self.segmenter.start(EXAM_CTX, 1.0, "nurse-a")

    def event(self, device: str, event: DeviceEvent) -> None:
        assert device == "steth-1"
        self.events.append(event)


def test_an_exam_recording_is_journalled_and_handed_on_with_its_own_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exams = Exams()
    h = Harness(tmp_path, _device(), on_demand=exams)
    h.run(ScriptedSource(2.0), monkeypatch)
    assert exams.calls == [("attach", "steth-1", str(RATE)), ("detach", "steth-1")]
    assert exams.offered == 20
    (capture, ctx, journalled) = h.accepted[0]
    assert ctx == EXAM_CTX and journalled == EXAM_CTX
    assert capture.started_at == T0 + 0.1 and len(capture.samples) == RATE
    assert capture.gaps == ((Gap(10, 5),))  # the second block's gap, counted from its start
    assert (
        exams.segmenter is not None and exams.segmenter.peek_context(capture.recording_id) is None
    )


def test_an_exam_recording_cut_by_a_lost_link_keeps_its_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exams = Exams()
    h = Harness(tmp_path, _device(), on_demand=exams)
    with pytest.raises(LinkLostError):
        h.run(ScriptedSource(0.5, fail=LinkLostError("gone")), monkeypatch)
    (capture, ctx, journalled) = h.accepted[0]
    assert capture.partial and len(capture.samples) == 4 * BLOCK
    assert ctx == EXAM_CTX and journalled == EXAM_CTX
    assert exams.calls[-1] == ("detach", "steth-1")


def test_an_exam_recording_run_out_with_its_file_keeps_its_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exams = Exams()
    h = Harness(tmp_path, _device(), on_demand=exams)
    h.run(ScriptedSource(0.5), monkeypatch)
    (capture, ctx, _) = h.accepted[0]
    assert capture.partial and ctx == EXAM_CTX


def test_a_monitored_device_is_not_the_exams_to_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    exams = Exams()
    h = Harness(tmp_path, _monitored(recordings=1), on_demand=exams)
    source = ScriptedSource(1.0, events=(DeviceEvent(EventKind.BUTTON_PRESSED, T0),))
    h.run(source, monkeypatch)
    assert exams.calls == [] and exams.offered == 0 and exams.events == []
    assert len(h.accepted) == 1 and h.accepted[0][1] == DEFAULT


def test_a_device_with_neither_schedule_nor_exams_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, _device())
    with pytest.raises(AgentError) as caught:
        h.run(ScriptedSource(1.0), monkeypatch)
    assert str(caught.value) == "device steth-1: no monitoring schedule and no exams"


def test_device_events_reach_the_exams_and_the_battery_the_stats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exams = Exams(start_after_blocks=None)
    h = Harness(tmp_path, _device(), on_demand=exams)
    events = (DeviceEvent(EventKind.BATTERY, T0, 42), DeviceEvent(EventKind.BUTTON_PRESSED, T0))
    with caplog.at_level(logging.INFO, logger="edge_agent.pipeline.device"):
        h.run(ScriptedSource(0.3, events=events), monkeypatch)
    assert exams.events == list(events)
    assert h.stats.battery_percent == 42 and type(h.stats.battery_percent) is int
    assert [r.getMessage() for r in caplog.records] == [
        "event=device_battery device=steth-1 value=42",
        "event=device_button-pressed device=steth-1 value=True",
    ]


def test_a_battery_level_without_other_events_leaves_the_exams_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(tmp_path, _monitored(recordings=1))
    h.run(ScriptedSource(1.0, events=(DeviceEvent(EventKind.BATTERY, T0, 7),)), monkeypatch)
    assert h.stats.battery_percent == 7


@pytest.mark.parametrize(
    ("entry", "ahead"),
    [
        ({"kind": "simulated", "speed": 1.0}, False),
        ({"kind": "simulated", "speed": 1.01}, True),
        ({"kind": "ble", "address": "5E:7A:00:00:01:01"}, False),
        ({"kind": "usb"}, False),
        ({"realtime": True}, False),
        ({"realtime": False}, True),
    ],
)
def test_which_devices_can_outrun_the_wall_clock(
    tmp_path: Path, entry: dict[str, Any], ahead: bool
) -> None:
    if "realtime" in entry:
        soundfile.write(tmp_path / "x.wav", np.zeros(RATE, np.float32), RATE)
        entry = {"kind": "file", "path": str(tmp_path / "x.wav"), **entry}
    device = {"id": "d", "resident": "r", **entry}
    config = parse_config({"site": "s", "devices": [device]}, "test")
    assert _outruns_wall_clock(config.devices[0]) is ahead


def test_a_date_is_moved_only_when_it_would_end_after_now() -> None:
    capture = Capture(uuid.uuid4(), 100.0, 4, np.zeros(8, np.float32), (), False)  # 2 s long
    assert wall_dated(capture, 102.0) is capture  # ends exactly now: kept
    moved = wall_dated(capture, 101.5)
    assert moved.started_at == 99.5 and moved.recording_id == capture.recording_id
    assert moved.samples is capture.samples and not moved.partial


def test_the_context_of_a_monitoring_capture_is_the_device_s() -> None:
    rid = uuid.uuid4()
    assert _context(Segmenter(RATE, 1.0, 1.0), rid, DEFAULT) is DEFAULT
    seg = OnDemandSegmenter(RATE)
    rid = seg.start(EXAM_CTX, 1.0, "nurse-a")
    assert _context(seg, rid, DEFAULT, keep=True) == EXAM_CTX
    assert _context(seg, rid, DEFAULT) == EXAM_CTX  # taken: forgotten after
    assert _context(seg, rid, DEFAULT) is DEFAULT
