"""Issue 15's fault test in full: 300 recordings from real agents, the hub SIGKILLed three times
and PostgreSQL restarted once while they arrive; nothing lost, nothing archived twice.

Three `stetho run` agents (two simulated stethoscopes each, `receipt_timeout_s = 3`), one
Mosquitto, the hub as a `python -m stetho_hub run` process on a PostgreSQL started here. The
baseline is the same run without faults, measured first in the same process: the ratios say
what the faults cost in time and in recordings sent again. The scenario is
stetho_testkit/hub/faults.py; its short form (~50 recordings) runs in `make test`.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from stetho_testkit.hub.faults import FaultPlan, assert_nothing_lost, quiet_broker, run_faults
from stetho_testkit.postgres import PostgresServer

N_RECORDINGS = 300


def _run(postgres: PostgresServer, work: Path, plan: FaultPlan, name: str) -> dict[str, Any]:
    (work / name).mkdir()
    with quiet_broker(work / name / "mosquitto") as broker:
        figures = run_faults(broker, postgres, work / name, plan, database=name)
    assert_nothing_lost(figures)
    return figures


def run() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="hub-faults-"))
    postgres = PostgresServer()
    postgres.start()
    try:
        plan = FaultPlan(recordings=N_RECORDINGS)
        calm = FaultPlan(recordings=N_RECORDINGS, hub_kills=0, postgres_restarts=0)
        baseline = _run(postgres, work, calm, "baseline")
        faults = _run(postgres, work, plan, "faults")
    finally:
        postgres.destroy()
        shutil.rmtree(work, ignore_errors=True)
    return {
        "baseline_no_faults": baseline,
        "three_sigkills_one_postgresql_restart": faults,
        "ratio_archived_to_stored": round(faults["archived"] / faults["recordings_stored"], 3),
        "ratio_total_s_to_baseline": round(faults["total_s"] / baseline["total_s"], 2),
        "sent_again_per_recording": round(faults["sent_again"] / faults["recordings_stored"], 2),
        "baseline_sent_again_per_recording": round(
            baseline["sent_again"] / baseline["recordings_stored"], 2
        ),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
