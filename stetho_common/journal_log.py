"""How every long-running `stetho` process logs: key=value lines on stdout, with their syslog
priority when systemd connected stdout to the journal (so `journalctl -p warning` filters)."""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["LOG_FORMAT", "JournalFormatter", "setup_logging", "stdout_is_journal"]

LOG_FORMAT = "level=%(levelname)s logger=%(name)s %(message)s"
# sd-daemon(3) priority prefixes: journald files each line under its level, so
# `journalctl -p warning` shows warnings and errors only.
_PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3}


class JournalFormatter(logging.Formatter):
    """Prefixes each line with `<N>`, the syslog priority journald reads off a stream."""

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 2 if record.levelno > logging.ERROR else 7)
        return f"<{priority}>{super().format(record)}"


def stdout_is_journal(environ: dict[str, str] | None = None) -> bool:
    """True when systemd connected stdout to the journal (JOURNAL_STREAM names its device:inode)."""
    stream = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = stream.partition(":")
    try:
        st = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError):
        return False
    return bool(inode) and f"{st.st_dev}:{st.st_ino}" == f"{device}:{inode}"


def setup_logging(level: str) -> None:
    """One line per event on stdout (journald adds time and unit), key=value fields."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = JournalFormatter if stdout_is_journal() else logging.Formatter
    handler.setFormatter(formatter(LOG_FORMAT))
    logging.basicConfig(level=getattr(logging, level.upper()), handlers=[handler])
