"""A resident's timeline across exams: heart rate, breathing rate and findings, as inline SVG.

Drawn on the server as plain SVG (no chart library, no script): each exam is a point at its
time, linked to its exam view; the rates are the median over the exam's counted recordings.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from stetho_hub.storage.exam_views import ResidentExam

WIDTH, PANEL, TOP, LEFT, RIGHT = 640, 90, 18, 46, 14
LEVEL_RANK = {"urgent": 2, "review": 1, "routine": 0}


@dataclass(frozen=True)
class Point:
    exam_id: str
    at: datetime
    heart_bpm: float | None
    breaths_bpm: float | None
    level: str | None
    flags: tuple[str, ...]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def point(exam: ResidentExam) -> Point:
    heart, lung, flags, levels = [], [], [], []
    for _rid, analysis in exam.analyses:
        rate = (analysis.get("heart") or {}).get("rate_bpm")
        breaths = (analysis.get("lung") or {}).get("respiratory_rate_bpm")
        heart += [float(rate)] if rate is not None else []
        lung += [float(breaths)] if breaths is not None else []
        triage = analysis.get("triage") or {}
        levels.append(str(triage.get("level", "normal")))
        flags += [str(f.get("code")) for f in triage.get("flags", []) if f.get("code")]
    level = max(levels, key=lambda lv: LEVEL_RANK.get(lv, 0)) if levels else None
    at = datetime.fromisoformat(str(exam.exam.get("opened_at")).replace("Z", "+00:00"))
    return Point(
        exam.exam_id, at, _median(heart), _median(lung), level, tuple(dict.fromkeys(flags))
    )


def _x(at: datetime, first: datetime, span_s: float) -> float:
    if span_s <= 0:
        return LEFT + (WIDTH - LEFT - RIGHT) / 2
    return LEFT + (at - first).total_seconds() / span_s * (WIDTH - LEFT - RIGHT)


def _panel(points: list[Point], attr: str, label: str, top: float, colour: str, xs: list[float],
           current: str) -> str:  # fmt: skip
    values: list[float | None] = [getattr(p, attr) for p in points]
    known = [v for v in values if v is not None]
    title = f'<text x="4" y="{top + 10:.0f}" class="axis">{escape(label)}</text>'
    if not known:  # e.g. breathing rate on heart-only exams: say so, draw no axis
        return f'{title}<text x="{LEFT}" y="{top + PANEL / 2:.0f}" class="axis">-</text>'
    low, high = min(known), max(known)
    low, high = (low - 5, high + 5) if high - low < 10 else (low, high)

    def y(v: float) -> float:
        return top + PANEL - (v - low) / (high - low) * PANEL

    tick = f'<text x="{LEFT - 4}" text-anchor="end" class="axis"'
    parts = [
        title,
        f'{tick} y="{top + 4:.0f}">{high:.0f}</text>{tick} y="{top + PANEL:.0f}">{low:.0f}</text>',
        f'<line x1="{LEFT}" y1="{top + PANEL}" x2="{WIDTH - RIGHT}" y2="{top + PANEL}"'
        ' class="grid"/>',
    ]
    line = [f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, values, strict=True) if v is not None]
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{colour}"/>')
    for p, x, v in zip(points, xs, values, strict=True):
        if v is None:
            continue
        r = 5 if p.exam_id == current else 3.5
        parts.append(
            f'<a href="/exams/{escape(p.exam_id)}"><circle cx="{x:.1f}" cy="{y(v):.1f}" r="{r}"'
            f' fill="{colour}" class="{escape(attr)}"><title>{escape(label)} {v:.0f}'
            f" · {p.at:%Y-%m-%d %H:%M}</title></circle></a>"
        )
    return "".join(parts)


def svg(exams: list[ResidentExam], current: str, words: dict[str, str]) -> str:
    """The timeline as an inline <svg>; `words` names its two panels and the flag row."""
    points = [point(e) for e in exams]
    if not points:
        return ""
    first, last = points[0].at, points[-1].at
    span = (last - first).total_seconds()
    xs = [_x(p.at, first, span) for p in points]
    flags_top = TOP + 2 * PANEL + 2 * TOP
    height = flags_top + 2 * TOP
    rows = [
        _panel(points, "heart_bpm", words["heart"], TOP, "#b00020", xs, current),
        _panel(points, "breaths_bpm", words["breaths"], 2 * TOP + PANEL, "#1565c0", xs, current),
        f'<text x="4" y="{flags_top + 4}" class="axis">{escape(words["flags"])}</text>',
    ]
    for p, x in zip(points, xs, strict=True):
        mark = ", ".join(p.flags) or "-"
        rows.append(
            f'<text x="{x:.1f}" y="{flags_top + 4}" text-anchor="middle"'
            f' class="flag {escape(p.level or "")}">'
            f"{escape(mark)}</text>"
            f'<text x="{x:.1f}" y="{flags_top + 20}" text-anchor="middle" class="axis">'
            f"{p.at:%d/%m}</text>"
        )
    return (
        f'<svg id="timeline" role="img" viewBox="0 0 {WIDTH} {height}" width="100%"'
        f' aria-label="{escape(words["title"])}" xmlns="http://www.w3.org/2000/svg">'
        f"{''.join(rows)}</svg>"
    )


def rows_of(exams: list[ResidentExam]) -> list[dict[str, Any]]:
    """The same points as table rows (for the list under the plot and for screen readers)."""
    return [
        {"exam_id": p.exam_id, "at": p.at, "heart": p.heart_bpm, "breaths": p.breaths_bpm,
         "level": p.level, "flags": p.flags}
        for p in map(point, exams)
    ]  # fmt: skip
