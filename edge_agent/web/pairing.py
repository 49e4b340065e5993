"""Pairing from the page as a background task: one at a time per agent, watched on a page.

A nurse's POST starts a `PairingJob` and goes to its status page; the job runs the same code as
`stetho pair` (WebContext.pair) in a task of its own, so a stethoscope that takes 20 s to have
its passkey typed holds no request open. The passkey BlueZ asks our agent to display is kept on
the job, shown only to the nurse who started it, and never logged: it guards the pairing against
a listener in radio range until the pairing ends.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from edge_agent.errors import AgentError
from edge_agent.storage.registry import RegisteredDevice
from edge_agent.web.errors import PairingError
from firmware_bridge import BridgeError
from firmware_bridge.bluez_agent import Prompt, PromptKind
from firmware_bridge.errors import (
    AdapterUnavailableError,
    BluetoothPermissionError,
    DeviceNotFoundError,
    LinkLostError,
    PairingRejectedError,
)
from stetho_common.waits import stopped

__all__ = ["JOB_TIMEOUT_S", "Failure", "PairingJob", "Pairings", "Phase", "failure_of"]

log = logging.getLogger(__name__)
# Connecting (pairing.pair allows 20 s), the passkey typed (BlueZ's SMP timeout, 30 s), the
# identity read and the agent starting the stethoscope (REGISTRY_POLL_S, 5 s), with room to spare.
JOB_TIMEOUT_S = 90.0
KEEP_JOBS = 16  # finished jobs whose page still answers (a nurse reloading it)

PairFn = Callable[[str, str, Callable[[Prompt], None]], Awaitable[RegisteredDevice]]
AuditFn = Callable[[str, str, str], None]


class Phase(enum.Enum):
    CONNECTING = "connecting"
    PASSKEY = "passkey"  # BlueZ asked us to display a passkey: the nurse types it
    PAIRED = "paired"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Failure(enum.Enum):
    """Why pairing failed, in terms of what the nurse does next (the page's words)."""

    TIMEOUT = "timeout"  # nobody typed the passkey in time: try again, type it sooner
    REJECTED = "rejected"  # wrong passkey, or the stethoscope refused: try again
    OUT_OF_RANGE = "out_of_range"  # not found or the link dropped: bring it closer, switch on
    RADIO_OFF = "radio_off"  # the Pi's Bluetooth is off or missing: call the technician
    RADIO_REFUSED = "radio_refused"  # BlueZ refused us (policy): call the technician
    OTHER = "other"


def failure_of(exc: BaseException) -> Failure:
    """Classify on the error's type and reason, never its text."""
    if isinstance(exc, PairingRejectedError):
        timeout = exc.reason == PairingRejectedError.TIMEOUT
        return Failure.TIMEOUT if timeout else Failure.REJECTED
    if isinstance(exc, TimeoutError):
        return Failure.TIMEOUT
    if isinstance(exc, DeviceNotFoundError | LinkLostError):
        return Failure.OUT_OF_RANGE
    if isinstance(exc, AdapterUnavailableError):
        return Failure.RADIO_OFF
    if isinstance(exc, BluetoothPermissionError):
        return Failure.RADIO_REFUSED
    return Failure.OTHER


@dataclass
class PairingJob:
    """One pairing, as its status page shows it."""

    address: str
    location: str
    staff: str  # who started it (staff id)
    staff_name: str
    id: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    started_at: float = field(default_factory=time.time)
    phase: Phase = Phase.CONNECTING
    passkey: str | None = None  # secret until the pairing ends
    device: str | None = None
    failure: Failure | None = None
    detail: str = ""  # the error in English, small print for a technician
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def finished(self) -> bool:
        return self.phase in (Phase.PAIRED, Phase.FAILED, Phase.CANCELLED)

    @property
    def version(self) -> str:
        """Changes whenever what the page shows changes (the page's script reloads then)."""
        return f"{self.phase.value}-{self.passkey is not None}"

    def show(self, prompt: Prompt) -> None:
        """What BlueZ asks our agent to show; a passkey is logged as shown, never in clear."""
        if prompt.kind is PromptKind.CANCELLED:
            log.info("event=pairing_prompt_cancelled address=%s", self.address)
            return
        self.passkey = prompt.code
        self.phase = Phase.PASSKEY
        log.info("event=pairing_passkey_shown address=%s kind=%s", self.address, prompt.kind.value)


class Pairings:
    """The agent's pairings: at most one running; the recent ones kept for their pages."""

    def __init__(self, pair: PairFn, audit: AuditFn, timeout_s: float | None = None) -> None:
        self._pair = pair
        self._audit = audit
        self._timeout_s = timeout_s
        self._jobs: dict[str, PairingJob] = {}

    def running(self) -> PairingJob | None:
        return next((j for j in self._jobs.values() if not j.finished), None)

    def get(self, job_id: str) -> PairingJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise PairingError(
                "this pairing is not known here (the agent restarted?): pair again",
                "pairing_unknown",
            )
        return job

    async def start(self, address: str, location: str, staff: str, name: str) -> PairingJob:
        """Start pairing `address` in the background; PairingError if one is running."""
        busy = self.running()
        if busy is not None:
            raise PairingError(
                # The staff id, not the name: the code's English may reach a log; the page
                # names her (`who`).
                f"{busy.staff} is pairing {busy.address}: "
                "wait until it ends, or cancel it on its page",
                "pairing_busy",
                who=busy.staff_name,
                address=busy.address,
            )
        job = PairingJob(address, location, staff, name)
        self._jobs[job.id] = job
        for old in list(self._jobs)[:-KEEP_JOBS]:
            del self._jobs[old]
        await asyncio.to_thread(self._audit, staff, "pair-stethoscope-start", address)
        log.info("event=pairing_started address=%s staff=%s", address, staff)
        job.task = asyncio.create_task(self._run(job), name=f"pairing-{address}")
        return job

    async def cancel(self, job_id: str, staff: str) -> PairingJob:
        job = self.get(job_id)
        if job.finished or job.task is None:
            return job
        await _cancelled(job)
        await asyncio.to_thread(self._audit, staff, "pair-stethoscope-cancel", job.address)
        return job

    async def close(self) -> None:
        """Cancel a running pairing (the agent is stopping)."""
        job = self.running()
        if job is not None:
            await _cancelled(job)

    async def _run(self, job: PairingJob) -> None:
        try:
            async with asyncio.timeout(self._timeout_s or JOB_TIMEOUT_S):
                device = await self._pair(job.address, job.location, job.show)
        except (BridgeError, AgentError, TimeoutError) as exc:
            await self._failed(job, exc)
            return
        job.phase, job.passkey, job.device = Phase.PAIRED, None, device.id
        await asyncio.to_thread(self._audit, job.staff, "pair-stethoscope", device.id)

    async def _failed(self, job: PairingJob, exc: BaseException) -> None:
        job.phase, job.passkey, job.failure = Phase.FAILED, None, failure_of(exc)
        job.detail = str(exc) or type(exc).__name__
        log.info(
            "event=pairing_failed address=%s reason=%s error=%s",
            job.address, job.failure.value, type(exc).__name__,
        )  # fmt: skip
        subject = f"{job.address} {job.failure.value}"
        await asyncio.to_thread(self._audit, job.staff, "pair-stethoscope-failed", subject)


async def _cancelled(job: PairingJob) -> None:
    """Cancel the job's task and wait for it: BlueZ's side ends with the link (bleak's
    disconnect in pairing.pair's `finally`), so nothing is left half-bonded."""
    if job.task is not None:
        await stopped(job.task)
    if not job.finished:  # a task cancelled before it ran never saw the CancelledError
        job.phase, job.passkey = Phase.CANCELLED, None
        log.info("event=pairing_cancelled address=%s", job.address)
