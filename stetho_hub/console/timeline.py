"""A resident's timeline across exams: heart rate, breathing rate and findings, as inline SVG.

Drawn on the server as plain SVG (no chart library, no script): each exam is a point at its
time, linked to its exam view; the rates are the median over the exam's counted recordings.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime
from html import escape

from edge_agent.wire.flag_names import flag_name
from stetho_hub.storage.exam_views import ResidentExam

# Sized for the side column (about 22 rem): SVG units are close to CSS pixels there.
WIDTH, PANEL, TITLE, GAP, LEFT, RIGHT = 340, 70, 16, 10, 34, 12
HIT_R = 14  # a point's tap target: 57 px across on a tablet upright, 28 px at 1366 px wide
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
    """One rate across exams: its name above, the plot area from top + TITLE, PANEL high."""
    values: list[float | None] = [getattr(p, attr) for p in points]
    known = [v for v in values if v is not None]
    title = f'<text x="{LEFT}" y="{top + 11:.0f}" class="axis">{escape(label)}</text>'
    plot_top = top + TITLE
    if not known:  # e.g. breathing rate on heart-only exams: say so, draw no axis
        return f'{title}<text x="{LEFT}" y="{plot_top + 14:.0f}" class="axis">-</text>'
    low, high = min(known), max(known)
    low, high = (low - 5, high + 5) if high - low < 10 else (low, high)

    def y(v: float) -> float:
        return plot_top + PANEL - (v - low) / (high - low) * PANEL

    tick = f'<text x="{LEFT - 4}" text-anchor="end" class="axis"'
    parts = [
        title,
        f'{tick} y="{plot_top + 4:.0f}">{high:.0f}</text>'
        f'{tick} y="{plot_top + PANEL:.0f}">{low:.0f}</text>',
        f'<line x1="{LEFT}" y1="{plot_top + PANEL}" x2="{WIDTH - RIGHT}"'
        f' y2="{plot_top + PANEL}" class="grid"/>',
    ]
    line = [f"{x:.1f},{y(v):.1f}" for x, v in zip(xs, values, strict=True) if v is not None]
    if len(line) > 1:
        parts.append(f'<polyline points="{" ".join(line)}" fill="none" stroke="{colour}"/>')
    for p, x, v in zip(points, xs, values, strict=True):
        if v is None:
            continue
        r = 5 if p.exam_id == current else 3.5
        said = f"{escape(label)} {v:.0f} · {p.at:%Y-%m-%d %H:%M}"
        # A clear disc around the dot takes the tap: the dot alone was 6-20 px across. The
        # link says what the dot shows: a screen reader reaches it by the keyboard too.
        parts.append(
            f'<a href="/exams/{escape(p.exam_id)}" aria-label="{said}"><circle cx="{x:.1f}"'
            f' cy="{y(v):.1f}" r="{HIT_R}" fill="transparent" class="hit"/><circle'
            f' cx="{x:.1f}" cy="{y(v):.1f}" r="{r}" fill="{colour}" class="{escape(attr)}">'
            f"<title>{said}</title></circle></a>"
        )
    return "".join(parts)


def _anchor(i: int, n: int) -> str:
    """Keep the first and last labels inside the picture."""
    if n == 1 or 0 < i < n - 1:
        return "middle"
    return "start" if i == 0 else "end"


def _flags(points: list[Point], xs: list[float], top: float, label: str, lang: str) -> str:
    """Per exam, how many findings (its level's colour; their names on hover) and its date."""
    parts = [f'<text x="{LEFT}" y="{top + 11:.0f}" class="axis">{escape(label)}</text>']
    for i, (p, x) in enumerate(zip(points, xs, strict=True)):
        anchor = _anchor(i, len(points))
        parts.append(
            f'<text x="{x:.1f}" y="{top + TITLE + 12:.0f}" text-anchor="{anchor}"'
            f' class="flag {escape(p.level or "")}">{len(p.flags) or "-"}'
            f"<title>{escape(', '.join(flag_name(c, lang) for c in p.flags) or '-')}</title></text>"
            f'<text x="{x:.1f}" y="{top + TITLE + 28:.0f}" text-anchor="{anchor}" class="axis">'
            f"{p.at:%d/%m}</text>"
        )
    return "".join(parts)


def svg(exams: list[ResidentExam], current: str, lang: str, words: dict[str, str]) -> str:
    """The timeline as an inline <svg>; `words` names its two panels and the flag row, `lang`
    the findings."""
    points = [point(e) for e in exams]
    if not points:
        return ""
    first, last = points[0].at, points[-1].at
    span = (last - first).total_seconds()
    xs = [_x(p.at, first, span) for p in points]
    block = TITLE + PANEL + GAP
    rows = (
        _panel(points, "heart_bpm", words["heart"], 0, "#b00020", xs, current)
        + _panel(points, "breaths_bpm", words["breaths"], block, "#1565c0", xs, current)
        + _flags(points, xs, 2 * block, words["flags"], lang)
    )
    height = 2 * block + TITLE + 34
    return (
        # A group, not an image: an image's parts are hidden from a screen reader, and its
        # dots are links that a keyboard reaches (axe-core's nested-interactive).
        f'<svg id="timeline" role="group" viewBox="0 0 {WIDTH} {height}" width="100%"'
        f' aria-label="{escape(words["title"])}" xmlns="http://www.w3.org/2000/svg">{rows}</svg>'
    )
