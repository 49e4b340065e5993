"""Reading a config loads no SciPy: `stetho config check`, `stetho exam` and every command that
reads the agent's config start in a fraction of the time (SciPy's import is most of a second
here, several on a Pi). The analysis's names load on first use (stetho_signal.__getattr__)."""

import subprocess
import sys

import stetho_signal

PROBE = """
import sys
import edge_agent.config
from stetho_signal import MAX_RATE_HZ, TriageThresholds
heavy = ("scipy", "scipy.", "stetho_signal.analysis")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""


def test_reading_a_config_loads_no_scipy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_every_exported_name_loads_and_a_wrong_one_is_refused() -> None:
    for name in stetho_signal.__all__:
        assert getattr(stetho_signal, name) is not None, name
    try:
        stetho_signal.no_such_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("an unknown name was not refused")
