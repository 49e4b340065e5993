"""FLAC metadata byte for byte: blocks built by hand, tags written and read at their edges.

The recording's device, site and gaps travel in these tags; the hub reads them back from a 3.1.1
broker's bare FLAC. A wrong length byte, a lost last-block flag or a block out of order makes a
file other readers refuse, so the bytes written are pinned, not only read back by our reader.
"""

from __future__ import annotations

import struct

import pytest

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.flac_tags import read_vorbis_comments, set_vorbis_comments

STREAMINFO = bytes(range(34))
AUDIO = b"\xff\xf8\x69\x08audio frames"


def _block(kind: int, body: bytes, last: bool = False) -> bytes:
    return bytes([kind | (0x80 if last else 0)]) + len(body).to_bytes(3, "big") + body


def _comments(vendor: bytes, *fields: bytes) -> bytes:
    out = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(fields))
    return out + b"".join(struct.pack("<I", len(f)) + f for f in fields)


def _flac(*blocks: tuple[int, bytes]) -> bytes:
    last = len(blocks) - 1
    return b"fLaC" + b"".join(_block(k, b, i == last) for i, (k, b) in enumerate(blocks)) + AUDIO


def test_the_comment_block_goes_second_and_padding_and_old_comments_go() -> None:
    application = b"STTHapplication data"
    original = _flac(
        (0, STREAMINFO), (4, _comments(b"libFLAC", b"OLD=1")), (2, application), (1, bytes(300))
    )
    written = set_vorbis_comments(original, {"stetho_site": "home-1", "Gaps": "[]"})
    comment = b"\x0b\x00\x00\x00stetho-edge\x02\x00\x00\x00" + (
        b"\x12\x00\x00\x00STETHO_SITE=home-1\x07\x00\x00\x00GAPS=[]"
    )
    assert written == (
        b"fLaC" + b"\x00\x00\x00\x22" + STREAMINFO
        + b"\x04" + len(comment).to_bytes(3, "big") + comment
        + b"\x82\x00\x00\x14" + application  # the last block, and only it, flagged
        + AUDIO
    )  # fmt: skip


def test_a_file_with_only_streaminfo_gets_the_comments_as_its_last_block() -> None:
    written = set_vorbis_comments(_flac((0, STREAMINFO)), {})
    empty = b"\x0b\x00\x00\x00stetho-edge\x00\x00\x00\x00"
    assert written == b"fLaC\x00\x00\x00\x22" + STREAMINFO + b"\x84\x00\x00\x13" + empty + AUDIO


def test_tags_up_to_the_block_limit_are_written_and_one_byte_more_is_refused() -> None:
    room = (1 << 24) - 1 - len(_comments(b"stetho-edge", b""))  # one field's bytes fill it
    written = set_vorbis_comments(_flac((0, STREAMINFO)), {"A": "v" * (room - 2)})
    assert written[42:46] == b"\x84\xff\xff\xff"
    assert read_vorbis_comments(written) == {"A": "v" * (room - 2)}
    with pytest.raises(ValueError, match=r"^tags exceed the 16 MiB FLAC metadata block limit$"):
        set_vorbis_comments(_flac((0, STREAMINFO)), {"A": "v" * (room - 1)})


def test_comments_are_read_past_a_long_vendor_with_keys_upper_cased() -> None:
    body = _comments(b"reference libFLAC 1.4.3 20230623", b"device=sim:1", b"Gaps=[[1, 2]]",
                     b"NOTE=a=b", b"BARE", b"device=sim:2", "COMMENT=é".encode())  # fmt: skip
    flac = _flac((0, STREAMINFO), (1, bytes(8)), (4, body))
    assert read_vorbis_comments(flac) == {
        "DEVICE": "sim:2",  # the last value wins
        "GAPS": "[[1, 2]]",
        "NOTE": "a=b",  # split at the first '='
        "BARE": "",
        "COMMENT": "é",
    }


