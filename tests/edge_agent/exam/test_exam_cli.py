"""`stetho exam ...` against the agent's real exam API on its local socket: what a nurse types
as an exam id stays one path segment, and an answer that is not the API's is one sentence."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import socket as sock
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from edge_agent.cli.exam import exam_app, outcome_lines, staff_app
from edge_agent.exam import ExamStore
from edge_agent.exam.errors import UnknownProtocolError, UnknownSiteError
from edge_agent.exam.protocols import resolve_protocol
from edge_agent.exam.residents import Resident
from edge_agent.exam.service import ExamService
from edge_agent.exam.store import SOCKET_NAME, exam_dir
from edge_agent.web.accounts import ACCOUNTS_FILE, Accounts
from edge_agent.web.api import build_api
from tests.edge_agent.exam.socket_server import serving_on_socket


async def _discard(_: object) -> None:
    return None


@pytest.fixture
def agent_config(served: tuple[Path, ExamService, asyncio.AbstractEventLoop]) -> Path:
    return served[0]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, ExamService, asyncio.AbstractEventLoop]]:
    """An agent config whose state_dir has the exam API listening, served from a thread; the
    service and its loop, for a test to act as a stethoscope would."""
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n')
    folder = exam_dir(tmp_path / "state")
    folder.mkdir(parents=True)
    store = ExamStore(folder / "exams.sqlite3")
    store.add_residents([Resident("res-1", "Room 1")])
    service = ExamService(store, "home", "pi", ["steth-1"], _discard, 4.0)
    try:
        with serving_on_socket(lambda: build_api(service), folder / SOCKET_NAME) as loop:
            yield config, service, loop
    finally:
        store.close()


@pytest.mark.parametrize(
    "args",
    [["record", "../../x"], ["show", "a/b"], ["close", "?abandon=1"], ["show", "not-a-uuid"]],
)
def test_an_exam_id_that_is_not_one_is_refused_by_the_agent_in_one_line(
    agent_config: Path, args: list[str]
) -> None:
    # Before: "../../x" left the exam routes; the agent's 404 page was not JSON, and reading
    # it as JSON ended the command in aiohttp's ContentTypeError traceback.
    result = CliRunner().invoke(exam_app, [*args, "--config", str(agent_config)])
    assert result.exit_code == 1, result.output
    assert "error: the agent refused: not an exam id" in result.output


def test_a_recording_dropped_before_any_sound_is_said_as_the_agent_says_it(
    served: tuple[Path, ExamService, asyncio.AbstractEventLoop],
) -> None:
    # Before: "error: the agent refused: recording ... was stopped before any sound arrived";
    # the agent had refused nothing (CI saw it when the agent stopped before the first block).
    config, service, loop = served
    service.attach("steth-1", 4000)
    opened = CliRunner().invoke(exam_app, ["start", "--resident", "res-1", "--protocol",
                                           "heart-4", "--config", str(config)])  # fmt: skip
    assert opened.exit_code == 0, opened.output

    async def lose_the_link_before_any_sound() -> None:
        slot = service.slots["steth-1"]
        while slot.recording is None:
            await asyncio.sleep(0.01)
        assert slot.segmenter is not None and slot.segmenter.flush() is None
        service.detach("steth-1")

    lost = asyncio.run_coroutine_threadsafe(lose_the_link_before_any_sound(), loop)
    result = CliRunner().invoke(exam_app, ["record", opened.stdout.strip(), "--device",
                                           "steth-1", "--config", str(config)])  # fmt: skip
    lost.result(10)
    assert result.exit_code == 1, result.output
    said = result.stderr.splitlines(keepends=True)[-1]  # after "recording aortic on ..."
    assert said.startswith("error: recording ") and said.endswith(
        "was stopped before any sound arrived: nothing was kept; record the site again\n"
    ), result.stderr


def test_staff_add_says_a_wrong_config_before_asking_for_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []  # (one command: Typer runs `staff add` as the group itself)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or "123456")
    result = CliRunner().invoke(staff_app, ["nurse-a", "--config", str(tmp_path / "no")])
    assert result.exit_code == 2 and asked == []
    assert "no" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [(["Nurse A"], "a staff id is 1-40 lower-case letters, digits, '.', '_' or '-'"),
     (["nurse-a", "--name", "n" * 81], "a display name of 1-80 characters")],
)  # fmt: skip
def test_staff_add_says_a_wrong_id_or_name_before_asking_for_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], said: str
) -> None:
    # Before: the PIN was asked twice, then the id or the name was refused.
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n')
    asked: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or "123456")
    result = CliRunner().invoke(staff_app, [*args, "--config", str(config)])
    assert result.exit_code == 2 and asked == [], result.output
    assert f"error: {said}" in result.output


def test_staff_add_saves_the_account_after_two_equal_entries(tmp_path: Path) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n')
    args = ["nurse-a", "--config", str(config)]
    differ = CliRunner().invoke(staff_app, args, input="123456\n654321\n")
    assert differ.exit_code == 2 and "error: the two entries differ" in differ.output
    result = CliRunner().invoke(staff_app, args, input="123456\n123456\n")
    assert result.exit_code == 0, result.output
    accounts = Accounts(exam_dir(tmp_path / "state") / ACCOUNTS_FILE)
    try:
        assert accounts.verify("nurse-a", "123456").staff_id == "nurse-a"
    finally:
        accounts.close()


def test_staff_add_refuses_a_state_dir_of_another_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Was: root's `stetho staff add` made exams/ and web.sqlite3 root's own (0700, 0600) in the
    service user's folder, and the agent could no longer open its accounts."""
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{state}"\n')
    if os.geteuid() == 0:  # as on a Pi: root runs it, the folder is the service user's
        os.chown(state, 65534, 65534)
    else:  # no chown without root: we play another user than the folder's owner
        monkeypatch.setattr(os, "geteuid", lambda: state.stat().st_uid + 1)
    result = CliRunner().invoke(staff_app, ["nurse-a", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "run this as that user" in result.output
    assert "sudo -u " in result.output
    assert not exam_dir(state).exists()


async def _posted(socket: Path, path: str, body: bytes) -> tuple[int, object]:
    connector = aiohttp.UnixConnector(path=str(socket))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.post(
            f"http://agent{path}", data=body, headers={"Content-Type": "application/json"}
        ) as response,  # fmt: skip
    ):
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"[1, 2]", "bad request: the body must be a JSON object, not an array"),
        (b'"resident"', "bad request: the body must be a JSON object, not a string"),
        (b"null", "bad request: the body must be a JSON object, not null"),
        (b"{not json", "bad request: Expecting property name enclosed in double quotes"),
        (b'{"staff": "n1"}', "bad request: 'resident'"),
        (b'{"resident": "r-1", "staff": "n1", "sites": 3}', "bad request: "),
    ],
)
def test_a_body_that_is_not_an_exam_request_is_a_400_in_json(
    agent_config: Path, body: bytes, said: str
) -> None:
    # Before: a JSON array (or any non-object) reached `body.get` and the agent answered 500.
    socket = exam_dir(agent_config.parent / "state") / SOCKET_NAME
    for path in ("/api/exams", "/api/exams/00000000-0000-0000-0000-000000000000/close"):
        status, answer = asyncio.run(_posted(socket, path, body))
        if path.endswith("close") and not said.startswith("bad request: the body"):
            continue  # an object: the exam is looked up first
        assert status == 400, answer
        assert isinstance(answer, dict) and answer["error"].startswith(said), answer


