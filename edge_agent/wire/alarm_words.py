"""The agent's outbox alarm in the reader's language, for the doctor's console.

The agent publishes the alarm as the English sentence edge_agent.storage.outbox.admit wrote
(the status message's `detail.alarm`, no code beside it), so the French sentence is rebuilt
from that sentence's numbers; any other text (a newer agent) is shown as it came. Checked
against admit's own sentences by tests/edge_agent/test_alarm_words.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

__all__ = ["alarm_text"]


def _bytes(digits: str) -> str:
    """A byte count the French way: thin spaces between thousands (1 048 576 octets)."""
    return f"{int(digits):,}".replace(",", "\u202f")


def _quota_reached(m: re.Match[str]) -> str:
    return (
        f"quota de la file d'envoi atteint ({_bytes(m[1])} sur {_bytes(m[2])} octets) : "
        "enregistrement refusé"
    )


def _disk_nearly_full(m: re.Match[str]) -> str:
    return (
        f"disque presque plein ({_bytes(m[1])} octets libres, {_bytes(m[2])} gardés en "
        "réserve) : enregistrement refusé"
    )


def _quota_near(m: re.Match[str]) -> str:
    return f"file d'envoi à {m[1]}\u00a0% de son quota"


# Named functions, not lambdas: mutation testing reaches a sentence only inside a function.
_FRENCH: Final[tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...]] = (
    (re.compile(r"^outbox quota reached \((\d+) of (\d+) bytes\): recording refused$"),
     _quota_reached),
    (re.compile(r"^disk nearly full \((\d+) bytes free, (\d+) kept in reserve\): "
                r"recording refused$"),
     _disk_nearly_full),
    (re.compile(r"^outbox at (\d+)% of its quota$"), _quota_near),
)  # fmt: skip


def alarm_text(text: str, lang: str) -> str:
    """The alarm in `lang` ("en" or "fr"); the agent's own sentence when we cannot read it."""
    if lang == "fr":
        for pattern, french in _FRENCH:
            if found := pattern.match(text):
                return french(found)
    return text
