"""`stetho staff add` (accounts for the page) and `stetho exam ...` (talks to the running agent
over its local socket, so the CLI and the page share one exam service)."""

from __future__ import annotations

import asyncio
import getpass
import json
import os
import pwd
import time
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console

from edge_agent.cli._common import DEFAULT_CONFIG, AgeBandChoice, ConfigOption
from edge_agent.config import load_config
from edge_agent.errors import AgentError
from edge_agent.exam.errors import UnknownProtocolError, UnknownSiteError
from edge_agent.exam.protocols import BUILT_IN, CUSTOM, KNOWN_SITES, resolve_protocol
from edge_agent.exam.store import SOCKET_NAME, exam_dir
from edge_agent.exam.verdict import NURSE_ADVICE
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts, check_staff
from edge_agent.web.i18n import translator
from edge_agent.wire.messages import MAX_RECORD_S, MIN_RECORD_S
from stetho_common.cli_app import cli_app
from stetho_common.cli_choices import refuse_choice
from stetho_common.cli_numbers import bounded
from stetho_common.console import EXIT_CODES, fail
from stetho_common.secret_input import ask_secret

staff_app = cli_app("Staff accounts for the nurses' page.")
exam_app = cli_app("Exams, through the running agent.")
err = Console(stderr=True)
PIN = "PIN or password"
# Past the recording's length: its analysis, and the first block of a stethoscope just woken.
WAIT_MARGIN_S: Final = 30.0
POLL_S: Final = 0.5  # the outcome is seen within half a second, at two small requests a second
StaffOpt = Annotated[str | None, typer.Option("--staff", help="Who examines (default: you).")]


def _state_dir(config: Path) -> Path:
    try:
        return load_config(config).storage.state_dir
    except AgentError as exc:
        fail(str(exc), "usage")


def _check_owner(state_dir: Path) -> None:
    """Refuse to write the accounts as another user than the agent's: files root makes in the
    agent's folder (0700, 0600) lock the agent out at its next start."""
    try:
        owner = state_dir.stat().st_uid
    except OSError:
        return  # not made yet: the accounts file says what is wrong, if anything
    if owner == os.geteuid():
        return
    try:
        user = pwd.getpwuid(owner).pw_name
    except KeyError:
        user = str(owner)
    fail(f"{state_dir} belongs to the agent's user {user}: run this as that user "
         f"(sudo -u {user} stetho staff add ...), so the agent can read the accounts",
         "usage")  # fmt: skip


