"""The systemd unit: hardening score, verify, and the settings issue 6 requires.

`systemd-analyze verify` checks that ExecStart= points at an executable, and
/opt/stetho-edge/venv/bin/stetho only exists once installed. The test verifies a copy
whose ExecStart path is replaced by a stand-in script, and nothing else.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "stetho-edge.service"
INSTALLED_STETHO = "/opt/stetho-edge/venv/bin/stetho"
MAX_EXPOSURE = 1.5

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def unit_settings(text: str) -> dict[str, list[str]]:
    """Every Key=value of the unit (a key may repeat), sections merged; comments dropped."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key, []).append(value)
    return settings


def exposure(unit: Path) -> float:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert found, result.stdout + result.stderr
    return float(found.group(1))


# Each unit and where its ExecStart points once installed (the hub's: test_hub_unit.py).
UNITS = {
    "stetho-edge.service": INSTALLED_STETHO,
    "stetho-hub.service": "/opt/stetho-hub/venv/bin/stetho",
}


@needs_analyze
@pytest.mark.parametrize("name", sorted(UNITS))
def test_exposure_score_is_at_most_1_5(name: str) -> None:
    unit = REPO / "systemd" / name
    assert exposure(unit) <= MAX_EXPOSURE
    # The same gate, as systemd computes it (exposure x 10, without rounding for display).
    gate = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=15", str(unit)],
        capture_output=True,
        check=False,
    )
    assert gate.returncode == 0


@needs_analyze
@pytest.mark.parametrize("name", sorted(UNITS))
def test_verify_is_clean(tmp_path: Path, name: str) -> None:
    unit, installed = REPO / "systemd" / name, UNITS[name]
    stand_in = tmp_path / "stetho"
    stand_in.write_text("#!/bin/sh\nexit 0\n")
    stand_in.chmod(0o755)
    text = unit.read_text()
    assert text.count(f"ExecStart={installed} ") == 1
    copy = tmp_path / unit.name
    copy.write_text(text.replace(f"ExecStart={installed} ", f"ExecStart={stand_in} "))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_unit_has_the_service_shape_issue_6_requires() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["Type"] == ["notify"]
    assert s["ExecStart"] == [f"{INSTALLED_STETHO} run --config /etc/stetho-edge/config.toml"]
    assert s["Restart"] == ["on-failure"]
    assert "WatchdogSec" in s and "StartLimitBurst" in s and "StartLimitIntervalSec" in s
    assert s["User"] == ["stetho"]
    assert set(s["SupplementaryGroups"][0].split()) == {"bluetooth", "audio"}
    assert s["StateDirectory"] == s["ConfigurationDirectory"] == s["LogsDirectory"]
    assert s["StateDirectory"] == ["stetho-edge"]
    assert s["NotifyAccess"] == ["main"]


def test_every_relaxation_is_explained_by_a_comment() -> None:
    lines = UNIT.read_text().splitlines()
    for relaxed in (
        "PrivateDevices=no",
        "DeviceAllow=",
        "RestrictAddressFamilies=",
    ):
        (index,) = [i for i, line in enumerate(lines) if line.startswith(relaxed)]
        comment_above = any(line.startswith("#") for line in lines[max(0, index - 4) : index])
        assert comment_above, f"{relaxed} needs a comment saying why"


# Run in a child process: PR_SET_MDWE cannot be undone.
MDWE_PROBE = """
import ctypes, io, sys
import numpy as np
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(77)
from firmware_bridge.flac import decode_flac, encode_flac
flac = encode_flac(np.zeros(400, dtype=np.int16), 4000, {"title": "probe"})
assert flac[:4] == b"fLaC"
assert decode_flac(flac)[0].size == 400  # the salvage check decodes what it kept
if "--bytesio" in sys.argv:
    import soundfile
    soundfile.write(io.BytesIO(), np.zeros(400, dtype=np.int16), 4000, format="FLAC")
"""


def _kernel_has_mdwe() -> bool:
    libc = ctypes.CDLL(None, use_errno=True)
    PR_GET_MDWE = 66
    return bool(libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) >= 0)


@pytest.mark.skipif(not _kernel_has_mdwe(), reason="kernel older than 6.3: no PR_SET_MDWE")
def test_agent_flac_encoder_works_with_memory_deny_write_execute() -> None:
    """The unit sets MemoryDenyWriteExecute=yes; the kernel's PR_SET_MDWE enforces the same.

    The agent's encoder and decoder must work under it, while libsndfile's virtual I/O (a BytesIO),
    whose cffi callbacks need writable+executable memory, is refused: proof the probe bites.
    """
    assert unit_settings(UNIT.read_text())["MemoryDenyWriteExecute"] == ["yes"]
    probe = subprocess.run([sys.executable, "-c", MDWE_PROBE], capture_output=True, text=True)
    if probe.returncode == 77:
        pytest.skip("PR_SET_MDWE refused in this environment")
    assert probe.returncode == 0, probe.stderr
    bytesio = subprocess.run(
        [sys.executable, "-c", MDWE_PROBE, "--bytesio"], capture_output=True, text=True
    )
    assert bytesio.returncode != 0 and "write+execute memory" in bytesio.stderr


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None or shutil.which("unshare") is None,
    reason="needs root, setpriv and unshare",
)
def test_private_users_keeps_access_granted_by_supplementary_groups() -> None:
    """PrivateUsers=yes maps only the service's own user; /dev/snd's `audio` group then
    shows as nogroup inside, yet the kernel still grants access by the real group id."""
    if unit_settings(UNIT.read_text()).get("PrivateUsers") != ["yes"]:
        pytest.skip("the unit does not use PrivateUsers=")
    # pytest's tmp_path sits under a 0700 directory the unprivileged uid cannot enter.
    with tempfile.TemporaryDirectory(prefix="pu", dir="/tmp") as name:
        Path(name).chmod(0o755)
        member, stranger = _read_as_service_in_user_namespace(Path(name) / "pcmC0D0c")
    if "unshare failed" in member.stderr:
        pytest.skip(f"user namespaces unavailable here: {member.stderr.strip()}")
    assert (member.returncode, member.stdout) == (0, "pcm")
    assert stranger.returncode != 0


def _read_as_service_in_user_namespace(
    device: Path,
) -> tuple[subprocess.CompletedProcess[str], subprocess.CompletedProcess[str]]:
    """Read a root:audio 0660 file (like /dev/snd/pcmC0D0c) with and without group audio."""
    device.write_text("pcm")
    os.chown(device, 0, 29)  # 29 is Debian's audio group; any group id would do
    device.chmod(0o660)
    as_service = ["setpriv", "--reuid", "64999", "--regid", "64999"]
    in_namespace = ["unshare", "--user", "--map-current-user", "cat", str(device)]
    member = subprocess.run(
        [*as_service, "--groups", "29", *in_namespace], capture_output=True, text=True
    )
    stranger = subprocess.run(
        [*as_service, "--clear-groups", *in_namespace], capture_output=True, text=True
    )
    return member, stranger
