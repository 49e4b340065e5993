"""The one rule for the ids that travel as MQTT topic levels and opaque references."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["SLUG", "SLUG_PATTERN", "SLUG_WORDS"]

SLUG_PATTERN: Final = r"^[a-z0-9][a-z0-9-]{0,62}$"
"""A care home's, agent's, stethoscope's or resident's id: 1-63 lower-case letters, digits and
dashes, the first a letter or digit. Never ``+``, ``#``, ``/`` or a space: a topic level."""
SLUG: Final = re.compile(SLUG_PATTERN)
SLUG_WORDS: Final = "1-63 lower-case letters, digits and dashes"  # the rule, as a refusal says it
