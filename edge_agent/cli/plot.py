"""A picture of one analysed recording for the doctor: what was heard, where, and why it matters.

The band the analysis listened to is drawn over time with the S1 and S2 it found, or the wheeze
intervals and crackles, above a spectrogram (a held tone shows as a horizontal line in it), and
the triage level with every flag's reason below. matplotlib is an optional extra (``plot``): a
care home's Pi does not need it, a doctor's workstation does.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

import numpy as np
from numpy.typing import NDArray

from edge_agent.errors import PlotUnavailableError
from stetho_common.decimal_mark import local_number
from stetho_common.text import without_surrogates
from stetho_signal import HEART_BAND_HZ, LUNG_BAND_HZ
from stetho_signal.quality import FAINT_BELOW_DBFS

# The title's colour by triage level: the pages' own green, amber and red, each at least 4.5:1
# on white (WCAG 2's contrast for text of the title's 10 pt); matplotlib's tab:green and
# tab:orange were 3.4:1 and 2.5:1.
_LEVEL_COLOURS = {
    "routine": "#0a7d3b",
    "review": "#a15c00",
    "urgent": "#b3261e",
    "rerecord": "#555555",
}
_SPECTROGRAM_TOP_HZ = {"heart": 600.0, "lung": 2000.0}
_REASON_WIDTH = 110  # characters a line of the reasons holds at the figure's width


def _english_reason(flag: Mapping[str, Any]) -> str:
    return str(flag["reason"])


@dataclass(frozen=True)
class FigureWords:
    """Every word the figure writes. English by default (`stetho analyze --plot`); the doctor's
    console passes the reader's, from its own word table (stetho_hub/console/picture.py).

    `kinds` and `levels` name the analysis kind and the triage level (a missing one is drawn
    as its code); `reason` says a flag in the reader's language (the wire's English sentence
    by default); `lang` picks the decimal mark of the title's numbers, `colon` is its colon.
    """

    kinds: Mapping[str, str] = field(default_factory=dict)
    levels: Mapping[str, str] = field(default_factory=dict)
    s1: str = "S1"
    s2: str = "S2"
    wheeze: str = "wheeze"
    crackle: str = "crackle"
    time_axis: str = "time (s)"
    quality: str = "quality"
    triage: str = "triage"
    support: str = "decision support, not a diagnosis"
    no_finding: str = "no finding"
    hum: str = "mains hum at {hz} taken out before the analysis; the audio keeps it"
    faint: str = "faint: band at {db} dBFS, under the usual {usual}; turn the volume up to listen"
    lang: str = "en"
    colon: str = ":"  # French sets it off by a non-breaking space
    reason: Callable[[Mapping[str, Any]], str] = _english_reason

    def number(self, x: float, spec: str) -> str:
        return local_number(x, self.lang, spec)


ENGLISH = FigureWords()


def _figure_class() -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise PlotUnavailableError(
            "plots need matplotlib, an optional extra: pip install 'stetho-edge[plot]'"
        ) from exc
    return Figure


def check_available() -> None:
    """Raise PlotUnavailableError now rather than after analysing every file."""
    _figure_class()


def render_png(
    samples: NDArray[np.floating],
    rate_hz: float,
    result: dict[str, Any],
    words: FigureWords = ENGLISH,
) -> bytes:
    """PNG bytes of one recording and its analysis (``result`` as `stetho analyze --json`)."""
    out = io.BytesIO()
    draw(samples, rate_hz, result, words).savefig(out, format="png", dpi=100)
    return out.getvalue()


def draw(
    samples: NDArray[np.floating],
    rate_hz: float,
    result: dict[str, Any],
    words: FigureWords = ENGLISH,
) -> Any:
    """The matplotlib Figure `render_png` saves (tests read its text artists)."""
    from stetho_signal import bandpass  # SciPy, loaded by the first picture, not the console

    figure = _figure_class()(figsize=(11.0, 6.0), layout="constrained")
    x = np.asarray(samples, dtype=np.float64)
    x = x[:, 0] if x.ndim > 1 else x
    kind = result["kind"]
    band = HEART_BAND_HZ if kind == "heart" else LUNG_BAND_HZ
    band = (band[0], min(band[1], 0.45 * rate_hz))
    y = bandpass(x, rate_hz, band)
    t = np.arange(y.size) / rate_hz
    wave, spec, text = figure.subplots(3, 1, height_ratios=(2.0, 1.6, 0.6))
    peak = float(np.max(np.abs(y))) or 1.0
    wave.plot(t, y / peak, color="0.25", linewidth=0.4)
    wave.set_ylim(-1.1, 1.1)
    wave.set_xlim(0.0, t[-1] if t.size else 1.0)
    wave.set_ylabel(f"{band[0]:.0f}-{band[1]:.0f} Hz")
    wave.set_yticks([])
    _mark_findings(wave, result, words)
    with np.errstate(divide="ignore"):  # a silent recording's power is 0: log10 gives -inf
        spec.specgram(x, NFFT=256, Fs=rate_hz, noverlap=128, cmap="magma")
    spec.set_ylim(0.0, min(_SPECTROGRAM_TOP_HZ[kind], rate_hz / 2))
    spec.set_xlim(wave.get_xlim())
    spec.set_ylabel("Hz")
    spec.set_xlabel(words.time_axis)
    _seconds_with_the_mark(words, wave, spec)
    level = result["triage"]["level"]
    name = without_surrogates(PurePath(result["file"]).name)  # the font cannot draw those
    wave.set_title(
        f"{name}{words.colon} {words.kinds.get(kind, kind)}, "
        f"{words.number(result['duration_s'], '.1f')} s, {words.quality} "
        f"{words.number(result['quality']['score'], '.2f')} | {words.triage}{words.colon} "
        f"{words.levels.get(level, level).upper()} ({words.support})",
        color=_LEVEL_COLOURS.get(level, "black"),
        fontsize=10,
        loc="left",
    )
    _write_reasons(text, result, words)
    return figure


def _seconds_with_the_mark(words: FigureWords, *axes: Any) -> None:
    """The time axes' seconds with the reader's decimal mark, as the title's numbers (matplotlib
    writes a point whatever the language)."""
    from matplotlib.ticker import FuncFormatter  # present: _figure_class found matplotlib

    seconds = FuncFormatter(lambda x, _pos: words.number(x, "g"))
    for each in axes:
        each.xaxis.set_major_formatter(seconds)


def _mark_findings(ax: Any, result: dict[str, Any], words: FigureWords) -> None:
    heart, lung = result.get("heart"), result.get("lung")
    if heart:
        for times, colour, label in ((heart["s1_s"], "tab:blue", words.s1),
                                     (heart["s2_s"], "tab:purple", words.s2)):  # fmt: skip
            for i, s in enumerate(times):
                ax.axvline(
                    s, color=colour, linewidth=0.8, alpha=0.7, label=label if i == 0 else None
                )
    if lung:
        for i, (start, end) in enumerate(lung["wheeze_intervals_s"]):
            ax.axvspan(
                start, end, color="tab:orange", alpha=0.3, label=words.wheeze if i == 0 else None
            )
        if lung["crackle_times_s"]:
            ax.plot(lung["crackle_times_s"], [1.02] * len(lung["crackle_times_s"]), "v",
                    color="tab:red", markersize=5, label=words.crackle)  # fmt: skip
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8, ncols=4)


def _write_reasons(ax: Any, result: dict[str, Any], words: FigureWords) -> None:
    ax.axis("off")
    flags = result["triage"]["flags"]
    lines = [f"- {words.reason(f)}" for f in flags] or [f"- {words.no_finding}"]
    if result["quality"]["problems"] and not flags:
        lines += [f"- {p}" for p in result["quality"]["problems"]]
    if (level := result["quality"].get("faint_level_dbfs")) is not None:
        said = words.faint.format(db=f"{level:.0f}", usual=f"{FAINT_BELOW_DBFS:.0f}")
        lines.append(f"- {said}")
    if hum := result["quality"].get("mains_hum_hz"):
        lines.append(f"- {words.hum.format(hz=', '.join(f'{hz:.0f} Hz' for hz in hum))}")
    wrapped = [w for line in lines for w in textwrap.wrap(line, _REASON_WIDTH)]
    ax.text(0.0, 1.0, "\n".join(wrapped[:8]), va="top", ha="left", fontsize=8.5,
            family="monospace", transform=ax.transAxes)  # fmt: skip
