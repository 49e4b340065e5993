"""`stetho analyze`: heart or lung analysis of WAV/FLAC files, as a table or JSON lines."""

from __future__ import annotations

import json
import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import soundfile as sf
import typer
from rich.console import Console
from rich.table import Table

from edge_agent.cli._common import DEFAULT_CONFIG, AgeBandChoice, load_or_exit
from edge_agent.cli.plot import check_available as check_plots_available
from edge_agent.cli.plot import render_png
from edge_agent.config import HEART_SITES, LUNG_SITES
from edge_agent.errors import PlotUnavailableError
from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.flac import AGE_BAND_TAG, SITE_TAG, gaps_from_tags
from firmware_bridge.flac_tags import read_vorbis_comments
from firmware_bridge.reassembly import bridged
from stetho_common.console import EXIT_CODES, fail
from stetho_common.private_files import private_dir, write_private
from stetho_signal import AGE_BANDS, AgeBand, SignalError, TriageThresholds, analyze


class Kind(StrEnum):
    auto = "auto"
    heart = "heart"
    lung = "lung"


def tags_of(path: Path) -> dict[str, str]:
    """The Vorbis comments of a FLAC file (none for WAV, untagged or unreadable files: reading
    the audio reports those)."""
    try:
        with path.open("rb") as f:
            if f.read(4) != b"fLaC":
                return {}
            return read_vorbis_comments(b"fLaC" + f.read())
    except (OSError, MalformedFrameError):
        return {}


def _kind_for(tags: dict[str, str], kind: Kind) -> Literal["heart", "lung"]:
    if kind is not Kind.auto:
        return "lung" if kind is Kind.lung else "heart"
    return "lung" if tags.get(SITE_TAG) in LUNG_SITES else "heart"


