"""The hospital hub: archives what the care homes send, receipts it, serves the doctors.

Never needed on the Raspberry Pi. Layers: `storage` (database, migrations, audio files),
`ingest` (MQTT subscriber and receipts), `cli` (the `stetho hub` commands).
"""