def test_only_the_first_comment_block_is_read_and_none_reads_as_no_tags() -> None:
    two = _flac((0, STREAMINFO), (4, _comments(b"", b"A=1")), (4, _comments(b"", b"B=2")))
    assert read_vorbis_comments(two) == {"A": "1"}
    assert read_vorbis_comments(_flac((0, STREAMINFO), (2, b"STTH"))) == {}


def test_a_block_longer_than_255_bytes_is_read_with_its_whole_length() -> None:
    vendor = b"v" * 300
    flac = _flac((0, STREAMINFO), (4, _comments(vendor, b"K=v")))
    assert read_vorbis_comments(flac) == {"K": "v"}
    assert read_vorbis_comments(set_vorbis_comments(flac, {"X": "y" * 70000})) == {"X": "y" * 70000}


def test_a_last_block_ending_exactly_at_the_end_of_the_file_is_whole() -> None:
    flac = b"fLaC" + _block(0, STREAMINFO) + _block(4, _comments(b"", b"A=1"), last=True)
    assert read_vorbis_comments(flac) == {"A": "1"}
    assert set_vorbis_comments(flac, {"B": "2"}).endswith(b"B=2")  # no audio after


@pytest.mark.parametrize(
    ("data", "said"),
    [
        (b"", "not a FLAC stream (no fLaC marker)"),
        (b"fLaX" + _block(0, STREAMINFO, last=True), "not a FLAC stream (no fLaC marker)"),
        (b"fLaC", "FLAC metadata runs past the end of the file"),
        (b"fLaC\x80\x00\x00", "FLAC metadata runs past the end of the file"),
        (b"fLaC" + _block(0, STREAMINFO), "FLAC metadata runs past the end of the file"),
        (b"fLaC\x80\x00\x00\x22" + bytes(33), "FLAC metadata block truncated"),
        (b"fLaC\x80\x01\x00\x00" + bytes(255), "FLAC metadata block truncated"),
    ],
)
def test_each_malformed_stream_is_refused_with_its_reason(data: bytes, said: str) -> None:
    with pytest.raises(MalformedFrameError) as caught:
        read_vorbis_comments(data)
    assert str(caught.value) == said
    with pytest.raises(MalformedFrameError):
        set_vorbis_comments(data, {"A": "1"})


@pytest.mark.parametrize(
    "body",
    [
        b"\x05\x00\x00",  # the vendor's length cut short
        _comments(b"vendor")[:-1],  # the count cut short
        struct.pack("<I", 0) + struct.pack("<I", 2) + struct.pack("<I", 3) + b"A=1",  # 2 said
        _comments(b"", b"A=\xff\xfe"),  # not UTF-8
    ],
)
def test_a_damaged_comment_block_is_a_typed_error(body: bytes) -> None:
    with pytest.raises(MalformedFrameError, match=r"^bad Vorbis comment block: "):
        read_vorbis_comments(_flac((0, STREAMINFO), (4, body)))


def test_an_empty_last_block_ending_the_file_is_whole() -> None:
    flac = b"fLaC" + _block(0, STREAMINFO) + _block(1, b"", last=True)  # padding of 0 bytes
    assert read_vorbis_comments(flac) == {}


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xff\xff\xff" + bytes(8),  # a vendor length of 4 GiB
        b"\xf8\xff\xff\xff" + bytes(4),  # 4 GiB less 8: as a signed -8, the count's bytes
        struct.pack("<I", 0) + b"\x00\x00\x00\x80" + struct.pack("<I", 3) + b"A=1",  # 2**31
        _comments(b"", b"A=1")[:-7] + b"\xff\xff\xff\xffA=1",  # a field of 4 GiB
        _comments(b"", b"A=1")[:-7] + struct.pack("<I", 4) + b"A=1",  # one byte past the end
    ],
)
def test_a_length_past_the_comment_block_is_refused(body: bytes) -> None:
    with pytest.raises(MalformedFrameError, match=r"^bad Vorbis comment block: "):
        read_vorbis_comments(_flac((0, STREAMINFO), (4, body)))
