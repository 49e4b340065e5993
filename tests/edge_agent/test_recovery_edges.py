"""Recovery at start, path by path: what is kept, where each journal goes, what the log says.

The log lines are the operator's only account of a journal that was discarded, moved aside or
could not be recovered, so each is pinned word for word.
"""

import asyncio
import logging
import re
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from edge_agent.config import parse_config
from edge_agent.pipeline.recovery import recover_journals
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.runtime.daemon import Agent
from edge_agent.storage.journal import JournalHeader, encode_header, encode_piece
from edge_agent.wire.recording import Appended, Capture, Gap, RecordingContext

RATE = 4000
CTX = RecordingContext("home-r", "pi-r", "steth-r", "res-9", "mitral", "heart")
LOGGER = "edge_agent.pipeline.recovery"


def journal_bytes(
    samples: np.ndarray, gaps: tuple[Gap, ...] = (), started_at: float = 1_700_000_000.25
) -> tuple[bytes, uuid.UUID]:
    header = JournalHeader(uuid.uuid4(), started_at, RATE, CTX)
    rid = header.recording_id
    body = b""
    for start in range(0, len(samples), 400):
        inside = tuple(g for g in gaps if start <= g.start_sample < start + 400)
        chunk = samples[start : start + 400].astype(np.float32)
        body += encode_piece(Appended(rid, started_at, start, chunk, inside))
    return encode_header(header) + body, rid


def noise(seconds: float) -> np.ndarray:
    return np.random.default_rng(3).uniform(-0.5, 0.5, round(seconds * RATE)).astype(np.float32)


def make_agent(state: Path) -> Agent:
    cfg = parse_config(
        {
            "site": "home-r",
            "agent_id": "pi-r",
            "broker": {"host": "127.0.0.1", "port": 1},
            "storage": {"state_dir": str(state)},
        },
        "test",
    )
    return Agent(cfg)


def recover(
    state: Path,
    journals: list[Path],
    *,
    close_outbox_first: bool = False,
    accepted: list[Capture] | None = None,
) -> Agent:
    agent = make_agent(state)

    async def accept(capture: Capture, ctx: RecordingContext, stats: DeviceStats) -> bool:
        if accepted is not None:
            accepted.append(capture)
        return await agent.accept(capture, ctx, stats)

    try:
        if close_outbox_first:
            agent.outbox.close()
        asyncio.run(recover_journals(journals, agent.outbox, accept, agent._stats_for))
    finally:
        agent.journal.close()
        if not close_outbox_first:
            agent.outbox.close()
    return agent


def messages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == LOGGER]


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "state" / "journal"
    directory.mkdir(parents=True)
    return directory