@staff_app.command("add")
def staff_add(
    staff_id: Annotated[str, typer.Argument(help="Short id, e.g. nurse-marie.")],
    name: Annotated[str, typer.Option("--name", help="Name shown on the page.")] = "",
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Create or reset a staff account; the PIN or password is asked twice, stored hashed."""
    state_dir = _state_dir(config)  # a wrong config is said before the PIN is typed
    _check_owner(state_dir)
    folder = exam_dir(state_dir)
    try:
        check_staff(staff_id, name or staff_id)  # and so are a wrong id and name
    except AgentError as exc:
        fail(str(exc), "usage")
    secret = ask_secret("PIN or password: ", PIN)
    if ask_secret("again: ", PIN) != secret:
        fail("the two entries differ", "usage")
    try:
        accounts = Accounts(folder / ACCOUNTS_FILE)
        staff = accounts.add(staff_id, name or staff_id, secret)
        accounts.close()
    except AgentError as exc:
        fail(str(exc), "usage")
    err.print(f"[green]saved[/] {staff.staff_id}", highlight=False)


async def _call(
    socket: Path,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    reached: list[bool] | None = None,
) -> Any:
    """The agent's answer; `reached` gets True once connected, from when the request may
    reach the agent (nothing is written to the socket before). An agent not reached raises
    ConnectionError, so that the callers need not import aiohttp."""
    import aiohttp  # here: `stetho staff` and every --help start without an HTTP client

    connector = aiohttp.UnixConnector(path=str(socket))
    trace = aiohttp.TraceConfig()
    if reached is not None:

        async def connected(*_: object) -> None:
            reached.append(True)

        trace.on_connection_create_end.append(connected)
    try:
        async with (
            aiohttp.ClientSession(connector=connector, trace_configs=[trace]) as session,
            session.request(method, f"http://agent{path}", json=body) as response,
        ):
            try:
                data = await response.json()
            except (aiohttp.ContentTypeError, ValueError):  # not the API's answer: a 404 page
                raise AgentError(f"HTTP {response.status} {response.reason}") from None
            if response.status != 200:
                raise AgentError(data.get("error", f"HTTP {response.status}"))
            return data
    except aiohttp.ClientConnectionError as exc:
        raise ConnectionError(str(exc)) from exc


def _segment(text: str) -> str:
    """`text` as one URL path segment: an id with `/` or `..` must not reach another route."""
    return urllib.parse.quote(text, safe="")


def _socket(config: Path) -> Path:
    """The running agent's exam socket, under the state folder `config` names."""
    return exam_dir(_state_dir(config)) / SOCKET_NAME


def _answer(
    config: Path,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    reached: list[bool] | None = None,
) -> Any:
    socket = _socket(config)
    try:
        return asyncio.run(_call(socket, method, path, body, reached))
    except (ConnectionError, FileNotFoundError):
        fail(f"no agent answers on {socket}: is it running with [web]?")
    except AgentError as exc:
        fail(f"the agent refused: {exc}")


def _run(config: Path, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    typer.echo(json.dumps(_answer(config, method, path, body), indent=2))


def _check_protocol(protocol: str, sites: list[str]) -> None:
    """Refuse what no exam could take (exit 2) before asking the agent, which refuses it with
    the status of a refusal (1) after the config is read. The check is the agent's own
    (resolve_protocol); an unknown name is said as an option's value is everywhere."""
    try:
        resolve_protocol(protocol, sites)
    except (UnknownSiteError, UnknownProtocolError) as exc:  # one `fail` for both: each reached
        if isinstance(exc, UnknownSiteError) and exc.site is not None:
            refuse_choice("--site", exc.site, KNOWN_SITES)
        if exc.words == "unknown_protocol":
            refuse_choice("--protocol", protocol, (*BUILT_IN, CUSTOM))
        fail(str(exc), "usage")


@exam_app.command("start")
def exam_start(
    resident: Annotated[str, typer.Option("--resident", help="Opaque resident reference.")],
    protocol: Annotated[str, typer.Option("--protocol")] = "heart-4",
    site: Annotated[
        list[str] | None, typer.Option("--site", help="custom: each site", metavar="<site>")
    ] = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    age_band: Annotated[
        AgeBandChoice,
        typer.Option(
            help="adult (16 and over) or the child's age in years: it chooses the "
            "heart and breathing rate ranges of the triage."
        ),
    ] = AgeBandChoice.adult,
    staff: StaffOpt = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Open an exam; prints its id."""
    _check_protocol(protocol, site or [])
    exam = _answer(config, "POST", "/api/exams", {"resident": resident, "protocol": protocol,
                   "sites": site or [], "reason": reason, "age_band": age_band.value,
                   "staff": staff or getpass.getuser()})  # fmt: skip
    typer.echo(exam["exam_id"])  # alone, for `E=$(stetho exam start ...)`; `show` tells the rest
    err.print(f"next site: {exam.get('next_site')}", highlight=False)


@exam_app.command("record")
def exam_record(
    exam_id: Annotated[str, typer.Argument()],
    site: Annotated[str | None, typer.Option("--site", help="Default: the next site.")] = None,
    device: Annotated[str | None, typer.Option("--device")] = None,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            parser=bounded(MIN_RECORD_S, MAX_RECORD_S),  # as the exam API takes
            metavar="SECONDS",
            help=f"{MIN_RECORD_S:g}-{MAX_RECORD_S:g}.",
        ),
    ] = None,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return once it has started, printing its JSON.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
    staff: StaffOpt = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Record a site of the exam and wait until it is analysed; one line says the outcome.

    Exit status 0: the site is recorded and good; 5: recorded, but to record again (the line
    says why); 1: refused, the agent stopped meanwhile, or no sound came; 130: Ctrl-C, which
    ends the wait only (the recording goes on in the agent), or the start: one line says
    whether the recording may have started.
    """
    if site is not None and site not in KNOWN_SITES:
        refuse_choice("--site", site, KNOWN_SITES)  # no exam has it: the call is wrong, exit 2
    reached: list[bool] = []
    started: dict[str, Any] | None = None
    try:
        started = _answer(config, "POST", f"/api/exams/{_segment(exam_id)}/record", {
            "site": site, "device": device, "duration_s": duration,
            "staff": staff or getpass.getuser()}, reached)  # fmt: skip
        if no_wait:
            typer.echo(json.dumps(started, indent=2))
            return
        outcome = _outcome(config, exam_id, started)
    except KeyboardInterrupt:
        fail(_interrupted(exam_id, bool(reached), started), "interrupted")
    typer.echo(json.dumps(outcome, indent=2) if as_json else outcome_lines(outcome))
    if not outcome["acceptable"]:
        raise typer.Exit(EXIT_CODES["rerecord"])


def _outcome(config: Path, exam_id: str, started: dict[str, Any]) -> dict[str, Any]:
    """The recording's outcome, asked of the agent until it is analysed (or `fail`)."""
    if "duration_s" not in started:  # this command upgraded, the agent not yet restarted
        fail(f"the agent started {started.get('site')} but is older than this command and "
             "cannot tell its outcome: restart it, or give --no-wait")  # fmt: skip
    socket = _socket(config)
    path = f"/api/exams/{_segment(exam_id)}/recordings/{_segment(started['recording_id'])}"
    bound_s = float(started["duration_s"]) + WAIT_MARGIN_S
    what = f"the recording of {started['site']}"
    line = f"recording {started['site']} on {started['device']} for {started['duration_s']:g} s…"
    try:
        outcome = asyncio.run(_poll(socket, path, bound_s, line))
    except (ConnectionError, FileNotFoundError):
        fail(f"the agent stopped during {what}: see `stetho exam show` once it is back")
    except AgentError as exc:  # not a refusal: the recording it started ended with no sound
        fail(str(exc))
    if outcome is None:
        fail(f"{what} was not analysed within {bound_s:g} s: see `stetho exam show`")
    return outcome


def _interrupted(exam_id: str, reached: bool, started: dict[str, Any] | None) -> str:
    """What Ctrl-C leaves, in one line: the recording certainly not started (the request never
    left), perhaps started (it may have reached the agent, which alone can tell), or going on
    (Ctrl-C ends the wait, not the recording: the socket API has no stop; the page's Stop or
    the chest piece's button ends one early)."""
    if started is not None:
        return (f"stopped waiting; the recording of {started.get('site')} goes on in the agent "
                "(`stetho exam show` tells)")  # fmt: skip
    if not reached:
        return "interrupted before the request to record was sent: no recording started"
    return (f"interrupted after the request to record was sent: the recording may have "
            f"started; `stetho exam show {exam_id}` or the exam's page tells")  # fmt: skip


async def _poll(socket: Path, path: str, bound_s: float, line: str) -> dict[str, Any] | None:
    """The recording's answer once it is no longer running; None after `bound_s` seconds."""
    # Said from inside the loop, whose SIGINT handler is set by now: a script that sends
    # SIGINT as soon as it reads the line must not catch asyncio.run half made (the loop was
    # left unclosed and its __del__ printed a traceback).
    err.print(line, highlight=False)
    deadline = time.monotonic() + bound_s
    while True:
        answer: dict[str, Any] = await _call(socket, "GET", path, None)
        if answer.get("state") != "running":
            return answer
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(POLL_S)


def outcome_lines(outcome: dict[str, Any]) -> str:
    """The page's verdict on one site, in English: done, or record again and why; then the
    flags' codes, and a good recording's notices (advice, nothing to redo)."""
    t = translator("en")
    advice = " ".join(t(NURSE_ADVICE.get(c, "advice.noise")) for c in outcome["problems"])
    flags = f" (flags: {', '.join(outcome['flags'])})" if outcome["flags"] else ""
    head = f"{outcome['site']}: {outcome['duration_s']:.1f} s recorded, "
    if not outcome["acceptable"]:
        return f"{head}record again{flags}" + (f": {advice}" if advice else "")
    return f"{head}done{flags}" + (f"\nnote: {advice}" if advice else "")


@exam_app.command("close")
def exam_close(
    exam_id: Annotated[str, typer.Argument()],
    abandon: Annotated[bool, typer.Option("--abandon")] = False,
    staff: StaffOpt = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Finish (or abandon) the exam."""
    _run(config, "POST", f"/api/exams/{_segment(exam_id)}/close",
         {"abandon": abandon, "staff": staff or getpass.getuser()})  # fmt: skip


@exam_app.command("show")
def exam_show(
    exam_id: Annotated[str, typer.Argument()], config: ConfigOption = DEFAULT_CONFIG
) -> None:
    """An exam's sites and state."""
    _run(config, "GET", f"/api/exams/{_segment(exam_id)}")
