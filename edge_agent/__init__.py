"""The care-home edge agent: daemon, outbox, MQTT publisher and the `stetho` CLI."""

__version__ = "0.1.0"
