"""`stetho analyze`: heart or lung analysis of WAV/FLAC files, as a table or JSON lines."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import soundfile as sf
import typer
from rich.console import Console
from rich.table import Table

from stetho_signal import SignalError, TriageThresholds, analyze

EXIT_UNREADABLE = 1


class Kind(StrEnum):
    heart = "heart"
    lung = "lung"


def analyse_file(path: Path, kind: Kind, thresholds: TriageThresholds) -> dict[str, Any]:
    """One file to the JSON contract: the analysis, or {"file", "error"} when it cannot be read."""
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, OSError, TypeError, ValueError) as exc:
        return {"file": str(path), "error": f"cannot read audio: {exc}"}
    try:
        result = analyze(np.asarray(samples), float(rate), kind.value, thresholds)
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
            f"{r['quality']['score']:.2f}" + ("" if r["quality"]["acceptable"] else " (poor)"),
            _findings(r),
            r["triage"]["level"],
            "\n".join(f["reason"] for f in r["triage"]["flags"])
            or "; ".join(r["quality"]["problems"]),
        )
    return table


def _findings(r: dict[str, Any]) -> str:
    parts: list[str] = []
    heart, lung = r.get("heart"), r.get("lung")
    if heart:
        rate = heart["rate_bpm"]
        parts.append(f"HR {rate:.0f}/min" if rate is not None else "HR n/a")
        parts += ["irregular"] if heart["irregular"] else []
        parts += ["murmur?"] if heart["murmur_suspected"] else []
    if lung:
        rate = lung["respiratory_rate_bpm"]
        parts.append(f"RR {rate:.0f}/min" if rate is not None else "RR n/a")
        parts += ["wheeze"] if lung["wheeze"] else []
        parts += [f"{len(lung['crackle_times_s'])} crackles"] if lung["crackles"] else []
    return ", ".join(parts)


def analyze_command(
    paths: Annotated[list[Path], typer.Argument(help="WAV or FLAC files, any sample rate.")],
    kind: Annotated[Kind, typer.Option(help="What was auscultated.")] = Kind.heart,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file.")] = False,
) -> None:
    """Analyse recordings: quality, heart or lung findings and triage, with reasons."""
    thresholds = TriageThresholds()
    results = [analyse_file(path, kind, thresholds) for path in paths]
    if as_json:
        for result in results:
            typer.echo(json.dumps(result))
    else:
        Console().print(_table(results))
    if any("error" in r for r in results):
        raise typer.Exit(EXIT_UNREADABLE)
