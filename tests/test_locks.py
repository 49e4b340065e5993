"""The hashed locks agree: the hub's lock is the dev lock's pins for what the hub runs, no more.

The hospital installed from requirements-dev.lock once, test tools included; requirements-hub.lock
replaced it, and a pin or a hash that drifted from the dev lock's would be a version no test ran.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")
HASH = re.compile(r"--hash=(sha256:[0-9a-f]{64})")


def pins(lock: str) -> dict[str, tuple[str, frozenset[str]]]:
    """Each package of a pip-compile lock: its version and its hashes."""
    found: dict[str, tuple[str, frozenset[str]]] = {}
    name = ""
    for line in (ROOT / lock).read_text(encoding="utf-8").splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match[1])
            found[name] = (match[2], frozenset())
        elif hashed := HASH.search(line):
            version, hashes = found[name]
            found[name] = (version, hashes | {hashed[1]})
    return found


def _names(requirements: list[str]) -> set[str]:
    """The names of the requirements that apply on this interpreter (markers evaluated)."""
    parsed = [Requirement(text) for text in requirements]
    return {canonicalize_name(r.name) for r in parsed if r.marker is None or r.marker.evaluate()}


PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
HUB = pins("requirements-hub.lock")
DEV = pins("requirements-dev.lock")


def test_every_pin_is_hashed() -> None:
    for lock in (HUB, DEV):
        assert all(hashes for _, hashes in lock.values())


def test_the_hub_lock_pins_what_the_dev_lock_pins_with_the_same_hashes() -> None:
    assert set(HUB) <= set(DEV), "the hub lock has packages no test environment had"
    moved = {name: (HUB[name], DEV[name]) for name in HUB if HUB[name] != DEV[name]}
    assert moved == {}


def test_the_hub_lock_holds_the_hub_and_no_test_tool() -> None:
    extras = PROJECT["optional-dependencies"]
    needed = _names(PROJECT["dependencies"] + extras["hub"] + extras["plot"])
    assert needed - set(HUB) == set()
    tools = _names(extras["dev"]) | {"pluggy", "iniconfig", "coverage", "libcst"}
    assert {"pytest", "mutmut", "ruff", "mypy", "selenium"} <= tools
    assert tools & set(HUB) == set()


def test_the_hospital_installs_the_hub_lock() -> None:
    guide = (ROOT / "docs" / "hospital.md").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements-hub.lock" in guide
    assert "-r requirements-dev.lock" not in guide
