"""FLAC at the edge: float samples to 16-bit PCM, FLAC bytes with Vorbis tags (libsndfile)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence

import numpy as np
import soundfile as sf
from numpy.typing import NDArray

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.flac_tags import FLAC_CONTENT_TYPE as FLAC_CONTENT_TYPE  # also named here
from firmware_bridge.flac_tags import set_vorbis_comments
from firmware_bridge.reassembly import Gap


def to_pcm16(samples: NDArray[np.floating]) -> NDArray[np.int16]:
    """Quantise -1..1 floats to int16, clipping rather than wrapping out-of-range values."""
    scaled = np.clip(np.asarray(samples, dtype=np.float64), -1.0, 1.0) * 32767.0
    return np.round(scaled).astype(np.int16)


def pcm_sha256(pcm: NDArray[np.int16]) -> str:
    """Hash of the little-endian PCM: proves end to end that the doctor hears what was recorded."""
    return hashlib.sha256(pcm.astype("<i2").tobytes()).hexdigest()


SITE_TAG = "STETHO_SITE"
"""The Vorbis comment naming the auscultation site, written by the agent and `stetho record`."""
AGE_BAND_TAG = "STETHO_AGE_BAND"
"""The Vorbis comment naming an exam's age band (absent outside exams), which picks the rate
ranges and the breathing search: `stetho analyze` reads the file as the agent did."""
GAPS_TAG = "STETHO_GAPS"
"""The Vorbis comment listing the samples the link lost, as JSON ``[[start, length], ...]``."""


def gap_tags(gaps: Sequence[Gap]) -> dict[str, str]:
    """The tags that mark a recording's lost samples: the file keeps them silent, as the doctor
    should hear them, and a later analysis (`stetho analyze`) bridges them as the agent did."""
    return {
        GAPS_TAG: json.dumps([[g.start_sample, g.length] for g in gaps]),
        "STETHO_LOST_SAMPLES": str(sum(g.length for g in gaps)),
    }


def gaps_from_tags(tags: dict[str, str]) -> tuple[Gap, ...]:
    """The gaps :func:`gap_tags` wrote (none when the tag is absent); a malformed tag raises
    :class:`MalformedFrameError` rather than letting silence be analysed as sound."""
    text = tags.get(GAPS_TAG)
    if text is None:
        return ()
    try:
        pairs = json.loads(text)
        if not isinstance(pairs, list) or not all(_whole_pair(p) for p in pairs):
            raise ValueError(pairs)
        return tuple(Gap(start, length) for start, length in pairs)
    except ValueError as exc:  # not JSON, not pairs of whole numbers, or out of Gap's bounds
        raise MalformedFrameError(
            f"{GAPS_TAG} tag is not a list of [start_sample, length] pairs of whole numbers"
        ) from exc


def _whole_pair(pair: object) -> bool:
    return (
        isinstance(pair, list)
        and len(pair) == 2
        and all(type(v) is int for v in pair)  # bool is an int subclass, and no gap count
    )


def encode_flac(pcm: NDArray[np.int16], sample_rate_hz: int, tags: dict[str, str]) -> bytes:
    """Encode mono 16-bit PCM as FLAC with ``tags`` as its Vorbis comments (any key, upper-cased:
    libsndfile has slots for a few only, so the comment block is written afterwards).

    The encoder writes to an anonymous in-memory file (memfd) through a plain file
    descriptor rather than to a BytesIO: libsndfile's virtual I/O needs cffi callbacks in
    writable+executable memory, which the hardened service forbids (MemoryDenyWriteExecute).
    """
    if pcm.size == 0:  # libsndfile writes a stream header it then cannot read back
        raise ValueError("no samples to encode: a FLAC of no sound cannot be read back")
    fd = os.memfd_create("stetho-flac", os.MFD_CLOEXEC)
    try:
        with sf.SoundFile(
            fd,
            mode="w",
            samplerate=sample_rate_hz,
            channels=1,
            format="FLAC",
            subtype="PCM_16",
            closefd=False,
        ) as out:
            out.write(pcm)
        size = os.lseek(fd, 0, os.SEEK_END)
        flac = os.pread(fd, size, 0)
    finally:
        os.close(fd)
    return set_vorbis_comments(flac, tags) if tags else flac


def decode_flac(data: bytes) -> tuple[NDArray[np.int16], int]:
    """Decode FLAC bytes to int16 PCM and its sample rate.

    Read from a memfd, as :func:`encode_flac` writes, not a BytesIO: the hub's archive and the
    agent's salvage check decode under MemoryDenyWriteExecute too.
    """
    fd = os.memfd_create("stetho-flac", os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as sink:  # a buffered write loops until all is in
            sink.write(data)
        os.lseek(fd, 0, os.SEEK_SET)
        with sf.SoundFile(fd, closefd=False) as source:
            pcm = source.read(dtype="int16", always_2d=False)
            rate = source.samplerate
    finally:
        os.close(fd)
    return np.asarray(pcm, dtype=np.int16), int(rate)


def flac_mismatch(flac: bytes, size_bytes: int, pcm_sha256_hex: str) -> str | None:
    """Why ``flac`` is not the audio its metadata names (its size and PCM hash), as a reason
    code, or None when it is: the hub's archive and the offline FHIR builder check alike."""
    if len(flac) != size_bytes:
        return "audio_size_mismatch"
    try:
        pcm, _rate = decode_flac(flac)
    except (RuntimeError, ValueError):  # libsndfile's errors are RuntimeErrors
        return "audio_undecodable"
    return None if pcm_sha256(pcm) == pcm_sha256_hex else "audio_mismatch"
