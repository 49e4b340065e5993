"""`stetho demo --serve` keeps the agent, the broker and the hub running, prints the nurses'
page and the doctor's console with their demo sign-ins, and stops cleanly on Ctrl-C or
SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from stetho_testkit.poll import wait_until

ROOT = Path(__file__).resolve().parents[3]
# A stop finishes the analyses already queued (nothing accepted is dropped): 0.5-0.8 s here,
# 3-5 s at a load of 5, and over 20 s once while mutation testing shared the two cores.
STOP_S = 60
pytestmark = pytest.mark.broker


def _lines_until(proc: subprocess.Popen[str], pattern: str, timeout_s: float = 30) -> str:
    seen = ""
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"no {pattern!r} in: {seen}")


def _first_page(opener: urllib.request.OpenerDirector, url: str) -> str:
    """The page is printed before the agent has bound its port: try for a while."""
    errors: list[OSError] = []

    def page() -> str | None:
        try:
            return str(opener.open(url, timeout=10).read().decode())
        except OSError as exc:
            errors.append(exc)
            return None

    return wait_until(page, 20, every_s=0.2, what=url, describe=lambda: errors[-1])


def test_demo_serve_prints_the_page_and_a_sign_in_that_works() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    command = [sys.executable, "-m", "stetho_cli", "demo", "--serve"]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)  # fmt: skip
    try:
        out = _lines_until(proc, r"PIN \d{6}")
        url = re.search(r"(http://127\.0\.0\.1:\d+/)", out)
        pin = re.search(r"PIN (\d{6})", out)
        assert url and pin
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        login = _first_page(opener, url.group(1) + "login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login)
        assert csrf
        form = urllib.parse.urlencode({"staff": "nurse", "secret": pin.group(1),
                                       "csrf": csrf.group(1)}).encode()  # fmt: skip
        page = opener.open(url.group(1) + "login", data=form, timeout=10).read().decode()
        assert "Demo resident 1" in page
        steths = opener.open(url.group(1) + "stethoscopes", timeout=10).read().decode()
        assert "steth-5" in steths and "steth-6" in steths
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rest, _ = proc.communicate(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    assert proc.returncode == 0, rest
    assert "Traceback" not in rest


def _start() -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    command = [sys.executable, "-m", "stetho_cli", "demo", "--serve"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)  # fmt: skip


def test_demo_serve_runs_the_doctors_console_too_and_stops_on_sigterm() -> None:
    proc = _start()
    try:
        out = _lines_until(proc, r"Ctrl-C stops")
        nurse, doctor = re.findall(r"(http://127\.0\.0\.1:\d+/)", out)
        password = re.search(r"as doctor with password (\S+) ", out)
        assert password and "as admin with password" in out
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        assert "csrf" in _first_page(opener, nurse + "login")
        signin = _first_page(opener, doctor + "signin")
        csrf = re.search(r'name="csrf" value="([^"]+)"', signin)
        assert csrf
        form = urllib.parse.urlencode({"username": "doctor", "password": password.group(1),
                                       "csrf": csrf.group(1)}).encode()  # fmt: skip
        opener.open(doctor + "signin", data=form, timeout=10).read()
        homes = opener.open(doctor + "homes", timeout=10).read().decode()
        assert "demo-care-home" in homes
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rest, _ = proc.communicate(timeout=STOP_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            rest, _ = proc.communicate()
    assert proc.returncode == 0, rest
    assert "Traceback" not in rest