def test_exam_start_prints_the_exam_id_alone(agent_config: Path, tmp_path: Path) -> None:
    # docs/care-home.md: `stetho exam start ... # prints exam_id`, then `stetho exam record
    # <exam_id>`. It printed the whole exam as JSON, so `E=$(stetho exam start ...)` held JSON.
    store = ExamStore(exam_dir(tmp_path / "state") / "exams.sqlite3")
    store.add_residents([Resident("res-0042", "Room 12")])
    store.close()
    args = ["start", "--resident", "res-0042", "--config", str(agent_config)]
    result = CliRunner().invoke(exam_app, args)
    assert result.exit_code == 0, result.output
    exam_id = result.stdout.strip()
    assert str(uuid.UUID(exam_id)) == exam_id
    shown = CliRunner().invoke(exam_app, ["show", exam_id, "--config", str(agent_config)])
    assert shown.exit_code == 0 and json.loads(shown.stdout)["exam_id"] == exam_id


def test_staff_add_reads_a_piped_pin_without_getpass_warnings(tmp_path: Path) -> None:
    # Before: `printf '123456\n123456\n' | stetho staff add nurse-a` printed getpass's
    # "GetPassWarning: Can not control echo on the terminal." with a line of its source, and
    # "Warning: Password input may be echoed." twice: a provisioning script's log full of
    # what looks like a traceback.
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n')
    args = ["nurse-a", "--config", str(config)]
    result = CliRunner().invoke(staff_app, args, input="123456\n123456\n")
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output and "getpass" not in result.output
    accounts = Accounts(exam_dir(tmp_path / "state") / ACCOUNTS_FILE)
    try:
        assert accounts.verify("nurse-a", "123456").staff_id == "nurse-a"
    finally:
        accounts.close()
    empty = CliRunner().invoke(staff_app, ["nurse-b", "--config", str(config)], input="")
    assert empty.exit_code == 2
    assert "error: no PIN or password on standard input" in empty.output