def test_a_torn_journal_is_recovered_counted_for_its_device_and_said(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, rid = journal_bytes(noise(1.6), (Gap(800, 40),))
    whole, _ = journal_bytes(noise(1.5), (Gap(800, 40),))
    path = journal_dir / f"{rid}.journal"
    path.write_bytes(data[: len(whole) + 200])  # the last record torn after 200 bytes
    caplog.set_level(logging.INFO, LOGGER)
    agent = recover(journal_dir.parent, [path])
    assert not path.exists()
    assert agent.state.devices["steth-r"].recordings == 1
    assert messages(caplog) == [
        (
            logging.WARNING,
            f"event=journal_recovered device=steth-r recording={rid} duration_s=1.50 gaps=1 "
            "dropped_bytes=200 reason='incomplete last record'",
        )
    ]


def test_a_journal_damaged_in_the_middle_is_recovered_and_moved_aside(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, rid = journal_bytes(noise(40.0))
    damaged = bytearray(data)
    damaged[len(data) // 4] ^= 0xFF  # far more lost than an unsynced tail: damage
    path = journal_dir / f"{rid}.journal"
    path.write_bytes(bytes(damaged))
    caplog.set_level(logging.INFO, LOGGER)
    recover(journal_dir.parent, [path])
    aside = journal_dir / "damaged" / path.name
    assert not path.exists() and aside.read_bytes() == bytes(damaged)
    (recovered, moved) = messages(caplog)
    assert recovered[1].startswith(f"event=journal_recovered device=steth-r recording={rid} ")
    assert recovered[1].endswith(" reason='record CRC mismatch'")
    dropped = int(recovered[1].split("dropped_bytes=")[1].split()[0])
    assert dropped > 100_000
    assert moved == (
        logging.ERROR,
        f"event=journal_damaged recording={rid} moved_to={aside} dropped_bytes={dropped}",
    )


def test_an_incomplete_journal_is_deleted_and_said(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, _ = journal_bytes(noise(0.5))
    path = journal_dir / "cut.journal"
    path.write_bytes(data[:20])  # not even a whole header
    caplog.set_level(logging.INFO, LOGGER)
    recover(journal_dir.parent, [path])
    assert not path.exists() and not (journal_dir / "damaged").exists()
    [(level, text)] = messages(caplog)
    assert level == logging.WARNING
    assert text.startswith(f"event=journal_discarded path={path} reason='") and text != (
        f"event=journal_discarded path={path} reason='None'"
    )


def test_a_corrupt_journal_is_moved_aside_and_said(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = journal_dir / "garbage.journal"
    path.write_bytes(b"STJRNL01" + bytes(range(200)))
    caplog.set_level(logging.INFO, LOGGER)
    recover(journal_dir.parent, [path])
    aside = journal_dir / "damaged" / "garbage.journal"
    assert aside.exists() and not path.exists()
    [(level, text)] = messages(caplog)
    assert level == logging.ERROR
    assert text.startswith(f"event=journal_corrupt path={path} moved_to={aside} reason='")
    assert not text.endswith("reason='None'")


def test_a_journal_without_audio_is_deleted_and_said(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, rid = journal_bytes(noise(0.0))
    path = journal_dir / f"{rid}.journal"
    path.write_bytes(data)
    caplog.set_level(logging.INFO, LOGGER)
    recover(journal_dir.parent, [path])
    assert not path.exists()
    assert messages(caplog) == [
        (logging.WARNING, f"event=journal_discarded recording={rid} reason='no audio'")
    ]


def test_a_journal_already_in_the_outbox_is_deleted_and_said(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, rid = journal_bytes(noise(1.5))
    path = journal_dir / f"{rid}.journal"
    path.write_bytes(data)
    recover(journal_dir.parent, [path])
    path.write_bytes(data)  # as if killed after the commit, before the delete
    caplog.set_level(logging.INFO, LOGGER)
    caplog.clear()
    recover(journal_dir.parent, [path])
    assert not path.exists()
    assert messages(caplog) == [(logging.INFO, f"event=journal_already_stored recording={rid}")]


def test_a_journal_that_fails_is_logged_and_the_next_one_still_tried(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = journal_dir / "a.journal", journal_dir / "b.journal"
    for path in (first, second):
        path.write_bytes(journal_bytes(noise(1.5))[0])
    caplog.set_level(logging.INFO, LOGGER)
    recover(journal_dir.parent, [first, second], close_outbox_first=True)  # the outbox fails
    assert first.exists() and second.exists()  # kept for the next start
    records = [r for r in caplog.records if r.name == LOGGER]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.ERROR, f"event=journal_recovery_failed path={first}"),
        (logging.ERROR, f"event=journal_recovery_failed path={second}"),
    ]
    assert all(r.exc_info is not None for r in records)


def test_a_recording_dated_in_the_future_is_dated_back_to_its_recovery_and_said(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ahead = time.time() + 2700  # a 10x demo recording after some 5 minutes
    data, rid = journal_bytes(noise(1.5), started_at=ahead)
    path = journal_dir / f"{rid}.journal"
    path.write_bytes(data)
    caplog.set_level(logging.INFO, LOGGER)
    accepted: list[Capture] = []
    before = time.time()
    recover(journal_dir.parent, [path], accepted=accepted)
    after = time.time()
    [capture] = accepted
    assert before - 1.5 <= capture.started_at <= after - 1.5  # it ends no later than now
    (_, (level, text)) = messages(caplog)
    assert level == logging.WARNING
    assert re.fullmatch(
        rf"event=journal_redated recording={rid} started_at=\d+\.\d{{3}} was={ahead:.3f} "
        r"reason='dated after its recovery'",
        text,
    ), text


def test_a_recording_dated_in_the_past_keeps_its_date(
    journal_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data, rid = journal_bytes(noise(1.5))
    path = journal_dir / f"{rid}.journal"
    path.write_bytes(data)
    caplog.set_level(logging.INFO, LOGGER)
    accepted: list[Capture] = []
    recover(journal_dir.parent, [path], accepted=accepted)
    assert [c.started_at for c in accepted] == [1_700_000_000.25]
    assert not any("redated" in text for _, text in messages(caplog))
