"""`stetho alerts`, `stetho ack` and `stetho listen`: the doctor's commands."""

from __future__ import annotations

import functools
import getpass
import logging
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from edge_agent.errors import AgentError, ConfigError
from edge_agent.wire import command_values, topics
from stetho_common.cli_numbers import bounded, whole
from stetho_common.console import EXIT_CODES, fail, run_until_signalled, warn
from stetho_common.ids import SLUG, SLUG_PATTERN, SLUG_WORDS
from stetho_doctor.errors import DoctorToolError
from stetho_doctor.options import BrokerChoice, broker_options

# The MQTT client, the messages' models and the live table are imported by the commands that
# use them: --help and a refused argument load no broker client (tests/test_cli_light.py).
if TYPE_CHECKING:
    from rich.table import Table

    from edge_agent.storage.outbox import OutboundMessage
    from edge_agent.wire import messages

err = Console(stderr=True)
T = TypeVar("T")
# The tools say what goes wrong themselves (`warn`, `fail`); the library's log lines would only
# repeat it on the terminal.
logging.getLogger("stetho_doctor").addHandler(logging.NullHandler())
P = ParamSpec("P")


def topic_id(value: str | None) -> str | None:
    """A care home's, agent's or stethoscope's id as the topics carry it, or a usage error: any
    other text publishes where no agent listens (or, with + or #, cannot be published)."""
    if value is not None and not SLUG.fullmatch(value):
        raise typer.BadParameter(f"{value!r} is not an id: {SLUG_WORDS}")
    return value


SiteOpt = Annotated[str, typer.Option("--site", help="Care home (site) id.", callback=topic_id)]
ByOpt = Annotated[str | None, typer.Option("--by", help="Who you are (default: login name).")]


