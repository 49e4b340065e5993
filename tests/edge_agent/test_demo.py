"""`stetho demo`, as `make demo` runs it: ends by itself, every recording reaches the doctor."""

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.broker


def test_demo_ends_by_itself_with_alerts_and_a_summary() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "edge_agent", "demo"],
        capture_output=True,
        text=True,
        timeout=90,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin:/usr/sbin"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ALERT URGENT" in run.stdout or "ALERT REVIEW" in run.stdout
    counts = re.search(r"recordings published: (\d+), stored: (\d+), received: (\d+)", run.stdout)
    assert counts is not None, run.stdout
    published, stored, received = map(int, counts.groups())
    # A device may finish a third recording while the demo stops: stored, not yet received.
    assert published == received == 8 and stored >= 8
