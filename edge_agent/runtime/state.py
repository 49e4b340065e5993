"""The running agent's live counters: what `stetho demo`, status.json and the page read."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace

from edge_agent.pipeline.recordings import ProcessedRecording
from edge_agent.pipeline.stats import DeviceStats
from edge_agent.runtime.commands import InboundStats

__all__ = ["AgentState", "DeviceStats"]


@dataclass
class AgentState:
    """Live counters, read by `stetho demo` and the status reporter."""

    devices: dict[str, DeviceStats] = field(default_factory=dict)
    # The latest few only: a daemon that runs for months must not keep every recording.
    recordings: deque[ProcessedRecording] = field(default_factory=lambda: deque(maxlen=50))
    outbox_alarm: str | None = None
    outbox_check: dict[str, object] | None = None  # what the start-up check found, if not sound
    inbound: InboundStats = field(default_factory=InboundStats)  # acks: who acknowledged what
    live_devices: list[str] = field(default_factory=list)
    # device -> why its captures are refused before they start (the broker could not take them)
    capture_alarms: dict[str, str] = field(default_factory=dict)

    def keep(self, recording: ProcessedRecording) -> None:
        """Remember a stored recording, without its publishes: the FLAC is in the outbox, and
        50 copies of it here (~100 KiB each) were the top growth in the soak (issue 18)."""
        self.recordings.append(replace(recording, outbound=[]))

    @property
    def acknowledgements(self) -> list[dict[str, object]]:
        """Who acknowledged which alert, oldest first (no resident reference)."""
        return [
            {
                "alert_id": a.alert_id,
                "by": a.by,
                "note_chars": a.note_chars,
                "at": a.at.isoformat(),
                "disposition": a.disposition,
            }
            for a in self.inbound.acknowledged.values()
        ]

    @property
    def last_alerts(self) -> list[dict[str, object]]:
        acked = self.inbound.acknowledged
        return [
            {
                "alert_id": r.alert_id,
                "recording_id": str(r.recording.recording_id),
                "device": r.recording.device,
                "level": r.level,
                "recorded_at": r.recording.started_at.isoformat(),
                "acknowledged_by": acked[r.alert_id].by if r.alert_id in acked else None,
            }
            for r in self.recordings
            if r.alert_id is not None
        ]
