"""The leak check's judgement of a child process: killed but not yet reaped is not left running."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import _ended


def test_a_child_killed_as_the_test_ends_is_not_left_running() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    child.kill()  # as a test's `finally` does, without waiting
    assert _ended(child)


def test_a_child_still_running_is_left_running() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert not _ended(child)
    finally:
        child.kill()
        child.wait()
