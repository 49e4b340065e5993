"""Vorbis comments in real FLAC bytes, checked against the reference `metaflac` and `flac -t`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.flac_tags import read_vorbis_comments, set_vorbis_comments


@pytest.fixture
def flac_file(tmp_path: Path) -> Path:
    path = tmp_path / "a.flac"
    soundfile.write(path, np.zeros(4000, dtype=np.int16), 4000, format="FLAC")
    return path


def test_tags_are_written_readable_by_metaflac_and_audio_untouched(flac_file: Path) -> None:
    before, _ = soundfile.read(flac_file, dtype="int16")
    tags = {"stetho_device": "sim:normal", "STETHO_GAPS": "[[1, 2]]", "comment": "é ünïcode"}
    flac_file.write_bytes(set_vorbis_comments(flac_file.read_bytes(), tags))
    subprocess.run(["flac", "-s", "-t", str(flac_file)], check=True)
    listed = subprocess.run(["metaflac", "--export-tags-to=-", str(flac_file)],
                            check=True, capture_output=True, text=True).stdout  # fmt: skip
    assert "STETHO_DEVICE=sim:normal" in listed and "COMMENT=é ünïcode" in listed
    assert read_vorbis_comments(flac_file.read_bytes())["STETHO_GAPS"] == "[[1, 2]]"
    after, _ = soundfile.read(flac_file, dtype="int16")
    assert np.array_equal(before, after)


def test_rewriting_replaces_rather_than_appends(flac_file: Path) -> None:
    data = set_vorbis_comments(flac_file.read_bytes(), {"A": "1"})
    data = set_vorbis_comments(data, {"B": "2"})
    assert read_vorbis_comments(data) == {"B": "2"}


@pytest.mark.parametrize("data", [b"", b"RIFF0000", b"fLaC\x00\x00\x00\x22" + bytes(10)])
def test_not_flac_is_a_typed_error(data: bytes) -> None:
    with pytest.raises(MalformedFrameError):
        read_vorbis_comments(data)
