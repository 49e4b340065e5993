"""The outbox alarms the agent can raise read in French; anything else is shown as it came."""

from __future__ import annotations

import pytest

from edge_agent.storage.outbox import admit
from edge_agent.wire.alarm_words import alarm_text

# used, incoming, quota, free disk, reserve, alarm fraction: one case per sentence admit has,
# each number different so a swapped one shows; the whole sentence, as the doctor reads it.
CASES = [
    ((900, 50, 1_000, 10**9, 0, 0.9), "file d'envoi à 95\u00a0% de son quota"),
    (
        (990, 50, 1_000, 10**9, 0, 0.9),
        "quota de la file d'envoi atteint (1\u202f040 sur 1\u202f000 octets) : "
        "enregistrement refusé",
    ),
    (
        (0, 50, 10**6, 1_048_576, 2_097_152, 0.9),
        "disque presque plein (1\u202f048\u202f576 octets libres, 2\u202f097\u202f152 gardés "
        "en réserve) : enregistrement refusé",
    ),
]


@pytest.mark.parametrize(("args", "french"), CASES)
def test_each_outbox_alarm_reads_in_french(args: tuple[int, ...], french: str) -> None:
    used, incoming, quota, free, reserve, fraction = args
    reason = admit(used, incoming, quota, free, reserve, fraction).reason
    assert reason is not None
    assert alarm_text(reason, "en") == reason
    assert alarm_text(reason, "fr") == french


def test_an_alarm_we_cannot_read_is_shown_as_it_came() -> None:
    assert alarm_text("outbox 91 % full", "fr") == "outbox 91 % full"
