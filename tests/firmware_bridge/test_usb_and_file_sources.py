"""USB source against a fake PyAudio delivering real buffers; file replay from real FLAC/WAV."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware_bridge.errors import (
    ConfigurationError,
    DeviceNotFoundError,
    LinkLostError,
    RecordingError,
)
from firmware_bridge.sources import AudioBlock, AudioSource, FileSource, UsbSource
from firmware_bridge.sources.replay import recording_problem
from stetho_common import Response
from tests.fakes import fake_pyaudio
from tests.fakes.recordings import write_cut_flac


@pytest.fixture
def card() -> Iterator[type[fake_pyaudio.PyAudio]]:
    pa = fake_pyaudio.PyAudio
    pa.signal = (np.sin(2 * np.pi * 50 * np.arange(8000) / 8000) * 10000).astype(np.int16)
    pa.opened, pa.streams, pa.terminated, pa.fail_after = [], [], False, None
    yield pa


async def take(source: AudioSource, n_blocks: int | None) -> list[AudioBlock]:
    blocks: list[AudioBlock] = []
    async with source:
        async for block in source:
            blocks.append(block)
            if n_blocks is not None and len(blocks) >= n_blocks:
                break
    return blocks


def test_usb_source_yields_the_cards_samples_read_off_the_loop(card: type) -> None:
    source = UsbSource("usb-1", "Thinklabs", 8000, pyaudio_module=fake_pyaudio)
    blocks = asyncio.run(take(source, 5))
    samples = np.concatenate([b.samples for b in blocks])
    expected = card.signal[: samples.size].astype(np.float32) / 32768
    assert np.array_equal(samples, expected)
    assert [b.start_sample for b in blocks] == [0, 800, 1600, 2400, 3200]
    assert card.opened[0]["input_device_index"] == 1 and card.opened[0]["channels"] == 1
    assert threading.main_thread().ident not in card.streams[0].read_threads
    assert card.streams[0].closed and card.terminated


def test_usb_unknown_card_and_bad_rate_are_clear_errors(card: type) -> None:
    with pytest.raises(DeviceNotFoundError, match="no input sound card"):
        asyncio.run(take(UsbSource("u", "Littmann", pyaudio_module=fake_pyaudio), 1))
    with pytest.raises(DeviceNotFoundError, match="Invalid sample rate"):
        asyncio.run(take(UsbSource("u", "default", 4000, pyaudio_module=fake_pyaudio), 1))


def test_usb_card_failure_mid_stream_is_link_lost(card: type) -> None:
    card.fail_after = 1600
    with pytest.raises(LinkLostError):
        asyncio.run(take(UsbSource("u", pyaudio_module=fake_pyaudio), None))


def test_usb_without_pyaudio_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyaudio", None)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"stetho-edge\[usb\]"):
        asyncio.run(take(UsbSource("u"), 1))


@pytest.mark.parametrize("fmt", ["FLAC", "WAV"])
def test_file_replay_returns_the_whole_file_mixed_to_mono(tmp_path: Path, fmt: str) -> None:
    rate = 4000
    stereo = np.stack([np.linspace(-0.5, 0.5, 10_050)] * 2, axis=1)
    path = tmp_path / f"rec.{fmt.lower()}"
    soundfile.write(path, stereo, rate, format=fmt, subtype="PCM_16")
    blocks = asyncio.run(take(FileSource(path, realtime=False), None))
    samples = np.concatenate([b.samples for b in blocks])
    assert samples.size == 10_050 and blocks[0].sample_rate_hz == rate
    assert np.allclose(samples, stereo[:, 0], atol=1 / 32768)
    assert blocks[-1].end_sample == 10_050


def test_file_replay_in_real_time_paces_blocks(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    soundfile.write(path, np.zeros(800), 4000)
    source = FileSource(path, realtime=True, speed=10.0)
    blocks = asyncio.run(take(source, None))
    assert sum(b.samples.size for b in blocks) == 800


def test_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot open recording"):
        asyncio.run(take(FileSource(tmp_path / "absent.flac"), 1))


def test_a_recording_with_no_samples_is_refused_not_played_as_0_s(tmp_path: Path) -> None:
    # Before: it played as a recording of 0 s (`stetho record` wrote a 0.00 s FLAC, exit 0).
    path = tmp_path / "take.wav"
    soundfile.write(path, np.zeros(0, np.float32), 4000)
    with pytest.raises(RecordingError) as info:
        asyncio.run(take(FileSource(path), 1))
    assert str(info.value) == f"recording {path} holds no sound (a header with 0 samples)"
    assert info.value.reason == "empty" and info.value.response is Response.STOP
    assert recording_problem(path) == "holds no sound (a header with 0 samples)"
    soundfile.write(path, np.zeros(1, np.float32), 4000)  # one sample is a (short) recording
    assert recording_problem(path) is None


def test_a_file_that_is_not_audio_is_a_configuration_error(tmp_path: Path) -> None:
    # Before: soundfile's "Error opening b'...'" inside our message; STOP either way.
    path = tmp_path / "take.wav"
    path.write_bytes(b"this is not a recording\n" * 100)
    with pytest.raises(ConfigurationError) as info:
        asyncio.run(take(FileSource(path), 1))
    assert str(info.value) == f"cannot open recording {path}: Format not recognised"
    assert info.value.response is Response.STOP
    assert isinstance(info.value, RecordingError) and info.value.reason == "not_audio"
    assert recording_problem(path) == (
        "is not a WAV or FLAC recording libsndfile reads (Format not recognised)"
    )


def test_a_path_the_os_will_not_read_is_unreadable_not_a_bad_format(tmp_path: Path) -> None:
    # Before: "is not a WAV or FLAC recording libsndfile reads (Format not recognised)" for a
    # folder, "(System error)" for a missing file: the OS's refusal read as a format error.
    assert recording_problem(tmp_path) == "cannot be read: Is a directory"
    assert recording_problem(tmp_path / "absent.wav") == "cannot be read: No such file or directory"
    with pytest.raises(RecordingError) as info:
        asyncio.run(take(FileSource(tmp_path), 1))
    assert str(info.value) == f"cannot open recording {tmp_path}: Is a directory"
    assert info.value.reason == "unreadable" and info.value.response is Response.STOP


def test_a_permission_refused_is_unreadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root (as tests may run) reads a chmod 000 file: soundfile is made to refuse instead;
    # under another user the OS refuses for real too (libsndfile: "System error").
    path = tmp_path / "take.wav"
    soundfile.write(path, np.zeros(400, dtype=np.int16), 4000)

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    with monkeypatch.context() as patched:
        patched.setattr(soundfile, "info", refuse)
        assert recording_problem(path) == "cannot be read: Permission denied"
        patched.setattr(soundfile, "SoundFile", refuse)
        with pytest.raises(RecordingError) as info:
            asyncio.run(take(FileSource(path), 1))
    assert str(info.value) == f"cannot open recording {path}: Permission denied"
    assert info.value.reason == "unreadable"
    if os.geteuid() != 0:  # libsndfile's own "System error", put in the OS's words
        path.chmod(0)
        try:
            assert recording_problem(path) == "cannot be read: Permission denied"
        finally:
            path.chmod(0o600)


@pytest.mark.parametrize(("rate_hz", "fmt"), [(1000, "WAV"), (96000, "FLAC")])
def test_a_file_outside_the_callers_rates_is_refused_once_open(
    tmp_path: Path, rate_hz: int, fmt: str
) -> None:
    path = tmp_path / f"take.{fmt.lower()}"
    soundfile.write(path, np.zeros(rate_hz // 10, dtype=np.int16), rate_hz, format=fmt)
    # Before: "the analysis takes ...", though the source only knows the rates it was given.
    source = FileSource(path, rates_hz=(2000, 48000))
    with pytest.raises(RecordingError) as info:
        asyncio.run(take(source, 1))
    assert str(info.value) == (
        f"recording {path} is sampled at {rate_hz} Hz; this source takes 2000 to 48000 Hz: "
        "resample it first"
    )
    assert info.value.reason == "rate_unsupported"
    named = FileSource(path, rates_hz=(2000, 48000), rates_owner="the analysis")
    with pytest.raises(RecordingError, match=r"Hz; the analysis takes 2000 to 48000 Hz: "):
        asyncio.run(take(named, 1))  # the caller names who needs those rates
    assert source._file is None  # closed, not left open until the source is dropped
    assert recording_problem(path, (2000, 48000)) == f"is sampled at {rate_hz} Hz"
    assert recording_problem(path) is None  # no rates: any
    assert len(asyncio.run(take(FileSource(path), None))) == 1  # the same, without rates


def test_a_damaged_flac_is_a_configuration_error_where_it_breaks(tmp_path: Path) -> None:
    # Before: libsndfile's error left the source as it was (a LibsndfileError, retried as a
    # transient failure: the agent replayed the file from its start a second later).
    cut = tmp_path / "cut.flac"
    write_cut_flac(cut)
    assert recording_problem(cut) is None  # its header is whole: only playing finds it
    blocks: list[AudioBlock] = []

    async def play() -> None:
        async with FileSource(cut, realtime=False) as source:
            async for block in source:
                blocks.append(block)

    with pytest.raises(RecordingError) as info:
        asyncio.run(play())
    assert info.value.reason == "damaged"
    seconds = sum(b.samples.size for b in blocks) / 4000
    assert 0 < seconds < 10
    # libsndfile's own words for the damage vary with its version.
    assert str(info.value).startswith(f"recording {cut} is damaged {seconds:.1f} s in: ")


def test_usb_source_opens_the_card_as_pyaudio_expects(card: type) -> None:
    # What our source asks of PyAudio, exactly: 16-bit mono input, the card found by name,
    # 100 ms buffers; and the library is released once the stream is closed.
    asyncio.run(take(UsbSource("u", "Thinklabs", 16000, pyaudio_module=fake_pyaudio), 1))
    assert card.opened == [
        {
            "format": fake_pyaudio.paInt16,
            "channels": 1,
            "rate": 16000,
            "input": True,
            "input_device_index": 1,
            "frames_per_buffer": 1600,
        }
    ]
    assert card.opened[0]["format"] == 8  # PortAudio's paInt16 (portaudio.h)
    assert len(card.streams) == 1 and card.streams[0].closed and card.terminated


def test_usb_source_releases_pyaudio_when_the_card_refuses(card: type) -> None:
    with pytest.raises(DeviceNotFoundError, match="cannot open sound card 'default'"):
        asyncio.run(take(UsbSource("u", "default", 4000, pyaudio_module=fake_pyaudio), 1))
    assert card.opened == [] and card.streams == [] and card.terminated
