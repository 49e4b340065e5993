"""`stetho run` when the nurses' page cannot serve: one line naming the `[web]` setting, exit 1.

Before, the page's error came out of the daemon's TaskGroup as an ExceptionGroup traceback
(`except AgentError` never matched a group), and a bind or certificate error was not even an
AgentError. The agent runs as a process, as systemd runs it.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _run_agent(tmp_path: Path, web: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "agent.toml"
    config.write_text(
        f'site = "home-1"\n[broker]\nport = 1\n[storage]\nstate_dir = "state"\n[web]\n{web}',
        encoding="utf-8",
    )
    return subprocess.run(
        [sys.executable, "-m", "stetho_cli", "run", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_a_port_in_use_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run_agent(tmp_path, f"port = {port}\n")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (
        f"error: the nurses' page cannot listen on 127.0.0.1:{port} (web.listen_host, "
        "web.port): error while attempting to bind on address"
    ) in " ".join(done.stderr.split())


@pytest.mark.parametrize("pem", ["not a certificate\n", ""])
def test_a_certificate_that_will_not_load_is_one_line(tmp_path: Path, pem: str) -> None:
    (tmp_path / "page.crt").write_text(pem, encoding="utf-8")
    (tmp_path / "page.key").write_text(pem, encoding="utf-8")
    (tmp_path / "page.key").chmod(0o600)
    done = _run_agent(tmp_path, 'port = 1\ntls_cert_file = "page.crt"\ntls_key_file = "page.key"\n')
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert (
        f"error: web.tls_cert_file/tls_key_file: cannot load {tmp_path / 'page.crt'} with "
        f"{tmp_path / 'page.key'}: "
    ) in " ".join(done.stderr.split())
