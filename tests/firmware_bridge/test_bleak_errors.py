"""A lost link's message says why, even when bleak's exception carries no text."""

from __future__ import annotations

import pytest
from bleak.exc import BleakError

from firmware_bridge._bleak_errors import translate_bleak_errors
from firmware_bridge.errors import LinkLostError


@pytest.mark.parametrize(
    ("raised", "said"),
    [
        (TimeoutError(), "5E:7A:00:00:00:01: TimeoutError"),  # asyncio.timeout's, empty
        (BleakError(), "5E:7A:00:00:00:01: BleakError"),
        (
            BleakError("le-connection-abort-by-local"),
            "5E:7A:00:00:00:01: le-connection-abort-by-local",
        ),
        (OSError(113, "No route to host"), "5E:7A:00:00:00:01: [Errno 113] No route to host"),
    ],
)
def test_a_lost_link_says_why(raised: Exception, said: str) -> None:
    with pytest.raises(LinkLostError) as lost, translate_bleak_errors("5E:7A:00:00:00:01"):
        raise raised
    assert str(lost.value) == said
    assert lost.value.__cause__ is raised
