"""Log lines carry their priority for journald, and only when stdout is the journal."""

import logging
import os
import subprocess
import sys

from stetho_common.journal_log import LOG_FORMAT, JournalFormatter


def test_each_level_gets_its_syslog_priority() -> None:
    formatter = JournalFormatter(LOG_FORMAT)
    lines = {
        level: formatter.format(logging.LogRecord("edge_agent", level, "", 0, "event=x", (), None))
        for level in (logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR, logging.CRITICAL)
    }
    assert lines[logging.DEBUG].startswith("<7>level=DEBUG")
    assert lines[logging.INFO].startswith("<6>level=INFO")
    assert lines[logging.WARNING].startswith("<4>level=WARNING")
    assert lines[logging.ERROR].startswith("<3>level=ERROR")
    assert lines[logging.CRITICAL].startswith("<2>level=CRITICAL")


def _log_one_warning(env: dict[str, str], stdout: int) -> None:
    code = (
        "import logging; from stetho_common.journal_log import setup_logging;"
        "setup_logging('info'); logging.getLogger('edge_agent').warning('event=w')"
    )
    subprocess.run([sys.executable, "-c", code], env=env, stdout=stdout, check=True, timeout=60)


def test_prefix_only_when_stdout_is_the_journal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.log"
    with out.open("wb") as f:
        st = os.fstat(f.fileno())
        _log_one_warning({**os.environ, "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, f.fileno())
        _log_one_warning({**os.environ, "JOURNAL_STREAM": "1:2"}, f.fileno())
    first, second = out.read_text().splitlines()
    assert first == "<4>level=WARNING logger=edge_agent event=w"
    assert second == "level=WARNING logger=edge_agent event=w"
