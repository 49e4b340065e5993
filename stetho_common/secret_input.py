"""A secret typed at a prompt, or piped in by a provisioning script: `stetho staff add` (a
nurse's PIN) and `stetho hub user add` (a doctor's password)."""

from __future__ import annotations

import getpass
import sys

from stetho_common.console import fail

__all__ = ["ask_secret"]


def ask_secret(prompt: str, what: str) -> str:
    """From the terminal without echo; piped, one line of stdin (its newline dropped).

    getpass without a terminal warns "Can not control echo on the terminal" with a line of its
    own source, and "Password input may be echoed": a script's log full of what looks like a
    traceback, about input that was never typed. Nothing left on stdin is a usage error naming
    `what`, where click said "Aborted!" (exit 1).
    """
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    if not line:
        fail(f"no {what} on standard input", "usage")
    return line.removesuffix("\n")
