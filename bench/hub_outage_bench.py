"""No hub at all for 10 minutes: the agents keep their recordings, send them again, lose none.

A real agent with three simulated stethoscopes (each recording every 20 s of real time) and
`receipt_timeout_s = 60`, as a care home with a hub runs; a real Mosquitto; no hub for
STETHO_HUB_OUTAGE_S seconds (600), so the broker drops every recording (nobody subscribed)
and only the agent's outbox keeps them. Then a hub starts. Reported: recordings stored while
no hub ran, how often the agent sent recordings again, how long the hub took to archive the
backlog, and the check that each was archived exactly once with the agent's SHA-256. The
baseline is the agent itself: every recording it stored must be archived (ratio 1.0).
The scenario is stetho_testkit/hub/outage.py; its short form (5 s) runs in `make test`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from edge_agent.runtime.local_broker import LocalBroker
from stetho_testkit.hub.outage import run_outage

SIMULATOR_SPEED = 20.0  # stetho_testkit/agent_harness.py's simulators run this much faster


def run() -> dict[str, Any]:
    outage_s = float(os.environ.get("STETHO_HUB_OUTAGE_S", "600"))
    work = Path(tempfile.mkdtemp(prefix="hub-outage-"))
    try:
        with LocalBroker(work / "broker") as broker:
            figures = run_outage(
                broker,
                work,
                outage_s=outage_s,
                receipt_timeout_s=60.0,
                devices=("steth-a", "steth-b", "steth-c"),
                interval_s=20.0 * SIMULATOR_SPEED,
                # Re-sends back off to 8 timeouts (480 s): a recording the broker dropped
                # may wait that long after the hub starts.
                settle_timeout_s=720.0,
            )
        figures["ratio_archived_to_stored"] = round(figures["archived"] / figures["stored"], 3)
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
