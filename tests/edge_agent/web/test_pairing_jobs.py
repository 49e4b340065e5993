"""The page's pairing jobs without a web server: one at a time, a passkey kept off the log,
failures classified by type and reason, the job's own deadline, cancel."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from edge_agent.storage.registry import RegisteredDevice
from edge_agent.web.errors import PairingError
from edge_agent.web.i18n import refused
from edge_agent.web.pairing import Failure, Pairings, Phase, failure_of
from firmware_bridge.bluez_agent import Prompt, PromptKind
from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    BridgeError,
    DeviceNotFoundError,
    LinkLostError,
    PairingRejectedError,
)

ADDRESS = "5E:7A:00:00:01:01"


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        (PairingRejectedError("x", PairingRejectedError.TIMEOUT), Failure.TIMEOUT),
        (PairingRejectedError("x"), Failure.REJECTED),
        (PairingRejectedError("x", PairingRejectedError.CANCELLED), Failure.REJECTED),
        (TimeoutError(), Failure.TIMEOUT),
        (DeviceNotFoundError("x"), Failure.OUT_OF_RANGE),
        (LinkLostError("x"), Failure.OUT_OF_RANGE),
        (AdapterUnavailableError(AdapterUnavailableError.POWERED_OFF, "x"), Failure.RADIO_OFF),
        (BluetoothPermissionError("x"), Failure.RADIO_REFUSED),
        (BridgeError("x"), Failure.OTHER),
    ],
)
def test_failures_are_classified_by_type_and_reason(error: Exception, failure: Failure) -> None:
    assert failure_of(error) is failure


class Audit:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def __call__(self, staff: str, action: str, subject: str) -> None:
        self.rows.append((staff, action, subject))


def _device() -> RegisteredDevice:
    return RegisteredDevice(id="steth-x", address=ADDRESS, name="X", location="",
                            bonded_at=0.0, last_seen=0.0, battery_percent=None)  # fmt: skip


def test_one_at_a_time_passkey_shown_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    typed = asyncio.Event()

    async def pair(address: str, location: str, show: Callable[[Prompt], None]) -> RegisteredDevice:
        show(Prompt(PromptKind.PASSKEY, "042517"))
        await typed.wait()
        return _device()

    async def main() -> None:
        audit = Audit()
        pairings = Pairings(pair, audit)
        job = await pairings.start(ADDRESS, "B", "nurse-a", "Marie")
        await asyncio.sleep(0)
        assert job.phase is Phase.PASSKEY and job.passkey == "042517"
        # The code's English names her by id only (it may reach a log); the page by name.
        with pytest.raises(PairingError, match=r"^nurse-a is pairing 5E:7A") as busy:
            await pairings.start("5E:7A:00:00:01:02", "", "nurse-b", "Paul")
        french = refused(busy.value.words, busy.value.values, str(busy.value), "fr")
        assert (
            french == f"Marie associe déjà {ADDRESS} : attendez la fin, ou annulez-la sur sa page."
        )
        typed.set()
        assert job.task is not None
        await job.task
        assert job.phase is Phase.PAIRED and job.device == "steth-x" and job.passkey is None
        assert pairings.running() is None and pairings.get(job.id) is job
        assert audit.rows == [("nurse-a", "pair-stethoscope-start", ADDRESS),
                              ("nurse-a", "pair-stethoscope", "steth-x")]  # fmt: skip

    asyncio.run(main())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "event=pairing_passkey_shown" in logged and "042517" not in logged


def test_the_job_deadline_and_cancel() -> None:
    async def hangs(
        address: str, location: str, show: Callable[[Prompt], None]
    ) -> RegisteredDevice:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def main() -> None:
        audit = Audit()
        pairings = Pairings(hangs, audit, timeout_s=0.05)
        job = await pairings.start(ADDRESS, "", "nurse-a", "Marie")
        assert job.task is not None
        await job.task
        assert job.phase is Phase.FAILED and job.failure is Failure.TIMEOUT
        assert audit.rows[-1] == ("nurse-a", "pair-stethoscope-failed", f"{ADDRESS} timeout")
        slow = Pairings(hangs, audit)
        job = await slow.start(ADDRESS, "", "nurse-a", "Marie")
        await slow.cancel(job.id, "nurse-b")
        assert job.phase is Phase.CANCELLED and slow.running() is None
        assert audit.rows[-1] == ("nurse-b", "pair-stethoscope-cancel", ADDRESS)
        with pytest.raises(PairingError, match="not known") as unknown:
            slow.get("nope")
        assert unknown.value.words == "pairing_unknown"

    asyncio.run(main())
