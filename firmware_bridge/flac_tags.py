"""Read and replace the Vorbis comment block of a FLAC file, as bytes (sans-I/O).

libsndfile writes only a fixed set of tags, so recordings get their own (device, site, gaps)
by rewriting the metadata: FLAC format specification, "METADATA_BLOCK_HEADER" (1 bit last-block
flag, 7 bits type, 24 bits big-endian length) and "METADATA_BLOCK_VORBIS_COMMENT" (type 4, whose
fields are little-endian, as in Vorbis I section 5). Audio frames are copied unchanged.
"""

from __future__ import annotations

import struct
from typing import Final

from firmware_bridge.errors import MalformedFrameError

__all__ = ["FLAC_CONTENT_TYPE", "read_vorbis_comments", "set_vorbis_comments"]

# Here rather than in `flac`, so that code naming FLAC (the broker check of a config) does
# not import NumPy and libsndfile.
FLAC_CONTENT_TYPE: Final = "audio/flac"

_MAGIC: Final = b"fLaC"
_STREAMINFO, _PADDING, _VORBIS_COMMENT = 0, 1, 4
_VENDOR: Final = b"stetho-edge"
_MAX_BLOCK: Final = (1 << 24) - 1


def _blocks(flac: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """Metadata blocks as (type, body), and the offset where audio frames start."""
    if flac[:4] != _MAGIC:
        raise MalformedFrameError("not a FLAC stream (no fLaC marker)")
    blocks, offset, last = [], 4, False
    while not last:
        if offset + 4 > len(flac):
            raise MalformedFrameError("FLAC metadata runs past the end of the file")
        header = flac[offset]
        length = int.from_bytes(flac[offset + 1 : offset + 4], "big")
        last, kind = bool(header & 0x80), header & 0x7F
        body = flac[offset + 4 : offset + 4 + length]
        if len(body) != length:
            raise MalformedFrameError("FLAC metadata block truncated")
        blocks.append((kind, body))
        offset += 4 + length
    return blocks, offset


def _comment_body(tags: dict[str, str]) -> bytes:
    fields = [f"{key.upper()}={value}".encode() for key, value in tags.items()]
    parts = [struct.pack("<I", len(_VENDOR)), _VENDOR, struct.pack("<I", len(fields))]
    for field in fields:
        parts += [struct.pack("<I", len(field)), field]
    return b"".join(parts)


def set_vorbis_comments(flac: bytes, tags: dict[str, str]) -> bytes:
    """Return `flac` with its Vorbis comments replaced by `tags` (keys upper-cased)."""
    blocks, audio_at = _blocks(flac)
    kept = [(k, b) for k, b in blocks if k not in (_VORBIS_COMMENT, _PADDING)]
    body = _comment_body(tags)
    if len(body) > _MAX_BLOCK:
        raise ValueError("tags exceed the 16 MiB FLAC metadata block limit")
    kept.insert(1, (_VORBIS_COMMENT, body))  # STREAMINFO must stay first
    out = bytearray(_MAGIC)
    for i, (kind, block) in enumerate(kept):
        out.append(kind | (0x80 if i == len(kept) - 1 else 0))
        out += len(block).to_bytes(3, "big") + block
    return bytes(out) + flac[audio_at:]


def read_vorbis_comments(flac: bytes) -> dict[str, str]:
    """The Vorbis comments of `flac` as a dict (upper-case keys; last value wins)."""
    for kind, body in _blocks(flac)[0]:
        if kind != _VORBIS_COMMENT:
            continue
        try:
            (vendor_len,) = struct.unpack_from("<I", body, 0)
            offset = 4 + vendor_len
            (count,) = struct.unpack_from("<I", body, offset)
            offset += 4
            tags: dict[str, str] = {}
            for _ in range(count):
                (length,) = struct.unpack_from("<I", body, offset)
                if offset + 4 + length > len(body):  # a slice would cut it short, silently
                    raise MalformedFrameError(
                        f"bad Vorbis comment block: a field of {length} bytes runs past it"
                    )
                key, _, value = body[offset + 4 : offset + 4 + length].decode().partition("=")
                tags[key.upper()] = value
                offset += 4 + length
        except (struct.error, UnicodeDecodeError) as exc:
            raise MalformedFrameError(f"bad Vorbis comment block: {exc}") from exc
        return tags
    return {}
