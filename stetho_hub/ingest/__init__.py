"""The hub's ingest layer: the MQTT subscriber that archives, and the receipts it sends."""

from stetho_hub.ingest.receipts import receipt_message
from stetho_hub.ingest.runner import mqtt_settings, run_hub
from stetho_hub.ingest.service import IngestService, IngestStats

__all__ = ["IngestService", "IngestStats", "mqtt_settings", "receipt_message", "run_hub"]
