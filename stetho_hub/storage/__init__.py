"""The hub's storage layer: database (SQLite or PostgreSQL), migrations, audio files, archive."""

from stetho_hub.storage.archive import Archive, ArchivedRecording, StoreOutcome, iso
from stetho_hub.storage.audio_store import AudioStore, sha256_hex
from stetho_hub.storage.database import Database, DatabaseTarget
from stetho_hub.storage.migrations import (
    LATEST,
    check_version,
    current_version,
    migrate,
    migrate_database,
    open_database,
)
from stetho_hub.storage.outage import STORAGE_MAX_DELAY_S, StorageOutage, storage_delay
from stetho_hub.storage.summary import summary

__all__ = [
    "LATEST",
    "STORAGE_MAX_DELAY_S",
    "Archive",
    "ArchivedRecording",
    "AudioStore",
    "Database",
    "DatabaseTarget",
    "StorageOutage",
    "StoreOutcome",
    "check_version",
    "current_version",
    "iso",
    "migrate",
    "migrate_database",
    "open_database",
    "sha256_hex",
    "storage_delay",
    "summary",
]