@pytest.mark.parametrize(
    ("args", "said"),
    [(["record", str(uuid.UUID(int=1)), "--site", "kneecap"],
      "error: --site: 'kneecap' is not one of: aortic, pulmonic, "),
     (["start", "--resident", "res-0042", "--protocol", "heart"],
      "error: --protocol: 'heart' is not one of: heart-4, lung-anterior, lung-posterior, full, "
      "custom"),
     (["start", "--resident", "res-0042", "--protocol", "custom", "--site", "kneecap"],
      "error: --site: 'kneecap' is not one of: aortic, "),
     (["start", "--resident", "res-0042", "--site", "mitral"],
      "error: protocol 'heart-4' is built in: give no site list")],
)  # fmt: skip
def test_a_site_or_protocol_no_exam_can_take_is_a_usage_error(
    agent_config: Path, args: list[str], said: str
) -> None:
    # Before: sent to the agent, whose refusal ended the command with 1 ("the agent refused:
    # unknown auscultation site 'kneecap'; known: ..."), the status of a refusal by the world,
    # where a call no command can take is 2 everywhere else.
    result = CliRunner().invoke(exam_app, [*args, "--config", str(agent_config)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(said) and result.output.count("\n") == 1, result.output


def test_the_cli_refuses_by_the_agent_s_own_check_of_a_protocol(agent_config: Path) -> None:
    # Before: the CLI checked --protocol and --site itself, then resolve_protocol again, and
    # its own check spoke first: a built-in protocol given a mistyped site was refused for
    # the site ("--site: 'kneecap' is not one of: ..."), not for having sites at all.
    args = ["start", "--resident", "res-0042", "--site", "kneecap", "--config", str(agent_config)]
    result = CliRunner().invoke(exam_app, args)
    assert result.exit_code == 2, result.output
    assert result.output == "error: protocol 'heart-4' is built in: give no site list\n"
    with pytest.raises(UnknownProtocolError):
        resolve_protocol("heart-4", ["kneecap"])  # the same refusal, from the same place
    with pytest.raises(UnknownSiteError) as unknown:
        resolve_protocol("custom", ["mitral", " kneecap "])
    assert unknown.value.site == "kneecap"  # what the CLI names as --site's value


def test_a_blank_custom_site_is_skipped_as_the_agent_skips_it(agent_config: Path) -> None:
    args = ["start", "--resident", "res-0042", "--protocol", "custom", "--site", " ",
            "--config", str(agent_config)]  # fmt: skip
    result = CliRunner().invoke(exam_app, args)
    assert result.exit_code == 2, result.output  # the only site blank: none left
    assert result.output == "error: a custom protocol needs at least one site\n"


def test_a_recording_no_one_knows_is_refused_in_one_sentence(
    agent_config: Path, tmp_path: Path
) -> None:
    # What a waiting `exam record` reads after the agent restarted mid-recording.
    store = ExamStore(exam_dir(tmp_path / "state") / "exams.sqlite3")
    store.add_residents([Resident("res-0042", "Room 12")])
    store.close()
    args = ["start", "--resident", "res-0042", "--config", str(agent_config)]
    exam_id = CliRunner().invoke(exam_app, args).stdout.strip()
    socket = exam_dir(tmp_path / "state") / SOCKET_NAME
    rid = uuid.UUID(int=7)
    for recording, said in [(str(rid), f"exam {exam_id} has no recording {rid}: it is unknown, "
                             "or the agent restarted while it ran"),
                            ("x", "not a recording id")]:  # fmt: skip
        status, answer = asyncio.run(_got(socket, f"/api/exams/{exam_id}/recordings/{recording}"))
        assert (status, answer) == (409, {"error": said})


async def _got(socket: Path, path: str) -> tuple[int, object]:
    connector = aiohttp.UnixConnector(path=str(socket))
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(f"http://agent{path}") as response,
    ):
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("outcome", "said"),
    [({"site": "mitral", "duration_s": 15, "acceptable": True, "problems": [], "flags": []},
      "mitral: 15.0 s recorded, done"),
     ({"site": "mitral", "duration_s": 14.96, "acceptable": True, "problems": ["faint"],
       "flags": ["heart_murmur", "heart_irregular"]},
      "mitral: 15.0 s recorded, done (flags: heart_murmur, heart_irregular)\nnote: Faint sound, "
      "analysed all the same: next time, turn the stethoscope's "),
     ({"site": "aortic", "duration_s": 8.0, "acceptable": False,
       "problems": ["no_signal", "mains_hum"], "flags": ["quality_no_signal"]},
      "aortic: 8.0 s recorded, record again (flags: quality_no_signal): Too quiet: press the "
      "chest piece firmly on bare skin. Electrical hum picked up and removed: "),
     ({"site": "aortic", "duration_s": 8, "acceptable": False, "problems": [], "flags": []},
      "aortic: 8.0 s recorded, record again")],
)  # fmt: skip
def test_the_outcome_is_the_page_s_verdict_in_english(outcome: dict[str, Any], said: str) -> None:
    assert outcome_lines(outcome).startswith(said), outcome_lines(outcome)
    assert not outcome_lines(outcome).endswith(": ")


