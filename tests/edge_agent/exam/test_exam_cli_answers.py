"""`stetho exam ...` against a scripted agent on the local socket, in-process: the answers the
real agent gives only when something is wrong (a page that is not the API's, an error without
words, a connection dropped, an analysis that never ends, Ctrl-C in flight), each one line
and its exit status."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rich.console import Console
from typer.testing import CliRunner, Result

from edge_agent.cli.exam import exam_app
from edge_agent.exam.store import SOCKET_NAME, exam_dir
from stetho_common.console import EXIT_CODES
from tests.edge_agent.exam.socket_server import serving_on_socket

EXAM = str(uuid.UUID(int=1))
RECORDING = str(uuid.UUID(int=2))
STARTED = {"recording_id": RECORDING, "site": "aortic", "device": "steth-1", "duration_s": 0.3}
RECORDING_PATH = f"/api/exams/{EXAM}/recordings/{RECORDING}"


@contextmanager
def _agent(tmp_path: Path, *routes: web.RouteDef) -> Iterator[Path]:
    """A config whose state folder has `routes` served on the exam socket, from a thread."""
    tmp_path.mkdir(exist_ok=True)
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n')
    socket = exam_dir(tmp_path / "state") / SOCKET_NAME
    socket.parent.mkdir(parents=True)

    def build() -> web.Application:
        app = web.Application()
        app.add_routes(routes)
        return app

    with serving_on_socket(build, socket):
        yield config


def _exam(config: Path, *args: str) -> Result:
    return CliRunner().invoke(exam_app, [*args, "--config", str(config)])


def _answer(body: Any, status: int = 200) -> Any:
    async def handler(_: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status)

    return handler


def _record(*outcomes: dict[str, Any]) -> list[web.RouteDef]:
    """The recording started, then `outcomes` in turn at each poll, the last one repeated."""
    polls = iter(outcomes)
    last: list[dict[str, Any]] = []

    async def outcome(_: web.Request) -> web.StreamResponse:
        last[:] = [next(polls, *last)]
        return web.json_response(last[0])

    return [
        web.post(f"/api/exams/{EXAM}/record", _answer(STARTED)),
        web.get(RECORDING_PATH, outcome),
    ]


def test_a_page_that_is_not_the_api_s_is_said_by_its_status(tmp_path: Path) -> None:
    async def not_found(_: web.Request) -> web.StreamResponse:
        return web.Response(status=404, text="<h1>404</h1>", content_type="text/html")

    with _agent(tmp_path, web.get(f"/api/exams/{EXAM}", not_found)) as config:
        result = _exam(config, "show", EXAM)
    assert result.exit_code == 1
    assert result.output == "error: the agent refused: HTTP 404 Not Found\n"


def test_an_error_without_words_is_said_by_its_status(tmp_path: Path) -> None:
    with _agent(tmp_path, web.post(f"/api/exams/{EXAM}/close", _answer({}, 500))) as config:
        result = _exam(config, "close", EXAM)
    assert result.exit_code == 1
    assert result.output == "error: the agent refused: HTTP 500\n"


def test_record_waits_for_the_analysis_and_says_its_outcome(tmp_path: Path) -> None:
    running = {"state": "running"}
    poor = {"state": "done", "site": "aortic", "duration_s": 0.3, "acceptable": False,
            "problems": [], "flags": ["quality_no_signal"]}  # fmt: skip
    good = poor | {"acceptable": True, "flags": []}
    with _agent(tmp_path, *_record(running, poor)) as config:
        again = _exam(config, "record", EXAM)
    assert again.exit_code == EXIT_CODES["rerecord"], again.output
    assert again.stderr == "recording aortic on steth-1 for 0.3 s…\n"
    assert again.stdout == "aortic: 0.3 s recorded, record again (flags: quality_no_signal)\n"
    with _agent(tmp_path / "b", *_record(good)) as config:
        done = _exam(config, "record", EXAM)
    assert done.exit_code == 0, done.output
    assert done.stdout == "aortic: 0.3 s recorded, done\n"


def test_an_analysis_that_never_ends_is_given_up_after_the_length_and_margin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("edge_agent.cli.exam.WAIT_MARGIN_S", 0.2)  # not 30 s in a test
    monkeypatch.setattr("edge_agent.cli.exam.POLL_S", 0.05)
    with _agent(tmp_path, *_record({"state": "running"})) as config:
        result = _exam(config, "record", EXAM)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: the recording of aortic was not analysed within 0.5 s: see `stetho exam show`"
    )


def test_the_agent_gone_while_waiting_is_one_sentence(tmp_path: Path) -> None:
    async def gone(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()  # as a stopped agent's socket: no answer, the link ends
        return web.Response()

    routes = (
        web.post(f"/api/exams/{EXAM}/record", _answer(STARTED)),
        web.get(RECORDING_PATH, gone),
    )
    with _agent(tmp_path, *routes) as config:
        result = _exam(config, "record", EXAM)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "error: the agent stopped during the recording of aortic: see `stetho exam show` once "
        "it is back"
    )


def test_ctrl_c_once_the_request_left_says_the_recording_may_have_started(
    tmp_path: Path,
) -> None:
    async def interrupted(_: web.Request) -> web.StreamResponse:
        os.kill(os.getpid(), signal.SIGINT)  # the nurse's Ctrl-C, the request at the agent
        await asyncio.sleep(0.5)
        return web.json_response(STARTED)

    with _agent(tmp_path, web.post(f"/api/exams/{EXAM}/record", interrupted)) as config:
        result = _exam(config, "record", EXAM)
    assert result.exit_code == EXIT_CODES["interrupted"], result.output
    assert result.output == (
        "error: interrupted after the request to record was sent: the recording may have "
        f"started; `stetho exam show {EXAM}` or the exam's page tells\n"
    )


def test_show_prints_the_agent_s_answer_as_indented_json(tmp_path: Path) -> None:
    exam = {"exam_id": EXAM, "sites": [{"site": "aortic", "attempts": 1}], "state": "open"}
    with _agent(tmp_path, web.get(f"/api/exams/{EXAM}", _answer(exam))) as config:
        result = _exam(config, "show", EXAM)
    assert result.exit_code == 0, result.output
    assert result.stdout == json.dumps(exam, indent=2) + "\n"  # for a person, and for jq


def test_the_waiting_line_is_plain_text_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rich colours numbers unless told not to: the line stays as written on a terminal too.
    seen = io.StringIO()
    terminal = Console(file=seen, force_terminal=True, color_system="truecolor")
    monkeypatch.setattr("edge_agent.cli.exam.err", terminal)
    done = {"state": "done", "site": "aortic", "duration_s": 0.3, "acceptable": True,
            "problems": [], "flags": []}  # fmt: skip
    with _agent(tmp_path, *_record(done)) as config:
        assert _exam(config, "record", EXAM).exit_code == 0
    assert seen.getvalue() == "recording aortic on steth-1 for 0.3 s…\n"


def test_ctrl_c_while_waiting_says_the_recording_goes_on(tmp_path: Path) -> None:
    async def interrupted(_: web.Request) -> web.StreamResponse:
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the analysis is awaited
        await asyncio.sleep(0.5)
        return web.json_response({"state": "running"})

    start = web.post(f"/api/exams/{EXAM}/record", _answer(STARTED))
    with _agent(tmp_path, start, web.get(RECORDING_PATH, interrupted)) as config:
        result = _exam(config, "record", EXAM)
    assert result.exit_code == EXIT_CODES["interrupted"], result.output
    assert result.stderr.splitlines()[-1] == (
        "error: stopped waiting; the recording of aortic goes on in the agent "
        "(`stetho exam show` tells)"
    )


def test_ctrl_c_before_the_request_left_says_no_recording_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def ctrl_c(_: Path) -> Path:
        raise KeyboardInterrupt  # while the config is read, before any connection

    monkeypatch.setattr("edge_agent.cli.exam._socket", ctrl_c)
    with _agent(tmp_path) as config:
        result = _exam(config, "record", EXAM)
    assert result.exit_code == EXIT_CODES["interrupted"], result.output
    assert result.output == (
        "error: interrupted before the request to record was sent: no recording started\n"
    )
