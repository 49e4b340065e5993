"""`stetho answer` and `stetho request`: the doctor's side of care-home exams.

An answer (disposition and note) appears on the nurses' page on the exam it answers; a request
asks the care home to record a resident at a site, and waits on the page for a nurse.
"""

from __future__ import annotations

import getpass
from typing import Annotated, cast, get_args

import typer

from edge_agent.wire import command_values, topics
from stetho_common.cli_choices import refuse_choice
from stetho_common.cli_numbers import bounded
from stetho_doctor.cli import (
    ByOpt,
    SiteOpt,
    _one_sentence,
    _parse_id,
    _send,
    topic_id,
    uuid_id,
)
from stetho_doctor.options import BrokerChoice, broker_options

# The exams' model, the messages and the MQTT client are imported as a command runs: its
# --help and refused arguments load none of them (tests/test_cli_light.py).

DISPOSITIONS = get_args(command_values.Disposition)


def _listening_site(value: str) -> str:
    """One of the sites the agent records at (it refuses any other, after this said "sent")."""
    from edge_agent.exam.protocols import KNOWN_SITES

    if value not in KNOWN_SITES:
        refuse_choice("--at", value, KNOWN_SITES)
    return value


@_one_sentence
@broker_options()
def answer(
    choice: BrokerChoice,
    exam_id: Annotated[
        str, typer.Argument(help="The exam's id (exam_id).", callback=uuid_id("exam"))
    ],
    site: SiteOpt,
    disposition: Annotated[
        str, typer.Option("--disposition", help=f"One of: {', '.join(DISPOSITIONS)}.")
    ],
    note: Annotated[str | None, typer.Option("--note", help="A short note.")] = None,
    by: ByOpt = None,
) -> None:
    """Answer a care-home exam; the nurses' page shows it on the exam.

    No message comes back for an answer (an agent refuses an unknown exam's in its own log and
    status only), so this says "sent", not "answered"."""
    parsed = _parse_id(exam_id, "exam")
    if disposition not in DISPOSITIONS:
        refuse_choice("--disposition", disposition, DISPOSITIONS)
    from edge_agent.exam.wire import answer_message  # after the refusals: they need none of it

    chosen = cast(command_values.Disposition, disposition)
    message = answer_message(site, parsed, by or getpass.getuser(), chosen, note)
    _send(choice, message, f"[green]sent[/] the answer to exam {parsed} on "
          f"{topics.exam_answers(site)}; the nurses' page shows it if care home {site} holds "
          "the exam")  # fmt: skip


@_one_sentence
@broker_options()
def request(
    choice: BrokerChoice,
    resident: Annotated[str, typer.Option("--resident", help="Opaque resident reference.")],
    auscultation_site: Annotated[
        str, typer.Option("--at", help="Where to listen, e.g. mitral.", callback=_listening_site)
    ],
    site: SiteOpt,
    agent: Annotated[
        str, typer.Option("--agent", help="The care home's agent id.", callback=topic_id)
    ] = "agent",
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            parser=bounded(command_values.MIN_RECORD_S, command_values.MAX_RECORD_S),
            metavar="SECONDS",
            help=f"{command_values.MIN_RECORD_S:g}-{command_values.MAX_RECORD_S:g}.",
        ),
    ] = None,
    by: ByOpt = None,
) -> None:
    """Ask a care home to record a resident at a site; a nurse accepts it on the page."""
    from stetho_doctor.client import record_request_message

    message = record_request_message(
        site, agent, resident, auscultation_site, duration, by or getpass.getuser()
    )
    _send(choice, message, f"[green]requested[/] {auscultation_site} for {resident}")
