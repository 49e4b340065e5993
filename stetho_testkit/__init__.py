"""Scenario drivers and real-part starters shared by tests/ and bench/; never installed.

PostgreSQL, RabbitMQ, the test's MQTT client, `stetho run` agents and hub processes, the
wire-format recording factory, the fleet, fault and outage scenarios, the console over a small
archive. Not in the wheel (`pip install .` on the Pi or the hub leaves it out): it is imported
from a checkout, as tests/ and bench/ are. It never imports tests/, and no product package
imports it (import-linter contracts in pyproject.toml).
"""
