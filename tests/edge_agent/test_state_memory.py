"""The agent's live state must not keep the audio of recent recordings (issue 18 soak)."""

from __future__ import annotations

from edge_agent.pipeline.recordings import ProcessedRecording
from edge_agent.runtime.state import AgentState
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages


def _processed(i: int) -> ProcessedRecording:
    audio = OutboundMessage(topic="stetho/v1/s/d/recordings/audio", payload=bytes(100_000))
    recording = messages.RecordingMessage.model_construct(device=f"steth-{i}", partial=False)
    return ProcessedRecording(recording, [audio], "routine")


def test_state_keeps_recent_recordings_without_their_audio() -> None:
    state = AgentState()
    for i in range(60):
        state.keep(_processed(i))
    assert len(state.recordings) == 50  # bounded, the latest kept
    assert state.recordings[-1].recording.device == "steth-59"
    kept = sum(len(m.payload) for r in state.recordings for m in r.outbound)
    assert kept == 0  # the FLAC lives in the outbox; 50 x 100 KiB here grew RSS in the soak
