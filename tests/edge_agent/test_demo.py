"""`stetho demo`, as `make demo` runs it: ends by itself, every recording reaches the doctor."""

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
    assert "recordings published: 8, stored: 8, received: 8" in run.stdout
