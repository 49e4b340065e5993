"""What the doctor's commands say in words: where `listen` put the sound, how much came, and
`alerts --count`."""

from __future__ import annotations

import io
import select
import signal
import subprocess
import sys
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from edge_agent.wire import messages
from stetho_doctor import listen
from stetho_doctor.cli import _alert_table
from stetho_doctor.client import alert_row, reasons_text
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


def test_a_sound_card_error_without_words_is_named_by_its_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: "no sound card (): ..." (an exception is always true, its text was empty).
    def no_card() -> None:
        raise OSError

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(listen, "SpeakerSink", no_card)
    said: list[str] = []
    open_sink(None, said.append)
    assert said == [f"no sound card (OSError): writing {tmp_path / 'live.wav'} instead"]


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
    assert done.stderr == "error: --count: 0 is not a whole number of alerts: 1 or more\n"


def _alert(reason: str) -> messages.AlertMessage:
    return messages.AlertMessage(
        alert_id=uuid.UUID("b3309bbc-70fc-44b0-af2e-19f00f80177d"), recording_id=uuid.uuid4(),
        site="demo-care-home", agent="a", device="d", resident="res-0003",
        auscultation_site="mitral", kind="heart", recorded_at=datetime.now(tz=UTC),
        level="review", flags=[messages.Flag(code="heart_irregular", reason=reason,
                                             value=0.31, threshold=0.1)],
        audio_topic="x", recording_topic="y",
    )  # fmt: skip


@pytest.mark.parametrize("width", [60, 70, 75, 76, 80, 100, 129, 130, 140, 160])
def test_the_alert_id_is_whole_in_the_table_at_any_width(width: int) -> None:
    # Before: at 80 columns the id was folded over four lines ("b3309bbc-", "70fc-44b0",
    # ...): what `stetho ack ALERT_ID` takes could not be copied off the table. Then below 76
    # columns (60: a phone's SSH app, a split pane) the four columns cut the table's right edge.
    reason = "Beat-to-beat intervals vary by 0.31 (normalised RMSSD) above 0.10: irregular."
    rows = deque([(alert_row(_alert(reason)), "yellow")])
    screen = Console(file=io.StringIO(), width=width)
    screen.print(_alert_table("alerts", rows, width))
    shown = screen.file.getvalue()  # type: ignore[attr-defined]
    assert "b3309bbc-70fc-44b0-af2e-19f00f80177d" in shown
    assert "res-0003" in shown and "irregular" in shown.replace("\n", " ")
    assert max(len(line) for line in shown.splitlines()) <= width


def test_two_reasons_read_as_two_sentences() -> None:
    # Before: "; " after each sentence's full stop, as `stetho demo` printed it: "... count the
    # pulse over a minute.; Beat-to-beat intervals vary by 0.16 ...".
    first = "Heart rate may be twice the read value: count the pulse over a minute."
    second = "Beat-to-beat intervals vary by 0.16 (normalised RMSSD) above 0.10"
    assert reasons_text([first, second]) == f"{first} {second}."
    alert = _alert(first)
    alert.flags.append(messages.Flag(code="heart_irregular", reason=second, value=0.16,
                                     threshold=0.1))  # fmt: skip
    assert ".;" not in alert_row(alert)["reasons"]


def test_ctrl_c_while_waiting_for_a_broker_ends_with_one_line() -> None:
    # Before: status 130 and not a word, after the retry warnings.
    args = [
        sys.executable,
        "-m",
        "stetho_cli",
        "alerts",
        "--json",
        "--broker",
        "mqtt://127.0.0.1:1",
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    # Interrupted once the first "cannot reach broker ...; trying again" warning is out (about
    # 1 s in), not after a fixed 4 s.
    said = ""
    deadline = time.monotonic() + 30
    while "trying again" not in said:
        assert time.monotonic() < deadline, f"no retry warning: {said!r}"
        if select.select([process.stderr], [], [], 0.5)[0]:
            said += process.stderr.readline()
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=30)
    err = said + rest
    assert process.returncode == 130
    assert err.splitlines()[-1] == "interrupted", err
    assert "Traceback" not in err
