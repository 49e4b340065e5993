"""Reading a config, and `stetho exam` / `stetho staff`, load no SciPy: those commands start in
a fraction of the time (SciPy's import is most of a second here, several on a Pi). The
analysis's and the page's names load on first use (their packages' `__getattr__`). `stetho status`
and `stetho config check` load no NumPy, libsndfile or paho either."""

import subprocess
import sys
from pathlib import Path
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


# A device with a rate, so that the broker check of the config (capture_limit) runs in full.
STATUS_CONFIG = """
site = "home-light"
agent_id = "pi-l"
[broker]
max_packet_bytes = 16777216
[storage]
state_dir = "{state}"
[[devices]]
id = "steth-l"
kind = "simulated"
"""

STATUS_PROBE = """
import sys
from stetho_cli import main
sys.argv = ["stetho", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    print("EXIT", exc.code)
heavy = {"numpy", "scipy", "soundfile", "paho", "bleak"} & {m.split(".")[0] for m in sys.modules}
print("HEAVY", sorted(heavy))
"""


@pytest.mark.parametrize(
    ("command", "code"), [(["status", "--config"], 3), (["config", "check"], 0)]
)  # 3: no agent running; 0: the config is valid
def test_status_and_config_check_load_no_numpy_audio_or_broker_client(
    tmp_path: Path, command: list[str], code: int
) -> None:
    # NumPy, libsndfile and paho were a third of a second of every `stetho status` here (a
    # Pi is several times slower), pulled in by the config's broker check for two constants.
    config = tmp_path / "agent.toml"
    config.write_text(STATUS_CONFIG.format(state=tmp_path / "none"))
    out = subprocess.run([sys.executable, "-c", STATUS_PROBE, *command, str(config)],
                         capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    assert f"EXIT {code}" in out.stdout and "HEAVY []" in out.stdout, out.stdout
