"""`stetho analyze --plot`: a PNG per analysed file, and a clear error without matplotlib."""

from __future__ import annotations

import json
import os
import stat
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edge_agent.cli.analyze import Kind, analyse_file
from edge_agent.cli.plot import check_available, render_png
from edge_agent.errors import PlotUnavailableError
from stetho_signal import TriageThresholds
from stetho_sim.synth import synthesize
from tests.edge_agent.test_cli_analyze import stetho


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk comes first
    return width, height


@pytest.mark.parametrize(("scenario", "kind"), [("murmur", Kind.heart), ("crackles", Kind.lung)])
def test_a_recording_and_its_findings_make_one_picture(
    tmp_path: Path, scenario: str, kind: Kind
) -> None:
    recording = synthesize(scenario, duration_s=12, sample_rate_hz=4000, seed=2)
    path = tmp_path / f"{scenario}.wav"
    sf.write(path, recording.samples, 4000)
    result = analyse_file(path, kind, TriageThresholds())
    assert result["triage"]["flags"], "the picture is meant to show findings"
    png = render_png(recording.samples, 4000.0, result)
    assert _png_size(png) == (1100, 600)
    assert len(png) > 50_000  # waveform and spectrogram, not an empty frame


def test_the_cli_draws_every_readable_file_and_skips_the_rest(tmp_path: Path) -> None:
    heart = synthesize("normal", duration_s=8, sample_rate_hz=4000, seed=1)
    good = tmp_path / "in" / "resident-7.flac"
    good.parent.mkdir()
    sf.write(good, heart.samples, 4000, subtype="PCM_16")
    broken = tmp_path / "in" / "broken.wav"
    broken.write_bytes(b"RIFF")
    out = tmp_path / "plots"
    umask = os.umask(0o022)  # a shell's usual umask, inherited by the command
    try:
        run = stetho("analyze", "--json", "--plot", str(out), str(good), str(broken))
    finally:
        os.umask(umask)
    assert run.returncode == 1  # the broken file, as without --plot
    assert [p.name for p in out.iterdir()] == ["resident-7.png"]
    _png_size((out / "resident-7.png").read_bytes())
    # A resident's sound and triage: health data, whatever the umask (it was 0644 in 0755).
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE((out / "resident-7.png").stat().st_mode) == 0o600


def test_a_plot_folder_that_cannot_be_made_is_one_line_before_any_analysis(
    tmp_path: Path,
) -> None:
    # Before: the files were analysed, then mkdir's FileExistsError ended it as a traceback.
    occupied = tmp_path / "plots"
    occupied.write_text("a file, not a folder")
    run = stetho("analyze", "--json", "--plot", str(occupied), str(tmp_path / "any.wav"))
    assert run.returncode == 2, run.stderr
    assert run.stdout == "" and "Traceback" not in run.stderr
    assert f"error: --plot {occupied}: cannot make this folder: File exists" in " ".join(
        run.stderr.split()
    )


def test_a_file_name_that_is_not_utf8_is_analysed_and_drawn(tmp_path: Path) -> None:
    # A Latin-1 name off a USB stick: Python holds it with surrogates, which libsndfile's str
    # path could not encode ("cannot read audio ... (UnicodeEncodeError)") and the picture's
    # font could not draw (a TypeError traceback).
    heart = synthesize("normal", duration_s=8, sample_rate_hz=4000, seed=1)
    latin1 = tmp_path / os.fsdecode(b"caf\xe9.wav")
    sf.write(os.fsencode(latin1), heart.samples, 4000, subtype="PCM_16")
    out = tmp_path / "plots"
    run = stetho("analyze", "--json", "--plot", str(out), str(latin1))
    assert run.returncode == 0, run.stderr
    assert "error" not in json.loads(run.stdout)
    _png_size((out / os.fsdecode(b"caf\xe9.png")).read_bytes())


def test_a_silent_recording_is_drawn_without_a_warning(tmp_path: Path) -> None:
    # A stethoscope left off records zeros: matplotlib's spectrogram took log10(0) and the
    # command printed its RuntimeWarning with the library's source line on stderr.
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(4000 * 5, dtype=np.float32), 4000, subtype="PCM_16")
    out = tmp_path / "plots"
    run = stetho("analyze", "--json", "--plot", str(out), str(silent))
    assert run.returncode == 0, run.stderr
    assert "Warning" not in run.stderr and "log10" not in run.stderr, run.stderr
    _png_size((out / "silent.png").read_bytes())


def test_without_matplotlib_the_error_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(PlotUnavailableError, match=r"pip install 'stetho-edge\[plot\]'"):
        check_available()


def _contrast_on_white(colour: str) -> float:
    """WCAG 2's contrast ratio of `colour` against white."""
    from matplotlib.colors import to_rgb

    channels = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in to_rgb(colour)]
    luminance = 0.2126 * channels[0] + 0.7152 * channels[1] + 0.0722 * channels[2]
    return 1.05 / (luminance + 0.05)


def test_the_title_s_triage_colours_are_readable_on_white() -> None:
    # Before: matplotlib's tab:green (3.4:1) and tab:orange (2.5:1) for the 10 pt title that
    # says "routine" or "review", under WCAG's 4.5:1 for text that size.
    from edge_agent.cli.plot import _LEVEL_COLOURS

    for level, colour in _LEVEL_COLOURS.items():
        assert _contrast_on_white(colour) >= 4.5, (level, colour)
