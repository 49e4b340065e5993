"""From a HubConfig to a running IngestService: open storage, migrate, connect, serve."""

from __future__ import annotations

import asyncio
import logging

from edge_agent.transport.mqtt import MqttSettings
from stetho_hub import wire
from stetho_hub.config import HubConfig
from stetho_hub.ingest.service import IngestService
from stetho_hub.storage import Archive, AudioStore, migrate, open_database

log = logging.getLogger(__name__)


def mqtt_settings(config: HubConfig) -> MqttSettings:
    b = config.broker
    return MqttSettings(
        host=b.host,
        port=b.port,
        client_id=config.client_id,
        keepalive_s=b.keepalive_s,
        session_expiry_s=b.session_expiry_s,
        clean_start=False,  # the broker keeps our subscriptions and queues while we are away
        tls=b.tls,
        ca_file=str(b.ca_file) if b.ca_file else None,
        cert_file=str(b.cert_file) if b.cert_file else None,
        key_file=str(b.key_file) if b.key_file else None,
        username=b.username,
        password=config.mqtt_password(),
        subscriptions=wire.subscription_filters(b.shared_group),
        max_inflight=b.max_inflight,
        manual_ack=True,
        receive_maximum=b.receive_maximum,
    )


def open_archive(config: HubConfig) -> Archive:
    """Open the database (migrating it to this hub's schema) and the audio store."""
    db = open_database(config.database.target())
    applied = migrate(db)
    if applied:
        log.info("event=database_migrated versions=%s", ",".join(map(str, applied)))
    return Archive(db, AudioStore(config.archive.audio_dir))


async def run_hub(config: HubConfig) -> None:
    """Run until cancelled (SIGTERM): the commit in progress completes, the rest is re-sent."""
    archive = await asyncio.to_thread(open_archive, config)
    log.info(
        "event=hub_starting hub=%s database=%s audio_dir=%s shared_group=%s",
        config.hub_id, config.database.target().describe(), config.archive.audio_dir,
        config.broker.shared_group or "-",
    )  # fmt: skip
    service = IngestService(mqtt_settings(config), archive, config.hub_id)
    try:
        await service.run()
    finally:
        archive.db.close()
