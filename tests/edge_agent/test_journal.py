"""The capture journal: record codec, torn tails and garbage, the file edge, recovery at start."""

import asyncio
import json
import random
import stat
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from edge_agent.config import parse_config
from edge_agent.errors import IncompleteJournalError, JournalCorruptError
from edge_agent.pipeline import device as device_pipeline
from edge_agent.pipeline.capture import Segmenter
from edge_agent.pipeline.device import DevicePipeline
from edge_agent.pipeline.recovery import recover_journals
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.runtime.daemon import Agent
from edge_agent.storage.journal import (
    MAGIC,
    NEED_DATA,
    CaptureJournal,
    JournalDecoder,
    JournalHeader,
    RecordType,
    encode_header,
    encode_piece,
    list_journals,
    load_journal,
    read_journal,
)
from edge_agent.wire.recording import Appended, Gap, RecordingContext
from firmware_bridge.errors import LinkLostError
from firmware_bridge.sources import AudioBlock
from stetho_sim.synth import synthesize

RATE = 4000
CTX = RecordingContext("home-j", "pi-j", "steth-j", "res-7", "mitral", "heart")


def pieces(
    rid: uuid.UUID, samples: np.ndarray, block: int, gaps: tuple[Gap, ...] = ()
) -> list[Appended]:
    out = []
    for start in range(0, len(samples), block):
        chunk = samples[start : start + block].astype(np.float32)
        inside = tuple(g for g in gaps if start <= g.start_sample < start + block)
        out.append(Appended(rid, 1_700_000_000.25, start, chunk, inside))
    return out


def journal_bytes(
    samples: np.ndarray, gaps: tuple[Gap, ...] = (), rid: uuid.UUID | None = None
) -> tuple[bytes, JournalHeader]:
    header = JournalHeader(rid or uuid.uuid4(), 1_700_000_000.25, RATE, CTX)
    body = b"".join(encode_piece(p) for p in pieces(header.recording_id, samples, 400, gaps))
    return encode_header(header) + body, header


def noise(seconds: float, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.5, 0.5, round(seconds * RATE)).astype(np.float32)


def test_round_trip_keeps_samples_gaps_and_header() -> None:
    samples = noise(2.5)
    gaps = (Gap(450, 100), Gap(4000, 30))
    data, header = journal_bytes(samples, gaps)
    found = read_journal(data)
    assert found.header == header
    assert np.array_equal(found.samples, samples)
    assert found.gaps == gaps
    assert found.dropped_bytes == 0 and found.dropped_reason is None
    capture = found.capture()
    assert capture.partial and capture.recording_id == header.recording_id
    assert capture.started_at == header.started_at and capture.sample_rate_hz == RATE


def test_decoder_waits_for_whole_records_fed_byte_by_byte() -> None:
    data, _ = journal_bytes(noise(0.3))
    decoder = JournalDecoder()
    kinds = []
    for byte in data[len(MAGIC) :]:
        decoder.feed(bytes((byte,)))
        record = decoder.next_record()
        if record is not NEED_DATA:
            kinds.append(record.kind)
    assert kinds == [RecordType.HEADER, RecordType.SAMPLES, RecordType.SAMPLES, RecordType.SAMPLES]
    assert decoder.next_record() is NEED_DATA


def test_every_torn_tail_is_dropped_to_the_last_whole_record() -> None:
    samples = noise(0.5)
    data, header = journal_bytes(samples, (Gap(390, 20),))
    header_end = len(encode_header(header))
    for cut in range(len(data)):
        if cut < header_end:
            with pytest.raises(IncompleteJournalError):
                read_journal(data[:cut])
            continue
        found = read_journal(data[:cut])
        n = len(found.samples)
        assert n % 400 == 0 and np.array_equal(found.samples, samples[:n])
        # The gap is written before its samples: clipped to the samples kept.
        assert all(g.start_sample + g.length <= n for g in found.gaps)
        assert found.torn_tail_only()
        assert (found.dropped_bytes == 0) == (found.dropped_reason is None)


