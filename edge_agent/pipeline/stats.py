"""One stethoscope's live counters, kept by its pipeline and read by status and the page."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeviceStats"]


@dataclass
class DeviceStats:
    recordings: int = 0
    refused: int = 0
    last_recording_at: float | None = None
    last_level: str | None = None
    connected: bool = False
    battery_percent: int | None = None
    held: bool = False  # the source connected during the current attempt
    # Why the agent gave the device up for good (a file device's recording it cannot play);
    # status.json, `stetho status` and the nurses' page show it.
    given_up: str | None = None
