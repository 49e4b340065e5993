"""Recordings as a file device meets them: a FLAC damaged part-way through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile


def write_cut_flac(path: Path) -> None:
    """A 4 kHz FLAC whose header promises 10 s of noise, cut at half its bytes: it opens (the
    header is whole), then breaks mid-way as it plays ("flac decoder lost sync")."""
    whole = path.with_suffix(".whole.flac")
    noise = np.random.default_rng(0).standard_normal(40_000) * 3000
    soundfile.write(whole, noise.astype(np.int16), 4000)
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
