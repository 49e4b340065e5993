"""What the doctor's commands say in words: where `listen` put the sound, how much came, and
`alerts --count`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from stetho_doctor.listen import ListenStats, WavSink, open_sink


def test_no_sound_card_says_where_the_sound_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the WAV went to ./live.wav with a log line nobody saw (the doctor's tools
    # silence their logger), so the doctor heard nothing and was told nothing.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "pyaudio", None)  # `import pyaudio` raises ImportError
    said: list[str] = []
    sink = open_sink(None, said.append)
    assert isinstance(sink, WavSink) and sink.path == Path("live.wav")
    assert len(said) == 1
    assert said[0].startswith("no sound card (") and said[0].endswith(
        f"): writing {tmp_path / 'live.wav'} instead"
    )


def test_a_named_wav_is_not_announced(tmp_path: Path) -> None:
    said: list[str] = []
    assert isinstance(open_sink(tmp_path / "x.wav", said.append), WavSink)
    assert said == []


def test_the_summary_is_a_sentence_not_a_repr() -> None:
    # Before: "live: ListenStats(chunks=259, samples=120176, lost_chunks=0, malformed=0)".
    stats = ListenStats(chunks=259, samples=120176, seconds=30.044, lost_chunks=21, malformed=0)
    assert stats.summary() == "heard 30.0 s in 259 chunks (21 lost, 0 malformed)"


def test_a_count_of_no_alerts_is_refused_in_words() -> None:
    # Before: "Invalid value for '--count': Input should be greater than or equal to 1".
    done = subprocess.run(
        [sys.executable, "-m", "stetho_cli", "alerts", "--count", "0", "--broker", "mqtt://h"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    said = " ".join(done.stderr.replace("│", " ").split())
    assert "Invalid value for '--count': 0 is not a number of alerts: 1 or more" in said, said
