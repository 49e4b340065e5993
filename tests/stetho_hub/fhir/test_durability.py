"""The FHIR queue survives a SIGKILL of the sending process and a server down for a while.

The sender runs as its own process (`python -m stetho_hub.fhir send`), exactly as an
operator would run it; the FHIR test double lives in this process so it can kill the sender
at the worst moment: after the server committed a transaction, before the answer arrived.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from stetho_hub.fhir import FhirQueue, enqueue_exam
from stetho_testkit.poll import wait_until
from tests.stetho_hub.fhir.conftest import TOKEN, server_context
from tests.stetho_hub.fhir.fhir_double import FhirDouble, FhirStore
from tests.stetho_hub.fhir.helpers import exam_variant

ROOT = Path(__file__).resolve().parents[3]
N_EXAMS = 10


def _sender(queue: Path, double: FhirDouble, tls: Path, log: Path) -> subprocess.Popen[bytes]:
    token = tls / "token"
    token.write_text(TOKEN)
    cmd = [
        sys.executable, "-m", "stetho_hub.fhir", "send", "--queue", str(queue),
        "--base-url", double.base_url, "--ca-file", str(tls / "ca.crt"),
        "--token-file", str(token), "--max-backoff-s", "0.4", "--until-empty",
    ]  # fmt: skip
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def _wait(what: Callable[[], bool], timeout_s: float, why: str) -> None:
    wait_until(what, timeout_s, what=why)


def _status(queue: Path) -> tuple[int, int, int, str | None]:
    q = FhirQueue(queue)
    try:
        s = q.status()
    finally:
        q.close()
    return s.sent, s.queued, s.failing, s.last_error


def test_every_exam_arrives_once_across_a_sigkill_and_a_server_outage(
    store: FhirStore, tls_files: Path, tmp_path: Path
) -> None:
    queue_path = tmp_path / "hub" / "fhir.sqlite"
    log = tmp_path / "sender.log"
    q = FhirQueue(queue_path)
    for n in range(N_EXAMS):
        enqueue_exam(q, exam_variant(n))
    q.close()
    double = FhirDouble(store, server_context(tls_files), token=TOKEN)
    double.start()
    try:
        # 1. SIGKILL after the 4th transaction committed, before its answer left the server.
        proc = _sender(queue_path, double, tls_files, log)
        killed = threading.Event()

        def kill_after_fourth() -> None:
            if store.transactions == 4 and not killed.is_set():
                os.kill(proc.pid, signal.SIGKILL)
                killed.set()

        double.after_commit = kill_after_fourth
        assert proc.wait(timeout=120) == -signal.SIGKILL, log.read_text()
        double.after_commit = None
        sent, queued, _, _ = _status(queue_path)
        assert (sent, queued) == (3, N_EXAMS - 3)  # the 4th reached the server, not its mark

        # 2. The server goes down; a new sender keeps failing and says why.
        double.stop()
        proc = _sender(queue_path, double, tls_files, log)
        _wait(lambda: _status(queue_path)[2] >= 1, 60, "the queue to report failing")
        assert "cannot reach the FHIR server" in str(_status(queue_path)[3])
        time.sleep(1.0)  # down for a while: several attempts fail
        assert proc.poll() is None
        double.start()  # same port
        assert proc.wait(timeout=120) == 0, log.read_text()
    finally:
        double.stop()
    sent, queued, failing, _ = _status(queue_path)
    assert (sent, queued, failing) == (N_EXAMS, 0, 0)
    counts = {kind: store.count(kind) for kind in store.resources}
    assert counts == {
        "Patient": 1, "Device": 2, "Media": 3 * N_EXAMS, "Observation": 6 * N_EXAMS,
        "DiagnosticReport": N_EXAMS, "Provenance": N_EXAMS,
    }  # fmt: skip
    assert store.transactions >= N_EXAMS + 1  # the 4th exam went twice, was created once
    assert "event=fhir_send_failed" in log.read_text()
