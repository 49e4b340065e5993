"""The recording's picture for the console: the same figure `stetho analyze --plot` draws
(band-passed waveform with S1/S2, wheeze spans and crackles marked, spectrogram, reasons)."""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_agent.cli.plot import render_png
from edge_agent.errors import PlotUnavailableError
from firmware_bridge.flac import decode_flac

__all__ = ["PlotUnavailableError", "render"]


def render(flac: bytes, metadata: dict[str, Any]) -> bytes | None:
    """PNG bytes, or None when the recording has no analysis to draw.

    Raises PlotUnavailableError when matplotlib (the `plot` extra) is not installed.
    """
    analysis = metadata.get("analysis")
    if analysis is None:
        return None
    pcm, rate = decode_flac(flac)
    title = f"{metadata.get('site')} {metadata.get('auscultation_site')}"
    result = {**analysis, "file": title}  # the figure's title names the file it drew
    return render_png(pcm.astype(np.float64) / 32768.0, float(rate), result)
