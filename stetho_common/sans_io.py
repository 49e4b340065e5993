"""The one "need more bytes" answer of every sans-I/O decoder (BLE frames, journal records).

An enum member, so that `is NEED_DATA` checks and `Literal[NeedData.NEED_DATA]` narrowing work
for mypy, as h11's `NEED_DATA` sentinel does for its readers.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

__all__ = ["NEED_DATA", "NeedData"]


class NeedData(Enum):
    """Sentinel type: the decoder needs more bytes before it can return anything."""

    NEED_DATA = "need-data"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA
