"""Where each auscultation site sits on the page's body outline (SVG user units, 0-200 x 0-260).

Front view on the left (valve areas, trachea, chest), back view on the right (posterior and
lateral lung sites). Positions follow the usual surface landmarks: aortic 2nd right intercostal
space at the sternal border, pulmonic 2nd left, tricuspid 4th-5th left lower sternal border,
mitral 5th left mid-clavicular line.
"""

from __future__ import annotations

from typing import Final

# The patient's left appears on the viewer's right in the front view, and on the left from behind.
POSITIONS: Final[dict[str, tuple[int, int]]] = {
    "trachea": (50, 42),
    "aortic": (44, 84),
    "pulmonic": (57, 84),
    "tricuspid": (54, 108),
    "mitral": (68, 116),
    "lung-right-upper": (32, 78),
    "lung-left-upper": (70, 72),
    "lung-right-lower": (30, 128),
    "lung-left-lower": (74, 136),
    "lung-left-posterior": (130, 110),
    "lung-right-posterior": (170, 110),
    "lung-left-lateral": (118, 140),
    "lung-right-lateral": (182, 140),
}
