"""Receipts: the hub tells a care home that a recording is archived (docs/mqtt.md §2)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from edge_agent.storage.outbox import OutboundMessage
from edge_agent.wire import messages, topics
from stetho_hub.storage import ArchivedRecording


def receipt_message(archived: ArchivedRecording, hub_id: str) -> OutboundMessage:
    """The QoS 1 receipt for `archived`: no expiry (the agent may be offline for days and
    keeps the recording until it arrives), not retained (one per recording)."""
    receipt = messages.ReceiptMessage(
        recording_id=UUID(archived.recording_id),
        site=archived.site,
        device=archived.device,
        audio_sha256=archived.audio_sha256,
        pcm_sha256=archived.pcm_sha256,
        size_bytes=archived.size_bytes,
        archived_at=datetime.fromisoformat(archived.archived_at),
        hub=hub_id,
    )
    props = (
        ("schema_version", str(messages.SCHEMA_VERSION)),
        ("recording_id", archived.recording_id),
    )
    return OutboundMessage(
        topics.receipts(archived.site),
        messages.to_json(receipt),
        qos=1,
        retain=False,
        content_type=messages.JSON_CONTENT_TYPE,
        expiry_s=None,
        user_properties=props,
        recording_id=archived.recording_id,
    )
