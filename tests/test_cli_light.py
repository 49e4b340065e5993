"""The commands a nurse or an installer types most load no NumPy, audio, radio or broker client.

Before, NumPy, libsndfile and paho were a third of a second of every `stetho status` and
`stetho config check` here (the config's broker check imported them for two constants and a
dataclass), and bleak, NumPy and libsndfile a third of a second of `stetho devices`, which only
reads the registry; `stetho exam` and `stetho staff` loaded NumPy for the quality problems' words
and aiohttp, which only the calls to a running agent use. A Pi is several times slower.

The doctor's tools (`request`, `answer`, `ack`, `alerts`, `listen`) loaded paho, the config's
and the messages' models and the exams' store for their --help and their refused arguments:
0.1-0.2 s of each call here, a doctor typing at a terminal feels it.
"""

import subprocess
import sys
from pathlib import Path

import pytest

# A device with a rate, so that the config's broker check (capture_limit) runs in full.
CONFIG = """
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

EXAM = "0b0c0d0e-0000-4000-8000-000000000001"
NO_BROKER = ["--broker", "mqtt://127.0.0.1:1"]  # never reached: the refusal comes first

PROBE = """
import sys
from stetho_cli import main
sys.argv = ["stetho", *sys.argv[1:]]
try:
    main()
except SystemExit as exc:
    print("EXIT", exc.code)
loaded = {m.split(".")[0] for m in sys.modules}
heavy = {"numpy", "scipy", "soundfile", "paho", "bleak", "aiohttp"} & loaded
print("HEAVY", sorted(heavy))
models = ("edge_agent.config", "edge_agent.wire.messages", "edge_agent.exam")
print("MODELS", sorted(m for m in models if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["status", "--config", "{config}"], 3),  # no agent running
        (["config", "check", "{config}"], 0),  # valid
        (["devices", "--state-dir", "{state}"], 0),  # none paired
        (["staff", "--help"], 0),  # and `exam`: the same module
    ],
    ids=lambda v: v[0] if isinstance(v, list) else "",
)
def test_a_light_command_loads_no_numpy_audio_radio_or_broker_client(
    tmp_path: Path, command: list[str], code: int
) -> None:
    out = _probe(tmp_path, command)
    assert f"EXIT {code}" in out and "HEAVY []" in out, out


@pytest.mark.parametrize(
    ("command", "code"),
    [
        (["request", "--help"], 0),
        (["answer", "--help"], 0),
        (["ack", "--help"], 0),
        (["alerts", "--help"], 0),
        (["listen", "--help"], 0),
        (["answer", EXAM, "--site", "home-l", "--disposition", "x", *NO_BROKER], 2),
        (["ack", "not-a-uuid", "--site", "home-l", *NO_BROKER], 2),
    ],
    ids=lambda v: " ".join(v[:2]) if isinstance(v, list) else "",
)
def test_a_doctor_tool_loads_no_broker_client_or_models_before_it_sends(
    tmp_path: Path, command: list[str], code: int
) -> None:
    # Paho, the config's, the messages' and the exams' models: only once it sends.
    out = _probe(tmp_path, command)
    assert f"EXIT {code}" in out and "HEAVY []" in out and "MODELS []" in out, out


def _probe(tmp_path: Path, command: list[str]) -> str:
    config = tmp_path / "agent.toml"
    config.write_text(CONFIG.format(state=tmp_path / "none"))
    args = [a.format(config=config, state=tmp_path / "none") for a in command]
    out = subprocess.run([sys.executable, "-c", PROBE, *args],
                         capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return out.stdout
