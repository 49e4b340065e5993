"""`stetho hub` commands and the config file's errors, as an operator meets them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge_agent.runtime.local_broker import LocalBroker
from stetho_hub.cli import hub_app
from stetho_hub.config import load_config
from stetho_hub.errors import HubConfigError
from stetho_hub.fhir.cli import app as fhir_app
from stetho_hub.storage import DatabaseTarget, open_database
from stetho_hub.storage.users import check_sign_in

runner = CliRunner()


def _config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(f'[database]\nsqlite = "hub.db"\n{extra}', encoding="utf-8")
    return path


def test_migrate_status_and_user_add(tmp_path: Path) -> None:
    config = _config(tmp_path)
    result = runner.invoke(hub_app, ["status", "--config", str(config)])
    assert result.exit_code == 1 and "stetho hub migrate" in result.output
    for command in ("init-db", "migrate"):
        result = runner.invoke(hub_app, [command, "--config", str(config)])
        assert result.exit_code == 0, result.output
    assert "already current" in result.output
    secret = tmp_path / "pw"
    secret.write_text("correct horse battery\n", encoding="utf-8")
    args = ["user", "add", "dr-lee", "--config", str(config), "--password-file", str(secret)]
    result = runner.invoke(hub_app, [*args, "--site", "home-a", "--site", "home-b"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(hub_app, args)
    assert result.exit_code == 1 and "already exists" in result.output
    result = runner.invoke(hub_app, ["status", "--config", str(config), "--json"])
    assert json.loads(result.output)["users"] == 1
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")))
    try:
        assert check_sign_in(db, "dr-lee", "correct horse battery") == (
            "doctor",
            ("home-a", "home-b"),
        )
        assert check_sign_in(db, "dr-lee", "wrong") is None
        with db.transaction() as tx:
            stored = tx.one("SELECT password_hash FROM users")
        assert stored is not None and "correct" not in stored[0]
    finally:
        db.close()


def test_a_short_password_or_unknown_role_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    secret = tmp_path / "pw"
    secret.write_text("short", encoding="utf-8")
    base = ["user", "add", "x", "--config", str(config), "--password-file", str(secret)]
    short = runner.invoke(hub_app, base)
    assert "at least 12" in short.output and short.exit_code == 2  # a usage error, as the rest
    secret.write_text("long enough password", encoding="utf-8")
    role = runner.invoke(hub_app, [*base, "--role", "x"])
    assert "expected one of doctor, admin" in role.output and role.exit_code == 2
    named = ["user", "add", "dr-x\n", "--config", str(config), "--password-file", str(secret)]
    refused = runner.invoke(hub_app, named)
    assert "expected lowercase letters" in refused.output and refused.exit_code == 2  # `$`, \n


def test_a_wrong_name_is_refused_before_the_password_prompts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: both prompts first, then "username ...: expected ...", exit 1.
    config = _config(tmp_path)
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    asked: list[str] = []
    monkeypatch.setattr(
        "stetho_hub.cli.ask_secret", lambda prompt, what: asked.append(prompt) or "x" * 20
    )
    result = runner.invoke(hub_app, ["user", "add", "Dr Lee", "--config", str(config)])
    assert result.exit_code == 2 and "expected lowercase letters" in result.output
    assert asked == []
    result = runner.invoke(hub_app, ["user", "add", "dr-lee", "--config", str(config)])
    assert result.exit_code == 0 and len(asked) == 2, result.output


def test_user_add_reads_a_piped_password_without_getpass_warnings(tmp_path: Path) -> None:
    # Before: `printf 'pw\npw\n' | stetho hub user add dr-lee` printed getpass's
    # "GetPassWarning: Can not control echo on the terminal." with a line of its source and
    # "Warning: Password input may be echoed." twice; nothing piped ended in "Aborted!", exit 1.
    config = _config(tmp_path)
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    args = ["user", "add", "dr-lee", "--config", str(config)]
    result = runner.invoke(hub_app, args, input="correct horse battery\n" * 2)
    assert result.exit_code == 0, result.output
    assert "Warning" not in result.output and "getpass" not in result.output
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")))
    try:
        assert check_sign_in(db, "dr-lee", "correct horse battery") == ("doctor", ())
    finally:
        db.close()
    empty = runner.invoke(hub_app, ["user", "add", "dr-ng", "--config", str(config)], input="")
    assert empty.exit_code == 2
    assert "error: no password on standard input" in empty.output


def test_a_name_or_site_out_of_its_rule_is_told_the_rule(tmp_path: Path) -> None:
    # A 65-character name was told "expected lowercase letters, digits, . _ -", which it was,
    # and a bad --site only "expected a care home's slug".
    config = _config(tmp_path)
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    secret = tmp_path / "pw"
    secret.write_text("long enough password", encoding="utf-8")
    base = ["user", "add", "--config", str(config), "--password-file", str(secret)]
    long_name = runner.invoke(hub_app, [*base, "d" * 65]).output
    assert (
        f"username {'d' * 65!r}: expected lowercase letters, digits, . _ - (1 to 64, the first "
        "a letter or digit)" in " ".join(long_name.split())
    )
    bad_site = runner.invoke(hub_app, [*base, "dr-x", "--site", "Home A"]).output
    assert (
        "site 'Home A': expected a care home's id: 1 to 63 lower-case letters, digits and "
        "dashes, the first a letter or digit" in " ".join(bad_site.split())
    )


def test_an_unreadable_password_file_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    config = _config(tmp_path)
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    (tmp_path / "latin1").write_bytes(b"caf\xe9 au lait 2024\n")
    for name, said in [("absent", "cannot read --password-file {}: No such file or directory"),
                       (".", "cannot read --password-file {}: Is a directory"),
                       ("latin1", "--password-file {} is not UTF-8 text")]:  # fmt: skip
        path = tmp_path / name
        args = ["user", "add", "dr-lee", "--config", str(config), "--password-file", str(path)]
        result = runner.invoke(hub_app, args)
        assert result.exit_code == 2, result.output
        assert said.format(path) in " ".join(result.output.split())


FHIR_ON = """[broker]
port = 1
[fhir]
base_url = "https://fhir.hospital.example"
resident_system = "urn:resident"
agent_system = "urn:agent"
provenance_tag_system = "urn:tag"
"""


@pytest.mark.parametrize("command", ["status", "run"])
def test_a_fhir_queue_that_cannot_open_is_one_line_not_a_traceback(
    tmp_path: Path, command: str
) -> None:
    # Before: FhirConfigError is no HubError, so `status` let it out as a traceback, and `run`
    # got it (or any task's error) inside the TaskGroup's ExceptionGroup.
    (tmp_path / "a-folder").mkdir()
    config = _config(tmp_path, FHIR_ON + 'queue = "a-folder"\n')
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    token = {"STETHO_FHIR_TOKEN": "t"}  # `run` checks the server settings first
    result = runner.invoke(hub_app, [command, "--config", str(config)], env=token)
    assert result.exit_code == 1, result.output
    assert f"error: cannot open the FHIR queue at {tmp_path / 'a-folder'}: " in " ".join(
        result.output.split()
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_fhir_token_file_that_is_not_text_stops_the_hub_with_one_line(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_bytes(b"\xff\xfe")
    token.chmod(0o600)
    config = _config(tmp_path, FHIR_ON + 'token_file = "token"\n')
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    result = runner.invoke(hub_app, ["run", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert f"error: fhir.token_file: cannot read {token}: " in " ".join(result.output.split())


@pytest.mark.broker
def test_an_unreadable_fhir_token_stops_the_hub_before_it_connects(
    broker: LocalBroker, tmp_path: Path
) -> None:
    # Before: the token was read inside the export task, after the ingest had started to
    # connect; the TaskGroup then cancelled that connect half-way and the hub exited with the
    # right line plus, now and then, paho's "Exception ignored ... Event loop is closed"
    # traceback and asyncio's "Task was destroyed but it is pending!".
    token = tmp_path / "token"
    token.write_bytes(b"\xff\xfe")
    token.chmod(0o600)
    on_broker = FHIR_ON.replace("port = 1\n", f"port = {broker.port}\n")
    config = _config(tmp_path, on_broker + 'token_file = "token"\n')
    done = subprocess.run([sys.executable, "-m", "stetho_hub", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert f"error: fhir.token_file: cannot read {token}: " in " ".join(done.stderr.split())
    said = done.stdout + done.stderr  # the log goes to stdout, the error line to stderr
    assert "event=hub_starting" not in said and "Traceback" not in said


def test_a_database_with_a_gap_stops_run_and_migrate_with_one_line(tmp_path: Path) -> None:
    # Before: `run` migrated, so the gap's migration 2 ran after 3 ("table audit_log already
    # exists", a retryable error), and a newer hub's database ran without a word.
    config = _config(tmp_path)
    assert runner.invoke(hub_app, ["migrate", "--config", str(config)]).exit_code == 0
    db = open_database(DatabaseTarget("sqlite", str(tmp_path / "hub.db")))
    with db.transaction() as tx:
        tx.execute("DELETE FROM schema_migrations WHERE version = 2")
    db.close()
    done = subprocess.run([sys.executable, "-m", "stetho_hub", "run", "--config", str(config)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert " ".join(done.stderr.split()) == (
        f"error: the database sqlite:{tmp_path / 'hub.db'} lacks migration 2 although later "
        "ones are applied (a gap `stetho hub migrate` never leaves); see docs/hospital.md §3, "
        '"Schema checks"'
    )
    said = done.stdout + done.stderr
    assert "event=hub_starting" not in said and "Traceback" not in said
    for command in ("migrate", "status"):
        result = runner.invoke(hub_app, [command, "--config", str(config)])
        assert result.exit_code == 1 and "lacks migration 2 although" in result.output
    guide = (Path(__file__).resolve().parents[2] / "docs" / "hospital.md").read_text("utf-8")
    section = guide.split("\n## 3. ")[1].split("\n## 4. ")[0]
    assert "\n### Schema checks\n" in section  # where the sentence sends the reader


def test_a_fhir_base_url_that_cannot_be_read_stops_the_hub_with_one_line(tmp_path: Path) -> None:
    # Before: urlsplit's "Invalid IPv6 URL" ValueError, a traceback from `stetho hub run`.
    config = _config(tmp_path, FHIR_ON.replace("fhir.hospital.example", "[::1"))
    runner.invoke(hub_app, ["migrate", "--config", str(config)])
    result = runner.invoke(hub_app, ["run", "--config", str(config)],
                           env={"STETHO_FHIR_TOKEN": "t"})  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "error: FHIR base URL must be https://host/path (health data), not " in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("value", ["nan", "-1", "0", "1e308"])
def test_the_fhir_senders_backoff_must_be_a_wait(tmp_path: Path, value: str) -> None:
    # Before: taken; -1 or 0 retried a failing server without pause, nan never again.
    result = runner.invoke(fhir_app, ["send", "--queue", str(tmp_path / "q.sqlite3"),
                                      "--base-url", "https://fhir.example/r4",
                                      "--max-backoff-s", value, "--until-empty"],
                           env={"STETHO_FHIR_TOKEN": "t"})  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--max-backoff-s" in result.output
    assert not (tmp_path / "q.sqlite3").exists()


def test_the_fhir_tools_run_alone_say_only_their_line(tmp_path: Path) -> None:
    # docs/fhir.md ran them as `python -m stetho_hub.fhir.cli`, which printed runpy's
    # "RuntimeWarning: 'stetho_hub.fhir.cli' found in sys.modules after import of package
    # 'stetho_hub.fhir' ..." before every answer (the package imports its cli module).
    broken = tmp_path / "x.recording.json"
    broken.write_text("{")
    done = subprocess.run([sys.executable, "-m", "stetho_hub.fhir", "build", str(broken)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"error: {broken.name} is not a saved stetho.recording")
    assert "Warning" not in done.stderr


def test_the_fhir_senders_token_file_that_is_not_text_is_one_line(tmp_path: Path) -> None:
    # The sender run on its own reads its --token-file as the hub reads fhir.token_file.
    token = tmp_path / "token"
    token.write_bytes(b"\xff\xfe")
    result = runner.invoke(fhir_app, ["send", "--queue", str(tmp_path / "q.sqlite3"),
                                      "--base-url", "https://fhir.example/r4",
                                      "--token-file", str(token), "--until-empty"])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"error: --token-file: cannot read {token}: " in " ".join(result.output.split())
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_console_port_in_use_stops_the_hub_with_one_line(tmp_path: Path) -> None:
    # Before: aiohttp's OSError came out of the TaskGroup as an ExceptionGroup traceback.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = _config(
            tmp_path, f"[broker]\nport = 1\n[console]\nenabled = true\nport = {port}\n"
        )
        result = runner.invoke(hub_app, ["run", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert (
        f"error: the doctors' console cannot listen on 127.0.0.1:{port} (console.host, "
        "console.port): error while attempting to bind on address"
    ) in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "database: required key is missing"),
        ('[database]\nsqlite = "a"\npostgresql = "b"\n', "database: expected exactly one of"),
        ('[database]\nsqlite = "a"\n[broker]\nprot = 1\n', "broker.prot: unknown key"),
        ('[database]\nsqlite = "a"\n[broker]\nport = 0\n', "broker.port: expected"),
        ('hub_id = "Hub 1"\n[database]\nsqlite = "a"\n', "hub_id: expected"),
        (
            '[database]\npostgresql = "postgresql://hub:secret@db/hub"\n',
            "database.postgresql: expected a connection string without a password",
        ),
        ('[database]\nsqlite = "a"\n[broker]\nca_file = "nope.pem"\n', "broker.ca_file"),
        ("[database\n", "not valid TOML"),
        ('[database]\nsqlite = "a"\n[broker]\nhost = ""\n', "broker.host: expected a host name"),
        (
            '[database]\nsqlite = "a"\n[fhir]\nca_file = "."\n',
            "fhir.ca_file: expected an existing file (a folder: ",
        ),
        (
            '[database]\nsqlite = "a"\n[broker]\nfailback_s = inf\n',
            "broker.failback_s: expected a finite number; found inf",
        ),
        (  # passed, and served the doctors' console on every interface (0.0.0.0 and ::)
            '[database]\nsqlite = "a"\n[console]\nhost = ""\n',
            "console.host: expected a host name or IP address, not empty and without spaces",
        ),
        (  # passed, then `stetho hub run` died in paho (a Four Byte Integer, MQTT 5.0)
            '[database]\nsqlite = "a"\n[broker]\nsession_expiry_s = 99999999999\n',
            "broker.session_expiry_s: expected less than or equal to 4294967295",
        ),
    ],
)
def test_config_errors_name_the_file_the_key_and_the_expectation(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HubConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value) and expected in str(caught.value)
    result = runner.invoke(hub_app, ["migrate", "--config", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("key", "table"),
    [
        ("broker.password", '[broker]\npassword = "inline"\n'),
        ("broker.password_file", '[broker]\npassword_file = "secret"\n'),
        ("broker.key_file", '[broker]\ntls = true\ncert_file = "cert"\nkey_file = "secret"\n'),
        ("fhir.token_file", FHIR_ON + 'token_file = "secret"\n'),
        ("fhir.key_file", FHIR_ON + 'cert_file = "cert"\nkey_file = "secret"\n'),
    ],
)
def test_a_secret_others_may_read_is_refused_as_the_agent_refuses_it(
    tmp_path: Path, key: str, table: str
) -> None:
    # Before: a broker password written in hub.toml passed at 0644 (the agent refuses it), and
    # the hub's words for the other files were its own.
    for name in ("secret", "cert"):
        (tmp_path / name).write_text("x\n", encoding="utf-8")
        (tmp_path / name).chmod(0o600)
    config = _config(tmp_path, table)
    config.chmod(0o600)
    load_config(config)  # every secret its owner's alone: taken
    exposed = config if key == "broker.password" else tmp_path / "secret"
    exposed.chmod(0o640)
    with pytest.raises(HubConfigError) as caught:
        load_config(config)
    assert caught.value.problems == [
        f"{key}: this file holds a secret but is readable by group or others (mode 0640); "
        f"run `chmod 600 {exposed}`"
    ]
    result = runner.invoke(hub_app, ["migrate", "--config", str(config)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_relative_paths_count_from_the_config_file(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, '[archive]\naudio_dir = "sounds"\n'))
    assert config.archive.audio_dir == tmp_path / "sounds"
    assert config.database.target() == DatabaseTarget("sqlite", str(tmp_path / "hub.db"))
    assert config.client_id == "stetho-hub-hub"
    assert load_config(_config(tmp_path)).archive.audio_dir == tmp_path / "audio"
