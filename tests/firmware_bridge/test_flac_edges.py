"""FLAC at the edge, exactly: the quantiser's values, the hash's bytes, the gap tags' words, the
file's format and tags, and no descriptor left open (the agent runs for months).

Short recordings, so a mutant's run stays well under a second (bench/mutate.py runs these).
"""

from __future__ import annotations

import hashlib
import io
import os

import numpy as np
import pytest
import soundfile as sf

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.flac import (
    FLAC_CONTENT_TYPE,
    GAPS_TAG,
    decode_flac,
    encode_flac,
    flac_mismatch,
    gap_tags,
    gaps_from_tags,
    pcm_sha256,
    to_pcm16,
)
from firmware_bridge.flac_tags import read_vorbis_comments
from firmware_bridge.reassembly import Gap

_PCM = (np.sin(np.arange(400) / 7.0) * 9000).astype(np.int16)


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_full_scale_maps_to_32767_and_beyond_it_clips() -> None:
    x = np.array([1.0, -1.0, 2.0, -2.0, 0.0, 0.5, -0.5, 1.5 / 32767, 0.5 / 32767, 1e-9])
    assert to_pcm16(x).tolist() == [32767, -32767, 32767, -32767, 0, 16384, -16384, 2, 0, 0]
    assert to_pcm16(x).dtype == np.int16
    assert to_pcm16([0.25, -0.25]).tolist() == [8192, -8192]  # type: ignore[arg-type]


def test_single_precision_samples_are_scaled_in_double() -> None:
    # 0.86857206f * 32767 rounds to 28460 in float32 arithmetic, 28461 in float64 (the value).
    x = np.array([0.86857206, -0.5549333, -0.98582417], dtype=np.float32)
    assert to_pcm16(x).tolist() == [28461, -18183, -32303]


def test_the_hash_is_of_little_endian_bytes_whatever_the_order_held() -> None:
    pcm = np.array([1, -2, 256], dtype=np.int16)
    expected = hashlib.sha256(b"\x01\x00\xfe\xff\x00\x01").hexdigest()
    assert pcm_sha256(pcm) == expected
    assert pcm_sha256(pcm.astype(">i2")) == expected
    assert pcm_sha256(np.zeros(0, np.int16)) == hashlib.sha256(b"").hexdigest()


def test_gap_tags_and_the_lost_count_as_written() -> None:
    assert gap_tags([Gap(7, 3)]) == {GAPS_TAG: "[[7, 3]]", "STETHO_LOST_SAMPLES": "3"}
    assert GAPS_TAG == "STETHO_GAPS" and FLAC_CONTENT_TYPE == "audio/flac"


def test_a_damaged_gap_tag_is_refused_in_one_sentence_with_its_cause() -> None:
    message = r"^STETHO_GAPS tag is not a list of \[start_sample, length\] pairs of whole numbers$"
    with pytest.raises(MalformedFrameError, match=message) as caught:
        gaps_from_tags({GAPS_TAG: "[[1, 2], [3]]"})
    assert isinstance(caught.value.__cause__, ValueError)
    assert caught.value.__cause__.args == ([[1, 2], [3]],)  # what was read, for the traceback
    with pytest.raises(MalformedFrameError, match=message) as caught:
        gaps_from_tags({GAPS_TAG: "[[1, 2], [false, 1]]"})
    assert isinstance(caught.value.__cause__, ValueError)
    assert gaps_from_tags({GAPS_TAG: "[]", "OTHER": "x"}) == ()
    assert gaps_from_tags({GAPS_TAG: "[[0, 1], [5, 2]]"}) == (Gap(0, 1), Gap(5, 2))


def test_encoded_audio_is_mono_16_bit_flac_at_its_rate_and_decodes_exactly() -> None:
    before = _open_descriptors()
    flac = encode_flac(_PCM, 4000, {})
    assert flac[:4] == b"fLaC"
    info = sf.info(io.BytesIO(flac))
    assert (info.format, info.subtype, info.channels, info.samplerate, info.frames) == (
        "FLAC", "PCM_16", 1, 4000, 400,
    )  # fmt: skip
    pcm, rate = decode_flac(flac)
    assert pcm.dtype == np.int16 and pcm.shape == (400,) and np.array_equal(pcm, _PCM)
    assert rate == 4000 and type(rate) is int
    assert _open_descriptors() == before


def test_no_samples_are_refused_not_encoded_unreadable() -> None:
    # Before: libsndfile wrote a FLAC that decode_flac could not read ("Format not recognised").
    before = _open_descriptors()
    with pytest.raises(ValueError, match=r"^no samples to encode: a FLAC of no sound cannot"):
        encode_flac(_PCM[:0], 4000, {})
    assert _open_descriptors() == before
    assert decode_flac(encode_flac(_PCM[:1], 4000, {}))[0].tolist() == [_PCM[0]]  # one will do


def test_tags_are_written_only_when_given() -> None:
    plain = encode_flac(_PCM, 8000, {})
    libsndfiles = io.BytesIO()
    sf.write(libsndfiles, _PCM, 8000, format="FLAC", subtype="PCM_16")
    assert plain == libsndfiles.getvalue()  # no comment block rewritten
    assert "STETHO_SITE" not in read_vorbis_comments(plain)
    tagged = encode_flac(_PCM, 8000, {"STETHO_SITE": "mitral", "title": "x"})
    tags = read_vorbis_comments(tagged)
    assert tags["STETHO_SITE"] == "mitral" and tags["TITLE"] == "x"
    assert np.array_equal(decode_flac(tagged)[0], _PCM) and decode_flac(tagged)[1] == 8000


def test_undecodable_bytes_are_a_runtime_error_and_leave_nothing_open() -> None:
    before = _open_descriptors()
    for data in (b"", b"fLaC", b"\0" * 64):
        with pytest.raises(RuntimeError, match="Format not recognised"):
            decode_flac(data)
    assert _open_descriptors() == before


def test_a_large_recording_is_written_and_read_whole() -> None:
    pcm = np.resize(_PCM, 4000 * 70)  # 70 s, more than one buffer either way
    pcm[-1] = 1234
    flac = encode_flac(pcm, 4000, {"STETHO_SITE": "apex"})
    decoded, _ = decode_flac(flac)
    assert np.array_equal(decoded, pcm)
    assert flac_mismatch(flac, len(flac), pcm_sha256(pcm)) is None


def test_each_mismatch_has_its_reason() -> None:
    flac = encode_flac(_PCM, 4000, {})
    digest = pcm_sha256(_PCM)
    assert flac_mismatch(flac, len(flac), digest) is None
    assert flac_mismatch(flac, len(flac) - 1, digest) == "audio_size_mismatch"
    assert flac_mismatch(b"\0" * 10, 10, digest) == "audio_undecodable"
    assert flac_mismatch(flac, len(flac), pcm_sha256(_PCM[:-1])) == "audio_mismatch"
