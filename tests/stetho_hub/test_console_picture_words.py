"""The exam picture speaks the reader's language: its legend, axis, title and reasons come from
the console's one word table, in English and in French (issue 15's loose end)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from edge_agent.cli.plot import draw
from edge_agent.wire.flag_words import flag_text_of
from firmware_bridge.flac import encode_flac
from stetho_hub.console import picture
from stetho_hub.console.words import words
from stetho_signal import analyze
from stetho_sim.synth import synthesize

pytest.importorskip("matplotlib")
RATE = 4000


def _recording(scenario: str, kind: str) -> tuple[bytes, dict[str, Any]]:
    pcm = synthesize(scenario, duration_s=12, sample_rate_hz=RATE, seed=2).samples
    analysis = analyze(pcm, RATE, kind).to_dict()
    assert analysis["triage"]["flags"], "the picture is meant to show findings"
    pcm16 = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16)
    meta = {"analysis": analysis, "site": "home-a", "auscultation_site": "mitral"}
    return encode_flac(pcm16, RATE, {}), meta


def _texts(fig: Any) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _legend(fig: Any) -> list[str]:
    return [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_heart_picture_is_in_the_readers_language(lang: str) -> None:
    flac, meta = _recording("murmur", "heart")
    fig = picture.figure(flac, meta, lang)
    w, level = words(lang), meta["analysis"]["triage"]["level"]
    assert _legend(fig) == [w["plot.s1"], w["plot.s2"]]  # B1/B2 in French
    assert fig.axes[1].get_xlabel() == w["plot.time"]
    title = fig.axes[0].get_title(loc="left")
    for said in (w["kind.heart"], w["plot.quality"], w["plot.support"], w[f"level.{level}"]):
        assert said.upper() in title or said in title, (said, title)
    duration = f"{meta['analysis']['duration_s']:.1f}"
    assert duration.replace(".", {"en": ".", "fr": ","}[lang]) + " s" in title
    assert f"{w['plot.triage']}{w['colon']} " in title  # "tri\u00a0: " in French
    reasons = fig.axes[2].texts[0].get_text().replace("\n", " ")  # wrapped at spaces
    flag = meta["analysis"]["triage"]["flags"][0]
    assert f"- {flag_text_of(flag, lang)}" in reasons  # the pages' sentence, French rebuilt
    assert (flag["reason"] in reasons) is (lang == "en"), reasons
    assert "\n".join(_texts(fig)).count(" s, ") == 1


def test_the_lung_picture_names_wheezes_and_crackles_in_french() -> None:
    english, french = words("en"), words("fr")
    seen: set[str] = set()
    for scenario in ("wheeze", "crackles"):
        flac, meta = _recording(scenario, "lung")
        seen |= set(_legend(picture.figure(flac, meta, "fr")))
        assert english["plot.time"] not in _texts(picture.figure(flac, meta, "fr"))
    assert seen == {french["plot.wheeze"], french["plot.crackle"]}


def test_every_english_word_of_the_figure_is_in_the_table() -> None:
    # The CLI's defaults (`stetho analyze --plot`) and the console's English say the same.
    flac, meta = _recording("murmur", "heart")
    pcm, rate, result = picture._inputs(flac, meta) or pytest.fail("no analysis")
    assert sorted(_texts(draw(pcm, rate, result))) == sorted(
        _texts(picture.figure(flac, meta, "en"))
    )


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_picture_says_the_mains_hum_taken_out(lang: str) -> None:
    pcm = synthesize("mains-hum", duration_s=12, sample_rate_hz=RATE, seed=2).samples
    analysis = analyze(pcm, RATE, "heart").to_dict()
    assert analysis["quality"]["mains_hum_hz"] == [pytest.approx(50.0, abs=0.1)]
    pcm16 = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16)
    meta = {"analysis": analysis, "site": "home-a", "auscultation_site": "mitral"}
    fig = picture.figure(encode_flac(pcm16, RATE, {}), meta, lang)
    reasons = fig.axes[2].texts[0].get_text().replace("\n", " ")
    assert f"- {words(lang)['plot.hum'].format(hz='50 Hz')}" in reasons, reasons


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_picture_says_a_faint_recording(lang: str) -> None:
    pcm = synthesize("low-gain", duration_s=12, sample_rate_hz=RATE, seed=2).samples
    pcm16 = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16)
    analysis = analyze(pcm16, RATE, "lung").to_dict()
    level = analysis["quality"]["faint_level_dbfs"]
    meta = {"analysis": analysis, "site": "home-a", "auscultation_site": "lung-left-base"}
    fig = picture.figure(encode_flac(pcm16, RATE, {}), meta, lang)
    reasons = fig.axes[2].texts[0].get_text().replace("\n", " ")
    said = words(lang)["plot.faint"].format(db=f"{level:.0f}", usual="-65")
    assert f"- {said}" in reasons, reasons


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_time_axis_reads_with_the_readers_decimal_mark(lang: str) -> None:
    # Before: the French picture's title said "2,0 s" and its time axis "0.25 0.50 ... 1.75".
    flac, meta = _recording("murmur", "heart")
    fig = picture.figure(flac, meta, lang)
    for axis in fig.axes[:2]:
        axis.set_xlim(0.0, 1.75)  # a 2 s recording's axis: 0.25 s apart, as the console shows
    fig.canvas.draw()  # the tick labels are made when drawn
    mark, other = {"en": (".", ","), "fr": (",", ".")}[lang]
    for axis in fig.axes[:2]:
        ticks = [t.get_text() for t in axis.get_xticklabels() if t.get_text()]
        assert any(mark in t for t in ticks) and not any(other in t for t in ticks), ticks


def test_the_picture_s_title_names_the_site_in_the_readers_words() -> None:
    # Before: the French picture's title said "home-a lung-right-lower : poumon, ...".
    flac, meta = _recording("wheeze", "lung")
    meta = {**meta, "auscultation_site": "lung-right-lower"}
    french = picture.figure(flac, meta, "fr").axes[0].get_title(loc="left")
    assert french.startswith("home-a poumon droit, bas\u00a0: "), french
    assert "lung-right-lower" not in french
    english = picture.figure(flac, meta, "en").axes[0].get_title(loc="left")
    assert english.startswith(f"home-a {words('en')['site.lung-right-lower']}: "), english
