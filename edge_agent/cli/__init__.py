"""The care-home agent's commands, listed for the `stetho` root without importing them.

Each command's module is imported only when that command runs (see `stetho_common.lazy_cli`),
so that `stetho --help` and `--version` answer at once on a Raspberry Pi.
"""

from __future__ import annotations

from typing import Final

from stetho_common.lazy_cli import LazyCommand

__all__ = ["COMMANDS"]

# Short help as the commands' own docstrings say it (a test keeps the two in step).
COMMANDS: Final = [
    LazyCommand(
        "run", "edge_agent.cli.service:run", "Run the agent daemon until SIGTERM or SIGINT."
    ),
    LazyCommand(
        "status",
        "edge_agent.cli.status:status_command",
        "Show the running agent's devices, outbox, broker link and acknowledgements.",
    ),
    LazyCommand(
        "pair",
        "edge_agent.cli.devices:pair_command",
        "Scan for stethoscopes, pair and bond one, and add it to the registry.",
    ),
    LazyCommand(
        "devices", "edge_agent.cli.devices:devices_command", "List the paired stethoscopes."
    ),
    LazyCommand(
        "forget",
        "edge_agent.cli.devices:forget_command",
        "Remove a stethoscope's bond and its registry entry.",
    ),
    LazyCommand(
        "record",
        "edge_agent.cli.devices:record_command",
        "Record a stethoscope to FLAC with tags; Ctrl-C stops early and keeps the audio.",
    ),
    LazyCommand(
        "analyze",
        "edge_agent.cli.analyze:analyze_command",
        "Analyse recordings: quality, heart or lung findings and triage, with reasons.",
    ),
    LazyCommand(
        "config", "edge_agent.cli.service:config_app", "Inspect and validate configuration files."
    ),
    LazyCommand("exam", "edge_agent.cli.exam:exam_app", "Exams, through the running agent."),
    LazyCommand("staff", "edge_agent.cli.exam:staff_app", "Staff accounts for the nurses' page."),
]
