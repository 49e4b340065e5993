"""One agent per state directory: a second `stetho run` on it is refused, not run beside it.

Two agents on one state directory would both check (and might move aside) the outbox the other
writes, publish the same messages, and take the broker's client id from each other. `flock`
(not a pid file) because the kernel releases it when the process ends, even after SIGKILL or a
power cut, so a stale lock can never keep the agent from starting.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from edge_agent.errors import AgentRunningError
from stetho_common.private_files import private_dir, private_file

__all__ = ["LOCK_FILE", "holding_state_dir"]

LOCK_FILE = "agent.lock"


@contextmanager
def holding_state_dir(state_dir: Path) -> Iterator[None]:
    """Hold `state_dir` for this process, or raise AgentRunningError if another agent does.

    A folder that cannot be made or written is left for the outbox to report as it always has
    ("cannot open the outbox ..."): the agent cannot run there anyway.
    """
    try:
        fd = os.open(private_file(private_dir(state_dir) / LOCK_FILE), os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        fd = None
    if fd is None:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AgentRunningError(
                f"another agent is running on {state_dir}: stop it first "
                "(systemctl stop stetho-edge)"
            ) from None
        yield
    finally:
        os.close(fd)
