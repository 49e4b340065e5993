"""Reading a config, and `stetho exam` / `stetho staff`, load no SciPy: those commands start in
a fraction of the time (SciPy's import is most of a second here, several on a Pi). The
analysis's and the page's names load on first use (their packages' `__getattr__`)."""

import subprocess
import sys
from types import ModuleType

import pytest

import edge_agent.web
import stetho_signal

PROBE = """
import sys
import edge_agent.cli.exam
import edge_agent.cli.status
import edge_agent.config
from stetho_signal import MAX_RATE_HZ, TriageThresholds
heavy = ("scipy", "scipy.", "stetho_signal.analysis")
print(sorted(m for m in sys.modules if m.startswith(heavy)))
"""


def test_reading_a_config_or_the_exam_commands_load_no_scipy() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize("package", [stetho_signal, edge_agent.web], ids=lambda p: p.__name__)
def test_every_exported_name_loads_and_a_wrong_one_is_refused(package: ModuleType) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        package.no_such_name  # noqa: B018
