"""The hub's systemd unit: hardening score, verify, its shape, and MemoryDenyWriteExecute.

Its exposure score and `systemd-analyze verify` are checked with the agent's unit's, in
test_systemd_unit.py. tests/deploy/test_confined_hub.py runs the hub itself under the unit's
filter.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.test_systemd_unit import UNITS, _kernel_has_mdwe, unit_settings

REPO = Path(__file__).resolve().parents[2]
UNIT = REPO / "systemd" / "stetho-hub.service"
INSTALLED_STETHO = UNITS[UNIT.name]


def test_unit_has_the_service_shape() -> None:
    s = unit_settings(UNIT.read_text())
    assert s["Type"] == ["notify"]
    assert s["NotifyAccess"] == ["main"]
    assert s["ExecStart"] == [f"{INSTALLED_STETHO} hub run --config /etc/stetho-hub/hub.toml"]
    assert s["Restart"] == ["on-failure"]
    assert "WatchdogSec" in s and "StartLimitBurst" in s and "StartLimitIntervalSec" in s
    assert s["User"] == s["Group"] == ["stetho-hub"]
    assert "SupplementaryGroups" not in s
    assert s["StateDirectory"] == s["ConfigurationDirectory"] == s["LogsDirectory"]
    assert s["StateDirectory"] == ["stetho-hub"]
    assert s["UMask"] == ["0027"]
    assert s["Environment"] == ["MPLCONFIGDIR=/var/cache/stetho-hub"]
    assert s["CacheDirectory"] == ["stetho-hub"]


def test_hardening_is_the_agents_where_it_applies_and_more() -> None:
    """Every hardening setting of the agent's unit, the device and group ones aside (the hub
    opens no device at all), at the same value; and no device access whatsoever."""
    agent = unit_settings((REPO / "systemd" / "stetho-edge.service").read_text())
    hub = unit_settings(UNIT.read_text())
    own = {"PrivateDevices", "DeviceAllow", "SupplementaryGroups"}
    start = list(agent).index("NoNewPrivileges")
    for key in list(agent)[start:]:
        if key not in own and key != "WantedBy":
            assert hub.get(key) == agent[key], key
    assert hub["PrivateDevices"] == ["yes"] and hub["DevicePolicy"] == ["closed"]
    assert "DeviceAllow" not in hub
    assert hub["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]


def test_every_relaxation_is_explained_by_a_comment() -> None:
    lines = UNIT.read_text().splitlines()
    for relaxed in ("RestrictAddressFamilies=", "MemoryDenyWriteExecute=", "Environment="):
        (index,) = [i for i, line in enumerate(lines) if line.startswith(relaxed)]
        comment_above = any(line.startswith("#") for line in lines[max(0, index - 4) : index])
        assert comment_above, f"{relaxed} needs a comment saying why"
    relaxations = [i for i, line in enumerate(lines) if line.startswith("# Relaxation:")]
    assert relaxations, "the address families are the one relaxation; it says so"


def test_the_pis_installer_never_installs_the_hubs_unit() -> None:
    script = (REPO / "scripts" / "install.sh").read_text()
    assert "stetho-hub" not in script
    assert "SERVICE=stetho-edge\n" in script


# Run in a child process: PR_SET_MDWE cannot be undone.
MDWE_PROBE = """
import ctypes, sys, tempfile
from pathlib import Path
import numpy as np
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(77)
from firmware_bridge.flac import encode_flac, flac_mismatch, pcm_sha256
from stetho_hub.console import picture
from stetho_hub.storage import DatabaseTarget, migrate_database
from stetho_signal import analyze
from stetho_sim.synth import synthesize
pcm = synthesize("tachycardia", duration_s=6, sample_rate_hz=4000, seed=2).samples
pcm16 = (np.clip(pcm, -1.0, 1.0) * 32767).astype(np.int16)
flac = encode_flac(pcm16, 4000, {})
assert flac_mismatch(flac, len(flac), pcm_sha256(pcm16)) is None  # the archive's check
analysis = analyze(pcm, 4000, "heart").to_dict()
meta = {"analysis": analysis, "site": "s", "auscultation_site": "mitral"}
assert picture.render(flac, meta, "en")[:4] == b"\\x89PNG"
with tempfile.TemporaryDirectory() as name:
    assert migrate_database(DatabaseTarget("sqlite", str(Path(name) / "hub.db")))
print("ok")
"""


@pytest.mark.skipif(not _kernel_has_mdwe(), reason="kernel older than 6.3: no PR_SET_MDWE")
def test_hub_draws_and_archives_with_memory_deny_write_execute(tmp_path: Path) -> None:
    """The unit sets MemoryDenyWriteExecute=yes: the hub's FLAC check, the console's picture
    (matplotlib) and SQLite must work under the kernel's PR_SET_MDWE, which enforces the same.
    (The confined run in test_confined_hub.py covers the rest of `stetho hub run`.)"""
    pytest.importorskip("matplotlib")
    assert unit_settings(UNIT.read_text())["MemoryDenyWriteExecute"] == ["yes"]
    env = {**os.environ, "MPLCONFIGDIR": str(tmp_path)}
    probe = subprocess.run(
        [sys.executable, "-c", MDWE_PROBE], capture_output=True, text=True, cwd=REPO, env=env
    )
    if probe.returncode == 77:
        pytest.skip("PR_SET_MDWE refused in this environment")
    assert (probe.returncode, probe.stdout) == (0, "ok\n"), probe.stderr


PG_PROBE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(77)
import psycopg
from stetho_hub.storage import DatabaseTarget, migrate_database
assert migrate_database(DatabaseTarget("postgresql", sys.argv[1]))
notices = []
with psycopg.connect(sys.argv[1], autocommit=True) as conn:  # libpq calls back into Python
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    conn.execute("DO $$ BEGIN RAISE NOTICE 'probe'; END $$")
print(psycopg.pq.__impl__, notices)
"""


@pytest.mark.skipif(not _kernel_has_mdwe(), reason="kernel older than 6.3: no PR_SET_MDWE")
def test_hub_talks_to_postgresql_with_memory_deny_write_execute() -> None:
    """psycopg drives libpq through ctypes (or its C extension), with callbacks from libpq for
    notices: under PR_SET_MDWE it migrates a real PostgreSQL and receives a notice."""
    from stetho_testkit.postgres import PostgresServer, PostgresUnavailable

    try:
        server = PostgresServer()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))
    try:
        try:
            server.start()
        except PostgresUnavailable as exc:
            pytest.skip(str(exc))
        url = server.create_database("mdwe")
        probe = subprocess.run(
            [sys.executable, "-c", PG_PROBE, url], capture_output=True, text=True, cwd=REPO
        )
    finally:
        server.destroy()
    if probe.returncode == 77:
        pytest.skip("PR_SET_MDWE refused in this environment")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split(" ", 1)[1] == "['probe']\n"
