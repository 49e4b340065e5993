"""Whether a FLAC is the audio its metadata names: its size, that it decodes, its PCM hash.
The hub's archive and the offline FHIR builder both ask this one function."""

from __future__ import annotations

import numpy as np

from firmware_bridge.flac import decode_flac, encode_flac, flac_mismatch, pcm_sha256
from firmware_bridge.flac_tags import read_vorbis_comments

_PCM = (np.sin(np.arange(8000) / 7.0) * 9000).astype(np.int16)


def flac_of_other_pcm_same_size(flac: bytes) -> bytes:
    """A valid FLAC of ``flac``'s byte size and tags whose PCM differs by one sample's last bit."""
    pcm, rate = decode_flac(flac)
    tags = read_vorbis_comments(flac)
    for index in range(pcm.size):
        changed = pcm.copy()
        changed[index] ^= 1
        other = encode_flac(changed, rate, tags)
        if len(other) == len(flac):
            return other
    raise AssertionError("no same-size variant")  # pragma: no cover


def test_the_recordings_own_audio_matches() -> None:
    flac = encode_flac(_PCM, 4000, {"STETHO_SITE": "mitral"})
    assert flac_mismatch(flac, len(flac), pcm_sha256(_PCM)) is None


def test_each_way_of_not_being_that_audio_has_its_reason() -> None:
    flac = encode_flac(_PCM, 4000, {})
    digest = pcm_sha256(_PCM)
    assert flac_mismatch(flac, len(flac) + 1, digest) == "audio_size_mismatch"
    assert flac_mismatch(flac[:-1], len(flac) - 1, digest) == "audio_undecodable"
    assert flac_mismatch(b"\0" * len(flac), len(flac), digest) == "audio_undecodable"
    other = flac_of_other_pcm_same_size(flac)
    assert flac_mismatch(other, len(other), digest) == "audio_mismatch"
    assert flac_mismatch(flac, len(flac), "0" * 64) == "audio_mismatch"
