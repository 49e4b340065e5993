"""MQTT 3.1.1 carries no properties: what the v5 user property `recording_id` said, read from
the payload instead (docs/mqtt.md, "MQTT 3.1.1 mode").

Sans-I/O. The FLAC names its recording in the Vorbis comment `COMMENT=recording_id=<uuid>`
that the agent has always written; the JSON messages (recording, triage, alert) hold a
`recording_id` field. The content type follows from the topic (§1) and the expiry from the
payload's own time (`at`, `captured_at`), so neither needs a new field.
"""

from __future__ import annotations

import json
import uuid

from firmware_bridge.errors import MalformedFrameError
from firmware_bridge.flac_tags import read_vorbis_comments

__all__ = ["recording_id_in"]

MAX_JSON_BYTES = 1024 * 1024  # the hub's cap too: never parse more to find an id
_JSON_LEAVES = ("/recordings", "/triage", "/alerts")


def recording_id_in(topic: str, payload: bytes) -> str | None:
    """The recording a message belongs to, from its payload; None when it names none (or
    names it badly: not a UUID, an unreadable FLAC header, JSON that is not an object)."""
    if topic.endswith("/recordings/audio"):
        try:
            comment = read_vorbis_comments(payload).get("COMMENT", "")
        except MalformedFrameError:
            return None
        key, _, value = comment.partition("=")
        return _uuid(value) if key == "recording_id" else None
    if topic.endswith(_JSON_LEAVES) and len(payload) <= MAX_JSON_BYTES:
        try:
            data = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            return None
        found = data.get("recording_id") if isinstance(data, dict) else None
        return _uuid(found) if isinstance(found, str) else None
    return None


def _uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None
