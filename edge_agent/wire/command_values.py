"""The values a doctor's command checks before it sends (the lengths, the dispositions), apart
from the models (`messages`): `stetho request --help` need not build the pydantic models."""

from __future__ import annotations

from typing import Literal

__all__ = ["MAX_LIVE_S", "MAX_RECORD_S", "MIN_RECORD_S", "Disposition"]

# A doctor's decision, as the regions' pathways name them (issue 15): from nothing to do to a
# hospital transfer, or a new recording.
Disposition = Literal[
    "no-action", "gp-visit-24h", "urgent-visit-today", "hospital-transfer", "re-record"
]
MAX_LIVE_S = 1800.0
MAX_RECORD_S = 120.0  # one site; a longer listen is live streaming, not a recording
MIN_RECORD_S = 1  # the shortest length asked for (an int: the published schema says 1)
