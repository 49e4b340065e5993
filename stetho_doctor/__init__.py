"""The doctor's tools at the hospital: follow alerts, acknowledge them, listen live.

Never needed on the Pi. `COMMANDS` lists them for the `stetho` root without importing them.
"""

from __future__ import annotations

from typing import Final

from stetho_common.lazy_cli import LazyCommand

__all__ = ["COMMANDS"]

COMMANDS: Final = [
    LazyCommand(
        "alerts",
        "stetho_doctor.cli:alerts",
        "Follow alerts (review or urgent) as a live table or JSON lines.",
    ),
    LazyCommand(
        "ack",
        "stetho_doctor.cli:ack",
        "Acknowledge an alert, and say whether an agent of the care home took it.",
    ),
    LazyCommand(
        "answer",
        "stetho_doctor.exam_cli:answer",
        "Answer a care-home exam; the nurses' page shows it on the exam.",
    ),
    LazyCommand(
        "request",
        "stetho_doctor.exam_cli:request",
        "Ask a care home to record a resident at a site; a nurse accepts it on the page.",
    ),
    LazyCommand(
        "listen",
        "stetho_doctor.cli:listen",
        "Listen to a device live (PyAudio), or write a WAV when there is no sound card.",
    ),
]
