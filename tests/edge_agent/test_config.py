import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge_agent.config import load_config
from edge_agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
MINIMAL = """
site = "home-1"
[[devices]]
id = "s1"
kind = "simulated"
resident = "res-1"
[devices.schedule]
interval_s = 10
duration_s = 5
"""


def write(tmp_path: Path, text: str, mode: int = 0o640) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_example_config_is_valid_and_configures_no_device(tmp_path: Path) -> None:
    example = (ROOT / "config.example.toml").read_text()
    config = load_config(write(tmp_path, example))
    assert config.site == "lux-bastogne-01"
    assert config.devices == []  # an agent started before editing publishes nothing made up
    assert config.storage.min_free_disk_mb == 32
    # The commented device blocks are valid as soon as they are uncommented.
    head, marker, devices = example.partition("# One [[devices]] block")
    uncommented = re.sub(r"(?m)^# (\[|[a-z_]+ = )", r"\1", devices)
    config = load_config(write(tmp_path, head + marker + uncommented))
    assert [(d.id, d.kind) for d in config.devices] == [
        ("steth-1", "simulated"),
        ("steth-2", "ble"),
    ]


def test_minimal_config_gets_defaults_and_resolves_relative_state_dir(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL + '\n[storage]\nstate_dir = "state"\n'))
    assert config.broker.port == 1883
    assert config.storage.state_dir == tmp_path / "state"


@pytest.mark.parametrize(
    ("site", "kind"),
    [("mitral", "heart"), ("aortic", "heart"), ("trachea", "lung"), ("lung-right-lower", "lung")],
)
def test_the_analysis_follows_the_site_when_left_out(tmp_path: Path, site: str, kind: str) -> None:
    text = MINIMAL.replace(
        'kind = "simulated"', f'kind = "simulated"\nauscultation_site = "{site}"'
    )
    assert load_config(write(tmp_path, text)).devices[0].analysis_kind == kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL.replace("site =", "stie ="), "stie: unknown key"),
        (MINIMAL.replace("interval_s = 10", "interval_s = 'often'"),
         "devices[0].schedule.interval_s: expected"),
        (MINIMAL.replace('resident = "res-1"\n', ""),
         "devices[0]: expected a resident (opaque reference) for timed monitoring"),
        (MINIMAL + "\n[broker]\nport = 99999\n", "broker.port: expected"),
        (MINIMAL.replace('kind = "simulated"', 'kind = "simulated"\nscenario = "nope"'),
         "devices[0].scenario: expected one of normal"),
        ("site = [", "not valid TOML"),
        (MINIMAL.replace('kind = "simulated"',
                         'kind = "simulated"\nauscultation_site = "lung-left-lower"\n'
                         'analysis_kind = "heart"'),
         "devices[0].analysis_kind: expected 'lung' at auscultation site 'lung-left-lower'"),
    ],
)  # fmt: skip
def test_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_inline_password_in_group_readable_file_is_refused(tmp_path: Path) -> None:
    text = MINIMAL + '\n[broker]\nusername = "u"\npassword = "hunter2"\n'
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(write(tmp_path, text, 0o640))
    config = load_config(write(tmp_path, text, 0o600))
    assert config.mqtt_password() == "hunter2"
    assert "hunter2" not in str(config.redacted())


def test_password_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    secret.chmod(0o600)
    config = load_config(write(tmp_path, MINIMAL + f'\n[broker]\npassword_file = "{secret}"\n'))
    assert config.mqtt_password() == "s3cret"
    monkeypatch.setenv("STETHO_MQTT_PASSWORD", "from-env")
    assert load_config(write(tmp_path, MINIMAL)).mqtt_password() == "from-env"


def test_cli_config_check_exit_codes_and_redaction(tmp_path: Path) -> None:
    stetho = [sys.executable, "-m", "stetho_cli"]
    good = write(tmp_path, MINIMAL + '\n[broker]\npassword = "hunter2"\n', 0o600)
    ok = subprocess.run([*stetho, "config", "check", str(good)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "hunter2" not in ok.stdout + ok.stderr and '"password": "***"' in ok.stdout
    bad = write(tmp_path, MINIMAL.replace("site =", "sit ="))
    failed = subprocess.run(
        [*stetho, "config", "check", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert failed.returncode == 2
    assert str(bad) in failed.stderr and "sit: unknown key" in failed.stderr


def test_duplicate_device_ids_are_named_without_dumping_the_devices(tmp_path: Path) -> None:
    device = MINIMAL[MINIMAL.index("[[devices]]") :]
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MINIMAL + device))
    assert "devices: expected unique device ids, but these repeat: s1" in str(info.value)
    assert "{" not in str(info.value)  # no Python dict in front of the operator