def test_an_agent_older_than_the_command_is_said_in_one_sentence(
    agent_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The agent's answer before it said the length (and had no recording route): the Pi's
    # package upgraded, the agent not restarted yet. It must not end in a KeyError.
    old = {"recording_id": str(uuid.UUID(int=3)), "site": "aortic", "device": "steth-1"}
    monkeypatch.setattr("edge_agent.cli.exam._answer", lambda *_: old)
    result = CliRunner().invoke(exam_app, ["record", str(uuid.UUID(int=1)), "--config",
                                           str(agent_config)])  # fmt: skip
    assert result.exit_code == 1
    assert result.output == (
        "error: the agent started aortic but is older than this command "
        "and cannot tell its outcome: restart it, or give --no-wait\n"
    )


@pytest.mark.parametrize("left", ["no socket", "a dead agent's socket"])
def test_no_agent_on_the_socket_is_one_sentence(tmp_path: Path, left: str) -> None:
    # aiohttp's connection error, said as ConnectionError since `stetho exam` stopped
    # importing aiohttp at start (s53-lazycli): no traceback, the socket named, exit 1.
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{tmp_path / "state"}"\n')
    socket = exam_dir(tmp_path / "state") / SOCKET_NAME
    if left == "a dead agent's socket":  # the file stays after a kill: connect is refused
        socket.parent.mkdir(parents=True)
        with sock.socket(sock.AF_UNIX) as bound:
            bound.bind(str(socket))
    result = CliRunner().invoke(exam_app, ["show", str(uuid.UUID(int=1)), "--config", str(config)])
    assert result.exit_code == 1
    assert result.output == f"error: no agent answers on {socket}: is it running with [web]?\n"


@pytest.mark.parametrize(
    ("outcome", "said"),
    [({"site": "mitral", "duration_s": 15, "acceptable": True, "problems": [], "flags": []},
      "mitral: 15.0 s recorded, done"),
     ({"site": "aortic", "duration_s": 8, "acceptable": False, "problems": [], "flags": []},
      "aortic: 8.0 s recorded, record again"),
     ({"site": "aortic", "duration_s": 8, "acceptable": False, "problems": ["from_a_newer_agent"],
       "flags": []},
      "aortic: 8.0 s recorded, record again: Talking or noise: ask the resident to stay silent, "
      "quiet the room.")],
)  # fmt: skip
def test_the_outcome_line_whole_and_a_problem_this_cli_does_not_know(
    outcome: dict[str, Any], said: str
) -> None:
    # Nothing after the verdict when there is nothing to say; a problem code newer than this
    # command gets the page's general advice, as the page gives it.
    assert outcome_lines(outcome) == said


@pytest.mark.parametrize("named", [True, False])
def test_staff_add_names_the_owner_of_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, named: bool
) -> None:
    state = tmp_path / "state"
    state.mkdir()
    config = tmp_path / "agent.toml"
    config.write_text(f'site = "home"\n[storage]\nstate_dir = "{state}"\n')
    monkeypatch.setattr(os, "geteuid", lambda: state.stat().st_uid + 1)  # someone else
    owner = str(state.stat().st_uid)  # a uid with no passwd entry (a container) as a number
    if named:
        owner = pwd.getpwuid(state.stat().st_uid).pw_name
    else:

        def unknown(uid: int) -> pwd.struct_passwd:
            raise KeyError(uid)

        monkeypatch.setattr(pwd, "getpwuid", unknown)
    result = CliRunner().invoke(staff_app, ["nurse-a", "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert result.output == (
        f"error: {state} belongs to the agent's user {owner}: run this as that user "
        f"(sudo -u {owner} stetho staff add ...), so the agent can read the accounts\n"
    )
