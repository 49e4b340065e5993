"""Why a measurement could not be made: an English sentence that also carries a stable code.

A note is still the sentence (``str``), so every reader of ``HeartResult.notes`` and
``LungResult.notes`` keeps working; the triage copies its code and number into the
``*_unmeasured`` flag's details, and a reader in another language says it from those, never
from the sentence (edge_agent.wire.flag_words).
"""

from __future__ import annotations

import math
from typing import Literal

__all__ = ["NOTE_CODES", "Note", "NoteCode"]

NoteCode = Literal[
    "no_cycle",
    "no_heart_sounds",
    "no_heartbeat",
    "too_few_beats",
    "heart_rate_out_of_range",
    "too_few_beats_for_rhythm",
    "no_whole_cycle",
    "clip_too_short_for_breaths",
    "no_breathing",
    "no_repeating_breathing",
]
NOTE_CODES: tuple[NoteCode, ...] = NoteCode.__args__  # type: ignore[attr-defined]
"""Every note code; ``no_heart_sounds`` carries the sounds' half-height width in ms and
``heart_rate_out_of_range`` the rate in beats/min as ``value``; the others no number."""


class Note(str):
    """The sentence, with ``code`` (one of :data:`NOTE_CODES`) and the number it states.

    Examples
    --------
    >>> note = Note("too_few_beats", "heart rate needs at least two beats; the clip holds fewer")
    >>> note.code, "two beats" in note
    ('too_few_beats', True)
    """

    code: NoteCode
    value: float | None

    def __new__(cls, code: NoteCode, text: str, value: float | None = None) -> Note:
        if code not in NOTE_CODES:
            raise ValueError(f"unknown note code {code!r}")
        if value is not None and not math.isfinite(value):
            raise ValueError(f"note {code!r}: value must be finite, got {value!r}")
        note = super().__new__(cls, text)
        note.code, note.value = code, value
        return note

    def __getnewargs__(self) -> tuple[NoteCode, str, float | None]:  # type: ignore[override]
        return self.code, str(self), self.value  # pickle and copy rebuild the note whole