def analyse_file(
    path: Path, kind: Kind, thresholds: TriageThresholds, age_band: AgeBand | None = None
) -> dict[str, Any]:
    """One file to the JSON contract: the analysis, or {"file", "error"} when it cannot be read.

    Samples a stethoscope's link lost (the file's gap tags) are silent in the file and bridged
    for the analysis, as the agent analysed them: a step into silence reads as a crackle.
    `age_band` None: the exam's band the file is tagged with, if any (else adult)."""
    if not path.exists():
        return {"file": str(path), "error": "no such file"}
    if path.is_dir():
        return {"file": str(path), "error": "a folder: give the audio files in it"}
    try:  # bytes: a name that is not UTF-8 (a USB stick's Latin-1) is still a name
        samples, rate = sf.read(os.fsencode(path), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as exc:
        # libsndfile's own words ("System error.", "Internal psf_fseek() failed.") help nobody.
        return {
            "file": str(path),
            "error": "cannot read audio: not a WAV, FLAC or Ogg file, or a damaged or truncated "
            f"one ({type(exc).__name__})",
        }
    tags = tags_of(path)
    try:
        gaps = gaps_from_tags(tags)
    except MalformedFrameError as exc:
        return {"file": str(path), "error": f"{exc}: the lost samples cannot be told from sound"}
    if gaps and np.ndim(samples) == 1:  # the agent's and `stetho record`'s files are mono
        samples = bridged(np.asarray(samples, dtype=np.float32), gaps)
    band = age_band if age_band is not None else tags.get(AGE_BAND_TAG)
    if band is not None and band not in AGE_BANDS:  # only a tag can be; --age-band is a choice
        return {
            "file": str(path),
            "error": f"its {AGE_BAND_TAG} tag {band!r} is not an age band "
            f"({', '.join(AGE_BANDS)}): give --age-band",
        }
    try:
        result = analyze(np.asarray(samples), float(rate), _kind_for(tags, kind), thresholds, band)
    except SignalError as exc:
        return {"file": str(path), "error": str(exc)}
    return {"file": str(path), **result.to_dict()}


def _table(results: list[dict[str, Any]]) -> Table:
    table = Table(title="stetho analyze (decision support, not a diagnosis)")
    for column in ("file", "s", "quality", "findings", "triage", "reasons"):
        table.add_column(column, overflow="fold")
    for r in results:
        if "error" in r:
            table.add_row(r["file"], "-", "-", "-", "[red]error[/]", r["error"])
            continue
        table.add_row(
            r["file"],
            f"{r['duration_s']:.1f}",
            _quality(r["quality"]),
            _findings(r),
            r["triage"]["level"],
            "\n".join(f["reason"] for f in r["triage"]["flags"])
            or "; ".join(r["quality"]["problems"]),
        )
    return table


def _plot_all(paths: list[Path], results: list[dict[str, Any]], folder: Path) -> None:
    for path, result in zip(paths, results, strict=True):
        if "error" in result:
            continue
        samples, rate = sf.read(os.fsencode(path), dtype="float32", always_2d=False)
        target = folder / f"{path.stem}.png"
        try:
            write_private(target, render_png(np.asarray(samples), float(rate), result))
        except OSError as exc:  # a full disk, a folder made read-only meanwhile
            fail(f"cannot write {target}: {exc.strerror}")
        Console(stderr=True).print(f"plot: {target}", highlight=False)


def _quality(q: dict[str, Any]) -> str:
    said = f"{q['score']:.2f}" + ("" if q["acceptable"] else " (poor)")
    if (level := q.get("faint_level_dbfs")) is not None:
        said += f"\nfaint, {level:.0f} dBFS:\nraise the gain"
    hum = ", ".join(f"{hz:.0f} Hz" for hz in q.get("mains_hum_hz", []))
    return f"{said}\nhum {hum} taken out" if hum else said


def _findings(r: dict[str, Any]) -> str:
    parts: list[str] = []
    heart, lung = r.get("heart"), r.get("lung")
    if heart:
        rate = heart["rate_bpm"]
        parts.append(f"HR {rate:.0f}/min" if rate is not None else "no heart rate")
        # A rhythm is only judged on beats that gave a rate.
        parts += ["irregular"] if heart["irregular"] and rate is not None else []
        parts += ["murmur?"] if heart["murmur_suspected"] else []
    if lung:
        rate = lung["respiratory_rate_bpm"]
        parts.append(f"RR {rate:.0f}/min" if rate is not None else "RR n/a")
        parts += ["wheeze"] if lung["wheeze"] else []
        parts += [f"{len(lung['crackle_times_s'])} crackles"] if lung["crackles"] else []
    return ", ".join(parts)


def _thresholds(config: Path | None) -> TriageThresholds:
    """The thresholds the agent would triage with: the same file, the same numbers."""
    if config is None and DEFAULT_CONFIG.is_file():
        config = DEFAULT_CONFIG
    if config is None:
        return TriageThresholds()
    return load_or_exit(config).analysis.triage_thresholds()


def analyze_command(
    paths: Annotated[list[Path], typer.Argument(help="WAV, FLAC or Ogg files, 2 to 48 kHz.")],
    kind: Annotated[
        Kind,
        typer.Option(
            help="What was auscultated. auto: from the FLAC's STETHO_SITE tag (the valve areas "
            f"{', '.join(sorted(HEART_SITES))}: heart; other sites: lung), else heart."
        ),
    ] = Kind.auto,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")] = False,
    age_band: Annotated[
        AgeBandChoice | None,
        typer.Option(
            help="The patient's age band in years: a child's band triages the rates by "
            "published paediatric ranges, adult by NEWS2 (default: the exam's band an agent's "
            "FLAC is tagged with, else adult)."
        ),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            help="Also draw each analysed file as DIR/<name>.png: the band heard, S1/S2 or "
            "wheezes and crackles, a spectrogram and the triage reasons (needs the plot extra).",
            metavar="DIR",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="STETHO_CONFIG",
            help="Triage with this agent configuration's [analysis.thresholds] (default: "
            f"{DEFAULT_CONFIG} when it exists, else the documented defaults).",
        ),
    ] = None,
) -> None:
    """Analyse recordings: quality, heart or lung findings and triage, with reasons."""
    if plot is not None:
        try:
            check_plots_available()
        except PlotUnavailableError as exc:
            fail(str(exc), "usage")
        try:  # before the analysis: a wrong --plot is known at once
            private_dir(plot)  # a resident's sound and triage: health data, 0700 and 0600
        except OSError as exc:
            fail(f"--plot {plot}: cannot make this folder: {exc.strerror}", "usage")
    thresholds = _thresholds(config)
    band: AgeBand | None = None if age_band is None else age_band.value
    results = [analyse_file(path, kind, thresholds, band) for path in paths]
    if as_json:
        for result in results:
            typer.echo(json.dumps(result))
    else:
        Console().print(_table(results))
    if plot is not None:
        _plot_all(paths, results, plot)
    if any("error" in r for r in results):
        raise typer.Exit(EXIT_CODES["failed"])
