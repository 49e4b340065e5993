"""With no hub running at all, nothing is lost: the agent keeps its recordings and sends them
again until the hub, once it starts, archives each exactly once. The short form of
bench/hub_outage_bench.py (there: 10 minutes without a hub)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.hub.outage import run_outage

pytestmark = pytest.mark.broker


def test_no_hub_until_each_recording_was_sent_again_twice_then_each_archived_once(
    broker: LocalBroker, tmp_path: Path
) -> None:
    # The hub starts once the outage held the first two re-sends (1 s, then 1-2 s later) of
    # each recording (within 3-4 s; a fixed 5 s outage was a guess at that); the re-sends back
    # off to 2 s at most, so the hub, once up, gets each again within 2 s.
    figures = run_outage(
        broker,
        tmp_path,
        outage_s=30.0,
        receipt_timeout_s=1.0,
        receipt_resend_max_s=2.0,
        until_sent_again=4,
    )
    print(f"no hub until sent again: {figures}")
    assert figures["stored_during_outage"] >= 2  # one per stethoscope, before the hub existed
    assert figures["sent_again_during_outage"] >= 4  # kept, and sent again without a receipt
    assert figures["archived"] == figures["stored"]
    assert figures["archived_exactly_once"] and figures["sha256_matches_agent"]
    assert figures["awaiting_receipt_after"] == 0 and figures["receipts_mismatched"] == 0