def _run_or_exit(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return run_until_signalled(coro)
    except typer.Exit as exc:
        if exc.exit_code == EXIT_CODES["interrupted"]:  # one word after the warnings, not none
            err.print("interrupted", highlight=False)
        raise


def uuid_id(what: str) -> Callable[[str], str]:
    """A callback refusing an `what` id that is no UUID at parse time, so the refusal names
    its argument as every other bad value does ("ALERT_ID: 'x' is not an alert id (a UUID)")."""

    def check(value: str) -> str:
        try:
            uuid.UUID(value)
        except ValueError:
            raise typer.BadParameter(f"{value!r} is not an {what} id (a UUID)") from None
        return value

    return check


def _parse_id(text: str, what: str) -> uuid.UUID:
    """An id given on the command line, or a usage error saying what it should have been."""
    try:
        return uuid.UUID(text)
    except ValueError:
        fail(f"{text!r} is not an {what} id (a UUID)", "usage")


def _send(choice: BrokerChoice, message: OutboundMessage, done: str) -> None:
    """Publish one command message (QoS 1, wait for the PUBACK), then say what was done."""
    from stetho_doctor.client import publish_once

    _run_or_exit(publish_once(choice.settings(), message))
    err.print(done, highlight=False)


def _one_sentence(command: Callable[P, None]) -> Callable[P, None]:
    """A doctor's command whose expected errors end in one sentence, never a traceback."""

    @functools.wraps(command)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> None:
        from pydantic import ValidationError

        try:
            command(*args, **kwargs)
        except ConfigError as exc:
            fail(str(exc), "usage")
        except ValidationError as exc:  # a value the message's schema refuses (docs/schemas)
            first = exc.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "a value"
            fail(f"{OPTION_OF_FIELD.get(field, field)}: {_refusal(field, first)}", "usage")
        except (AgentError, DoctorToolError) as exc:
            fail(str(exc))

    return wrapped


def _refusal(field: str, error: Any) -> str:
    """Pydantic's words, but an id in words rather than its regular expression."""
    if error["type"] != "string_pattern_mismatch" or error["ctx"]["pattern"] != SLUG_PATTERN:
        return str(error["msg"])
    if field == "resident":  # a name typed where the reference belongs: never echoed
        return f"expected the care home's opaque reference ({SLUG_WORDS}), never a name"
    return f"expected {SLUG_WORDS}"


# The command-line option that sets each field of a message a doctor's command sends.
OPTION_OF_FIELD = {"resident": "--resident", "auscultation_site": "--at", "by": "--by",
                   "note": "--note", "duration_s": "--duration"}  # fmt: skip


def _say_retry(error: str, delay_s: float) -> None:
    warn(f"{error}; trying again in {delay_s:.0f} s (Ctrl-C to stop)")


# How long `stetho ack` waits for an agent's status to list the ack: an agent republishes it
# at once, so this is spent only when no agent took it (or its link is slow).
ACK_ANSWER_S = 10.0
NEWEST_ALERTS_SHOWN = 20  # a screenful; older alerts stay in --save and the hub


# Below this many columns the seven fold the alert id over lines, and the id is what the
# doctor copies into `stetho ack`: four columns instead, the id whole above the reasons.
WIDE_TABLE_COLUMNS = 130
# Four columns need borders and padding (13), time (11), level (6), the id (36) and ten for
# where: below that, two, the time above the level and the id above where and the reasons.
FOUR_COLUMN_TABLE_COLUMNS = 76
AlertRows = deque[tuple[dict[str, str], str]]


def _alert_table(title: str, rows: AlertRows, width: int) -> Table:
    from rich.table import Table

    if width >= WIDE_TABLE_COLUMNS:
        return _seven_columns(Table(title=title), rows)
    if width >= FOUR_COLUMN_TABLE_COLUMNS:
        return _four_columns(Table(title=title), rows, width)
    return _two_columns(Table(title=title), rows)


def _seven_columns(table: Table, rows: AlertRows) -> Table:
    from stetho_doctor.client import ALERT_COLUMNS

    for column in ALERT_COLUMNS:
        whole = column == "alert id"
        table.add_column(column, overflow="fold", no_wrap=whole, min_width=36 if whole else None)
    for row, style in reversed(rows):  # newest first, at the top
        table.add_row(*(Text(value) for value in row.values()), style=style)
    return table


def _where(row: dict[str, str]) -> str:
    return f"{row['care home']} {row['resident']} {row['auscultation site']}"


def _four_columns(table: Table, rows: AlertRows, width: int) -> Table:
    table.add_column("time", no_wrap=True)  # MM-DD HH:MM, 11
    # What is left after the borders and padding (13), time, level (6) and the id (36).
    table.add_column("where", overflow="fold", max_width=max(10, width - 66))
    table.add_column("level", no_wrap=True)
    table.add_column("alert id, reasons", min_width=36, overflow="fold")
    for row, style in reversed(rows):
        said = f"{row['alert id']}\n{row['reasons']}"
        table.add_row(row["time"][5:16], Text(_where(row)), row["level"], Text(said), style=style)
    return table


def _two_columns(table: Table, rows: AlertRows) -> Table:
    table.add_column("time, level", no_wrap=True)
    table.add_column("alert id, where, reasons", min_width=36, overflow="fold")
    for row, style in reversed(rows):
        when = f"{row['time'][5:16]}\n{row['level']}"
        said = f"{row['alert id']}\n{_where(row)}\n{row['reasons']}"
        table.add_row(when, Text(said), style=style)
    return table


@_one_sentence
@broker_options(session=True)
def alerts(
    choice: BrokerChoice,
    site: Annotated[
        str | None, typer.Option("--site", help="One care home; default all.", callback=topic_id)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    save: Annotated[
        Path | None, typer.Option("--save", help="Also store each alert's FLAC and analysis here.")
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(
            "--count", parser=whole(1, unit="alerts"), help="Exit after N alerts (1 or more)."
        ),
    ] = None,
) -> None:
    """Follow alerts (review or urgent) as a live table or JSON lines.

    A care home the broker's ACL does not let you read stays silent: Mosquitto accepts the
    subscription and drops that home's alerts without a word, so this command cannot tell.
    If a home stays quiet, ask the broker's operator whether the ACL lets your certificate
    read stetho/v1/<site>/alerts (deploy/mosquitto/make-acl.sh).
    """
    from rich.live import Live

    from stetho_doctor.client import (
        AlertSaver,
        alert_json_line,
        alert_row,
        alert_subscriptions,
        follow_alerts,
    )

    settings = choice.settings(alert_subscriptions(site, save is not None))
    saver = AlertSaver(save) if save is not None else None
    if as_json:

        def emit(alert: messages.AlertMessage) -> None:
            typer.echo(alert_json_line(alert))

        _run_or_exit(follow_alerts(settings, emit, saver, count, _say_retry))
        return
    title = f"stetho alerts ({site or 'all care homes'}), newest first"
    rows: AlertRows = deque(maxlen=NEWEST_ALERTS_SHOWN)
    # Redrawn only when an alert arrives: a table left to refresh itself costs CPU for nothing.
    screen = Console()
    with Live(_alert_table(title, rows, screen.width), console=screen, auto_refresh=False) as live:

        def add_row(alert: messages.AlertMessage) -> None:
            rows.append((alert_row(alert), "bold red" if alert.level == "urgent" else "yellow"))
            live.update(_alert_table(title, rows, screen.width), refresh=True)

        _run_or_exit(follow_alerts(settings, add_row, saver, count, _say_retry))


@_one_sentence
@broker_options()
def ack(
    choice: BrokerChoice,
    alert_id: Annotated[
        str, typer.Argument(help="The alert's id (alert_id).", callback=uuid_id("alert"))
    ],
    site: SiteOpt,
    note: Annotated[str | None, typer.Option("--note", help="A short note.")] = None,
    by: ByOpt = None,
) -> None:
    """Acknowledge an alert, and say whether an agent of the care home took it."""
    from stetho_doctor.ack_answer import AckWatch
    from stetho_doctor.client import ack_and_watch, ack_message

    parsed = _parse_id(alert_id, "alert")
    message = ack_message(site, parsed, by or getpass.getuser(), note)
    # The agents' retained statuses are the only answer an ack gets (stetho_doctor.ack_answer).
    settings = choice.settings(subscriptions=(f"{topics.ROOT}/{site}/+/status",))
    watch = AckWatch(site, str(parsed))
    _run_or_exit(ack_and_watch(settings, message, watch, ACK_ANSWER_S))
    if watch.confirmed_by is not None:
        took = f" {parsed}: agent {watch.confirmed_by} at {site} took it"
        err.print(Text.assemble(("acknowledged", "green"), took), soft_wrap=True)
    elif watch.refused():
        fail(watch.said(ACK_ANSWER_S))
    else:
        warn(watch.said(ACK_ANSWER_S))


@_one_sentence
@broker_options()
def listen(
    choice: BrokerChoice,
    device: Annotated[
        str, typer.Option("--device", help="Stethoscope (device) id.", callback=topic_id)
    ],
    site: SiteOpt,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write a WAV here instead of playing.")
    ] = None,
    seconds: Annotated[
        float,
        typer.Option(
            "--seconds",
            parser=bounded(0, command_values.MAX_LIVE_S, above=True),
            metavar="SECONDS",
            help="Listen this long (up to 1800).",
        ),
    ] = 60.0,
    by: ByOpt = None,
) -> None:
    """Listen to a device live (PyAudio), or write a WAV when there is no sound card."""
    from stetho_doctor.listen import listen as run_listen
    from stetho_doctor.listen import open_sink

    settings = choice.settings((topics.live(site, device),))
    sink = open_sink(out, warn)
    stats = _run_or_exit(run_listen(settings, site, device, seconds, sink, by or getpass.getuser()))
    if not stats.chunks:
        fail(
            f"no live audio from {device} at {site} in {seconds:.0f} s: "
            "is its agent online and the stethoscope connected?"
        )
    err.print(f"{device} at {site}: {stats.summary()}", highlight=False)
