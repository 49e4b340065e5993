"""SIGKILL mid-capture: the capture journal brings the recording in progress back on restart.

The stethoscope plays in real time (speed 1) so the kill lands inside a 6 s recording; what
the journal had synced (whole seconds of audio) must reach the subscriber as a partial
recording with the same UUID, its FLAC passing `flac -t` and decoding to the hashed samples.
"""

import subprocess
from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from edge_agent.storage.journal import load_journal
from stetho_testkit.agent_harness import AgentProcess, MosquittoSub, check_delivery, write_config
from stetho_testkit.poll import wait_until

pytestmark = pytest.mark.broker


def wait_for_journal(directory: Path, min_bytes: int, timeout_s: float = 30) -> Path:
    def journal() -> Path | None:
        paths = directory.glob("*.journal") if directory.exists() else ()
        return next((p for p in paths if p.stat().st_size >= min_bytes), None)

    return wait_until(journal, timeout_s, what=f"a journal of {min_bytes} bytes in {directory}")


def test_recording_in_progress_survives_sigkill(broker: LocalBroker, tmp_path: Path) -> None:
    doctor = MosquittoSub(broker.port, "doctor-journal", tmp_path / "doctor.txt")
    doctor.start()
    state = tmp_path / "state"
    config = write_config(
        tmp_path / "a.toml", broker.port, state, speed=1.0, interval_s=8.0, duration_s=6.0
    )
    agent = AgentProcess(config, tmp_path / "a.log")
    agent.start()
    # Two seconds of 4 kHz float32 synced (16 KB each), then kill while capture goes on.
    journal = wait_for_journal(state / "journal", 2 * 16_000)
    agent.kill()
    rid = journal.stem
    synced = len(load_journal(journal).samples)
    assert rid not in agent.stored_ids(), "the recording was accepted before the kill"

    agent.start()
    stored = agent.wait_for_stored(1)
    assert rid in stored and f"event=journal_recovered device=steth-a recording={rid}" in (
        agent.output()
    )
    delivery = doctor.wait_for(stored, timeout_s=30)
    assert agent.stop() == 0
    doctor.stop()
    check_delivery("journal-sigkill", stored, delivery)
    recovered = delivery.metadata[rid][0]
    assert recovered["partial"] is True and recovered["n_samples"] == synced >= 2 * 4000
    assert recovered["resident"] == "res-0"
    flac = tmp_path / f"{rid}.flac"
    flac.write_bytes(delivery.audio[rid][0])
    assert subprocess.run(["flac", "-t", "-s", str(flac)], check=False).returncode == 0
    assert not journal.exists()
    # SIGTERM closed the restarted agent's own recording as partial: no journal is left over.
    assert list((state / "journal").glob("*.journal")) == []
    print(f"journal-sigkill: recovered {synced / 4000:.1f} s of recording {rid}")
