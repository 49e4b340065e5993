"""The recording's picture for the console: the same figure `stetho analyze --plot` draws
(band-passed waveform with S1/S2, wheeze spans and crackles marked, spectrogram, reasons),
with its words in the reader's language, from the console's one word table."""

from __future__ import annotations

from typing import Any

import numpy as np

from edge_agent.cli.plot import FigureWords, draw, render_png
from edge_agent.errors import PlotUnavailableError
from edge_agent.wire.flag_words import flag_text_of
from firmware_bridge.flac import decode_flac
from stetho_hub.console.words import words

__all__ = ["PlotUnavailableError", "figure", "figure_words", "render"]

_KINDS = ("heart", "lung")
_LEVELS = ("routine", "review", "urgent")


def figure_words(lang: str, age_band: object = None) -> FigureWords:
    """The figure's words in `lang`; flags said as the console's pages say them."""
    w = words(lang)
    return FigureWords(
        kinds={k: w[f"kind.{k}"] for k in _KINDS},
        levels={k: w[f"level.{k}"] for k in _LEVELS},
        s1=w["plot.s1"],
        s2=w["plot.s2"],
        wheeze=w["plot.wheeze"],
        crackle=w["plot.crackle"],
        time_axis=w["plot.time"],
        quality=w["plot.quality"],
        triage=w["plot.triage"],
        support=w["plot.support"],
        no_finding=w["plot.no_finding"],
        hum=w["plot.hum"],
        faint=w["plot.faint"],
        lang=lang,
        colon=w["colon"],
        reason=lambda flag: flag_text_of(flag, lang, age_band),
    )


def render(flac: bytes, metadata: dict[str, Any], lang: str = "en") -> bytes | None:
    """PNG bytes, or None when the recording has no analysis to draw.

    Raises PlotUnavailableError when matplotlib (the `plot` extra) is not installed.
    """
    drawn = _inputs(flac, metadata, lang)
    if drawn is None:
        return None
    pcm, rate, result = drawn
    return render_png(pcm, rate, result, figure_words(lang, metadata.get("age_band")))


def figure(flac: bytes, metadata: dict[str, Any], lang: str) -> Any:
    """The matplotlib Figure `render` saves, or None (tests read its words)."""
    drawn = _inputs(flac, metadata, lang)
    if drawn is None:
        return None
    pcm, rate, result = drawn
    return draw(pcm, rate, result, figure_words(lang, metadata.get("age_band")))


def _inputs(
    flac: bytes, metadata: dict[str, Any], lang: str = "en"
) -> tuple[np.ndarray[Any, np.dtype[np.float64]], float, dict[str, Any]] | None:
    analysis = metadata.get("analysis")
    if analysis is None:
        return None
    pcm, rate = decode_flac(flac)
    # The auscultation site as the pages name it ("poumon droit, bas"), not its code.
    at = str(metadata.get("auscultation_site"))
    title = f"{metadata.get('site')} {words(lang).get('site.' + at, at)}"
    result = {**analysis, "file": title}  # the figure's title names the file it drew
    return pcm.astype(np.float64) / 32768.0, float(rate), result
