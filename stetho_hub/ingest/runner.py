"""From a HubConfig to a running IngestService: open storage, migrate, connect, serve."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from edge_agent.transport.mqtt import MqttSettings
from edge_agent.transport.settings import broker_settings
from stetho_hub import wire
from stetho_hub.config import HubConfig
from stetho_hub.ingest.service import IngestService
from stetho_hub.storage import Archive, AudioStore, open_database

log = logging.getLogger(__name__)


def mqtt_settings(config: HubConfig) -> MqttSettings:
    """The agent's settings builder, then what a store-then-acknowledge subscriber adds."""
    b = config.broker
    settings = broker_settings(
        b, config.client_id, subscriptions=wire.subscription_filters(b.shared_group)
    )
    # The broker keeps our subscriptions and queues while we are away; each message is
    # acknowledged only once stored, and receive_maximum bounds how many wait unacknowledged.
    return dataclasses.replace(settings, manual_ack=True, receive_maximum=b.receive_maximum)


def open_archive(config: HubConfig) -> Archive:
    """Open the database (migrating it to this hub's schema) and the audio store."""
    db = open_database(config.database.target(), migrating=True)
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
