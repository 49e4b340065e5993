"""How a file name that is not UTF-8 is shown."""

from __future__ import annotations

import os

import pytest

from stetho_common.text import without_surrogates


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (b"murmur.flac", "murmur.flac"),
        ("r\u00e9sident.flac".encode(), "r\u00e9sident.flac"),  # UTF-8: kept as it is
        (b"r\xe9sident.flac", "r\ufffdsident.flac"),  # Latin-1 off a USB stick
        (b"\xff\xfe", "\ufffd\ufffd"),
    ],
)
def test_a_name_that_is_not_utf8_shows_a_replacement_character(raw: bytes, shown: str) -> None:
    # `stetho record` (the STETHO_DEVICE tag) and `stetho analyze --plot` (the title) each
    # wrote this out; now both call this one.
    name = os.fsdecode(raw)  # as the file system hands it to Python (surrogateescape)
    assert without_surrogates(name) == shown
    assert without_surrogates(name).encode("utf-8")  # a font and a Vorbis comment can take it
