"""The hub starts without what it does not use, and says a missing extra only when asked.

`stetho hub run` loaded the FHIR stack (fhir.resources, httpx, NumPy's analysis) to validate one
config key, and the console's (aiohttp, SciPy, the radio stack) with the console off: about
half of each start, which systemd restarts and the SIGKILL fault tests pay again and again.
Now the FHIR stack loads when the export is on and the console's when the console is; SciPy
and the radio stack load with neither (docs/hospital.md, "Start-up").
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stetho_testkit.poll import wait_until
from stetho_testkit.server_process import free_ports

NEVER = ("fhir", "fhir_core", "httpx", "scipy", "bleak", "dbus_fast", "matplotlib")
CONSOLE = ("aiohttp", "jinja2", "stetho_hub.console")
FHIR_ON = """[fhir]
base_url = "https://fhir.hospital.example"
resident_system = "urn:resident"
agent_system = "urn:agent"
provenance_tag_system = "urn:tag"
"""
# `stetho` as installed, with fhir.resources absent as on a machine without the `hub` extra.
WITHOUT_FHIR = (
    "import sys; sys.modules['fhir.resources'] = None; sys.argv[0] = 'stetho'; "
    "from stetho_cli import main; main()"
)


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'[broker]\nport = 1\n[database]\nsqlite = "hub.db"\n{extra}', "utf-8")
    return path


def _modules_at_start(config: Path, log: Path) -> set[str]:
    """Every module `python -m stetho_hub run` imported until it began to reach the broker."""
    with log.open("wb") as out:
        hub = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "stetho_hub", "run", "--config", config],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: "event=hub_starting" in log.read_text("utf-8", errors="replace"),
            60,
            what="the hub to start",
            describe=lambda: log.read_text("utf-8", errors="replace")[-3000:],
            alive=lambda: hub.poll() is None,
        )
    finally:
        hub.send_signal(signal.SIGTERM)
        hub.wait(timeout=30)
    lines = log.read_text("utf-8", errors="replace").splitlines()
    return {line.rsplit("|", 1)[1].strip() for line in lines if line.startswith("import time:")}


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("console", [False, True], ids=["console-off", "console-on"])
def test_a_start_loads_no_fhir_scipy_or_radio_stack(tmp_path: Path, console: bool) -> None:
    (port,) = free_ports(1)
    extra = f"[console]\nenabled = true\nport = {port}\n" if console else ""
    modules = _modules_at_start(_config(tmp_path, extra), tmp_path / "hub.log")
    assert "stetho_hub.ingest.service" in modules  # the probe saw the start itself
    assert _loaded(modules, NEVER) == []
    assert bool(_loaded(modules, CONSOLE)) is console


def _stetho(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_FHIR, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"STETHO_FHIR_TOKEN": "t", "PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)},
    )


MISSING = "stetho_hub.fhir needs the 'hub' extra (fhir.resources"


def test_without_fhir_resources_the_hub_works_until_fhir_is_asked_for(tmp_path: Path) -> None:
    plain = _config(tmp_path)
    assert _stetho("hub", "migrate", "--config", plain).returncode == 0
    exporting = _config(tmp_path, FHIR_ON)
    status = _stetho("hub", "status", "--config", exporting, "--json")
    assert status.returncode == 0, status.stderr  # the queue's counts need no FHIR model
    for args, said in [
        (("hub", "run", "--config", exporting), f"error: {MISSING}"),
        (("hub", "fhir", "exam-1", "--config", exporting), f"error: {MISSING}"),
        (("fhir", "build", tmp_path / "x.json"), f"error: `stetho fhir` cannot start: {MISSING}"),
    ]:
        done = _stetho(*args)
        assert done.returncode == 1, (args, done.stderr)
        line = " ".join(done.stderr.split())
        assert line.startswith(said) and line.endswith(
            " is missing): pip install 'stetho-edge[hub]'"
        )
        assert "Traceback" not in done.stderr + done.stdout
        assert "event=hub_starting" not in done.stdout


def test_every_fhir_name_loads_and_a_wrong_one_is_refused() -> None:
    import stetho_hub.fhir

    for name in stetho_hub.fhir.__all__:
        assert getattr(stetho_hub.fhir, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        stetho_hub.fhir.no_such_name  # noqa: B018
