"""Is a recording salvaged from a damaged outbox still whole? (issue 18)

Random bytes on a page inside a FLAC's overflow chain leave a row SQLite reads without complaint.
The recording's metadata carries the SHA-256 of its decoded PCM, so a salvaged recording is
delivered only if its audio decodes to exactly that; otherwise it stays in the damaged file, and
the count of such recordings goes into the alarm.
"""

from __future__ import annotations

import json

import soundfile as sf

from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages
from firmware_bridge.flac import decode_flac, pcm_sha256

__all__ = ["check_salvaged_recording"]


def check_salvaged_recording(parts: list[OutboundMessage]) -> str | None:
    """None if every JSON part parses and the audio matches its metadata; else what is wrong."""
    metadata: dict[str, object] | None = None
    audio: bytes | None = None
    for part in parts:
        if part.content_type == messages.JSON_CONTENT_TYPE:
            try:
                document = json.loads(part.payload)
            except ValueError:
                return f"unreadable JSON on {part.topic}"
            if part.topic.endswith("/recordings") and isinstance(document, dict):
                metadata = document
        elif part.topic.endswith("/recordings/audio"):
            audio = part.payload
    if metadata is None or audio is None:
        return "metadata or audio missing"
    try:
        pcm, rate = decode_flac(audio)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        return f"audio does not decode: {exc}"
    described = metadata.get("audio")
    expected = described.get("pcm_sha256") if isinstance(described, dict) else None
    if rate != metadata.get("sample_rate_hz") or len(pcm) != metadata.get("n_samples"):
        return "audio length or rate differs from its metadata"
    if pcm_sha256(pcm) != expected:
        return "audio differs from its metadata's pcm_sha256"
    return None