def test_zeroed_tail_after_a_power_cut_is_dropped() -> None:
    samples = noise(1.0)
    data, _ = journal_bytes(samples)
    found = read_journal(data + bytes(8192))
    assert np.array_equal(found.samples, samples)
    assert found.dropped_bytes == 8192 and found.torn_tail_only()


def test_damage_in_the_middle_keeps_the_prefix_and_is_not_a_torn_tail() -> None:
    samples = noise(10.0)
    data, _ = journal_bytes(samples)
    damaged = bytearray(data)
    damaged[len(data) // 4] ^= 0xFF
    found = read_journal(bytes(damaged))
    n = len(found.samples)
    assert 0 < n < len(samples) and np.array_equal(found.samples, samples[:n])
    assert found.dropped_reason == "record CRC mismatch"
    assert not found.torn_tail_only()


def test_huge_length_field_is_malformed_not_waited_for() -> None:
    data, _ = journal_bytes(noise(0.2))
    found = read_journal(data + b"\xff\xff\xff\xff\x00\x00\x00\x00" + bytes(100))
    assert found.dropped_reason is not None and "outside" in found.dropped_reason


def test_garbage_never_crashes() -> None:
    rng = random.Random(3)
    samples = noise(0.2)
    good, header = journal_bytes(samples)
    header_end = len(encode_header(header))
    for _ in range(500):
        size = rng.randrange(0, 300)
        junk = bytes(rng.randrange(256) for _ in range(size))
        # Without the magic: cut off inside it, or not a journal at all.
        expected: type[Exception] = (
            IncompleteJournalError
            if len(junk) < len(MAGIC) and MAGIC.startswith(junk)
            else JournalCorruptError
        )
        with pytest.raises(expected):
            read_journal(junk)
        # The magic, then junk: no header record can be trusted (its CRC would have to match).
        with pytest.raises((JournalCorruptError, IncompleteJournalError)):
            read_journal(MAGIC + junk)
        # A good journal cut anywhere, then junk: before the header's end nothing can be
        # recovered; after it, exactly a prefix of the samples, and the rest is dropped.
        cut = rng.randrange(len(good))
        data = good[:cut] + junk
        if cut < header_end:
            with pytest.raises((JournalCorruptError, IncompleteJournalError)):
                read_journal(data)
            continue
        found = read_journal(data)
        assert found.header == header
        n = found.samples.size
        assert np.array_equal(found.samples, samples[:n])
        assert cut - header_end - 400 * 4 - 8 <= n * 4 + 9 * (n // 400) <= cut - header_end
        assert found.dropped_bytes == len(data) - header_end - n * 4 - 9 * -(-n // 400)
        assert (found.dropped_reason is None) == (found.dropped_bytes == 0)


def test_corrupt_header_is_reported() -> None:
    data, _ = journal_bytes(noise(0.2))
    with pytest.raises(JournalCorruptError):
        read_journal(b"RIFF" + data[4:])
    broken = bytearray(data)
    broken[len(MAGIC) + 12] ^= 0x01  # inside the header JSON: CRC fails
    with pytest.raises(JournalCorruptError):
        read_journal(bytes(broken))


def test_segmenter_appended_pieces_rebuild_each_capture() -> None:
    seg = Segmenter(100, duration_s=2.5, interval_s=3.0, track_appends=True)
    x = np.arange(700, dtype=np.float32)
    captures = []
    got: dict[uuid.UUID, list[Appended]] = {}
    for start in range(0, 700, 70):
        captures += seg.feed(x[start : start + 70], start / 100, (Gap(10, 5),))
        for piece in seg.take_appended():
            got.setdefault(piece.recording_id, []).append(piece)
    assert len(captures) == 2
    for capture in captures:
        parts = got[capture.recording_id]
        assert np.array_equal(np.concatenate([p.samples for p in parts]), capture.samples)
        assert tuple(g for p in parts for g in p.gaps) == capture.gaps
        assert all(p.started_at == capture.started_at for p in parts)
    untracked = Segmenter(100, 1, 1)
    assert untracked.feed(x, 0.0) and not untracked.take_appended()
    assert all(p.start_sample == 70 * i for i, p in enumerate(got[captures[0].recording_id]))


def test_journal_file_is_private_synced_each_second_and_deleted_when_done(tmp_path: Path) -> None:
    journal = CaptureJournal(tmp_path / "journal")
    journal.prepare()
    rid = uuid.uuid4()
    samples = noise(2.55)

    async def scenario() -> None:
        for piece in pieces(rid, samples, 400):  # 0.1 s blocks
            journal.record(CTX, RATE, [piece])
        path = journal.path_for(rid)
        # The worker's queue drained, not a fixed 0.2 s: two fsyncs under disk load took up to
        # 0.12 s here, more on a CI runner's disk.
        await asyncio.wrap_future(journal._executor.submit(lambda: None))
        assert journal.syncs == 2  # one per second of audio, the last 0.55 s still buffered
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        partial = load_journal(path)
        assert np.array_equal(partial.samples, samples[: 2 * RATE])
        await journal.seal(rid)
        assert np.array_equal(load_journal(path).samples, samples)
        await journal.finish(rid, delete=True)
        assert not path.exists()

    asyncio.run(scenario())
    journal.close()
    assert journal.bytes_written == len(journal_bytes(samples)[0])


def agent_for(state: Path) -> Agent:
    cfg = parse_config(
        {
            "site": "home-j",
            "agent_id": "pi-j",
            "broker": {"host": "127.0.0.1", "port": 1},
            "storage": {"state_dir": str(state)},
        },
        "test",
    )
    return Agent(cfg)


async def recover(agent: Agent, journals: list[Path]) -> None:
    await recover_journals(journals, agent.outbox, agent.accept, agent._stats_for)


def test_recovery_accepts_partial_recordings_and_sorts_out_the_rest(tmp_path: Path) -> None:
    state = tmp_path / "state"
    directory = state / "journal"
    directory.mkdir(parents=True)
    heart = synthesize("tachycardia", 3.0, RATE, seed=1).samples.astype(np.float32)
    gaps = (Gap(800, 40),)
    data, header = journal_bytes(heart, gaps)
    (directory / f"{header.recording_id}.journal").write_bytes(data + data[-300:-100])  # torn
    short, short_header = journal_bytes(noise(0.4))
    (directory / f"{short_header.recording_id}.journal").write_bytes(short)
    (directory / "garbage.journal").write_bytes(b"STJRNL01" + bytes(range(200)))
    (directory / "cut.journal").write_bytes(data[:20])
    empty, empty_header = journal_bytes(noise(0.0))
    (directory / f"{empty_header.recording_id}.journal").write_bytes(empty)

    agent = agent_for(state)
    try:
        asyncio.run(recover(agent, list_journals(directory)))
        pending = agent.outbox.store.pending(100)
    finally:
        agent.journal.close()
        agent.outbox.close()

    metadata = {
        m.message.recording_id: json.loads(m.message.payload)
        for m in pending
        if m.message.topic.endswith("/recordings")
    }
    assert set(metadata) == {str(header.recording_id), str(short_header.recording_id)}
    main = metadata[str(header.recording_id)]
    assert main["partial"] and main["n_samples"] == len(heart)
    assert main["resident"] == "res-7" and main["device"] == "steth-j"
    assert main["started_at"].startswith("2023-11-14T22:13:20.25")
    assert main["gaps"] == [{"start_s": 0.2, "duration_s": 0.01}]
    assert main["analysis"] is not None
    # Shorter than the 1 s analysis minimum: stored with its reason, so the audio reaches a doctor.
    tiny = metadata[str(short_header.recording_id)]
    assert tiny["analysis"] is None and "at least 1 s" in tiny["analysis_error"]
    assert list_journals(directory) == []
    assert [p.name for p in (directory / "damaged").iterdir()] == ["garbage.journal"]


def test_recovery_skips_a_recording_already_committed(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "journal").mkdir(parents=True)
    data, header = journal_bytes(noise(1.5))
    path = state / "journal" / f"{header.recording_id}.journal"
    path.write_bytes(data)
    agent = agent_for(state)
    try:
        asyncio.run(recover(agent, [path]))
        path.write_bytes(data)  # as if killed after the commit, before the delete
        asyncio.run(recover(agent, [path]))
        pending = agent.outbox.store.pending(100)
    finally:
        agent.journal.close()
        agent.outbox.close()
    assert not path.exists()
    audio = [m for m in pending if m.message.topic.endswith("/recordings/audio")]
    assert [m.message.recording_id for m in audio] == [str(header.recording_id)]


def test_an_unwritable_journal_never_stops_capture(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "journal").write_text("not a directory")
    agent = agent_for(state)
    rid = uuid.uuid4()

    async def scenario() -> list[Path]:
        leftovers = await agent._leftover_journals()
        for piece in pieces(rid, noise(1.5), 400):
            agent.journal.record(CTX, RATE, [piece])
        await agent.journal.seal(rid)
        await agent.journal.finish(rid, delete=True)
        return leftovers

    try:
        assert asyncio.run(scenario()) == []
    finally:
        agent.journal.close()
        agent.outbox.close()
    failures = [r.getMessage() for r in caplog.records if "event=journal_failed" in r.getMessage()]
    assert len(failures) == 2  # listing at start, then the recording's first write


class FailingSource:
    """Sends 2.5 s of audio in 0.1 s blocks, then loses its link."""

    device_id = "steth-j"
    sample_rate_hz = RATE

    def __init__(self) -> None:
        self.events: asyncio.Queue[object] = asyncio.Queue()

    async def __aenter__(self) -> "FailingSource":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def __aiter__(self) -> AsyncIterator[AudioBlock]:
        samples = noise(2.5)
        for start in range(0, len(samples), 400):
            yield AudioBlock(samples[start : start + 400], RATE, start, 1e9 + start / RATE)
            await asyncio.sleep(0)
        raise LinkLostError("link lost")


def test_link_lost_mid_recording_keeps_it_as_partial_and_clears_its_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "state"
    cfg = parse_config(
        {
            "site": "home-j",
            "broker": {"host": "127.0.0.1", "port": 1},
            "storage": {"state_dir": str(state)},
            "devices": [
                {
                    "id": "steth-j",
                    "resident": "res-7",
                    "kind": "simulated",
                    "schedule": {"interval_s": 10, "duration_s": 10},
                }
            ],
        },
        "test",
    )
    monkeypatch.setattr(device_pipeline, "open_source", lambda device, radio=None: FailingSource())
    agent = Agent(cfg)

    async def scenario() -> None:
        await agent._leftover_journals()
        pipeline = DevicePipeline(
            cfg.devices[0],
            RecordingContext("site-x", "pi-1", "steth-1", "res-1", "mitral", "heart"),
            agent.journal,
            agent.live,
            agent.accept,
            DeviceStats(),
            lambda online: None,
        )
        with pytest.raises(LinkLostError):
            await pipeline.run()

    try:
        asyncio.run(scenario())
        pending = agent.outbox.store.pending(100)
    finally:
        agent.journal.close()
        agent.outbox.close()
    metadata = [
        json.loads(m.message.payload) for m in pending if m.message.topic.endswith("/recordings")
    ]
    assert [(m["partial"], m["n_samples"]) for m in metadata] == [(True, 2.5 * RATE)]
    assert list_journals(state / "journal") == []
