"""What every doctor command accepts as its broker, option by option, refusals word for word."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from edge_agent.errors import ConfigError
from edge_agent.transport.tls_errors import COMMAND_OPTIONS, CONFIG_KEYS, TlsFiles
from stetho_doctor.client import DoctorToolError
from stetho_doctor.options import BrokerChoice, broker_options


def _private(path: Path, text: str = "x", mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def pem(tmp_path: Path) -> Path:
    return _private(tmp_path / "f.pem")


@pytest.fixture(autouse=True)
def no_doctor_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("STETHO_BROKER_PASSWORD", raising=False)
    return tmp_path / "xdg" / "stetho" / "doctor.toml"


def refusal(choice: BrokerChoice) -> tuple[str, list[str]]:
    with pytest.raises(ConfigError) as refused:
        choice.settings()
    return refused.value.file, refused.value.problems


def test_a_broker_url_and_a_config_file_together_are_refused(tmp_path: Path) -> None:
    choice = BrokerChoice(config=tmp_path / "a.toml", broker="mqtt://h")
    with pytest.raises(DoctorToolError) as refused:
        choice.settings()
    assert str(refused.value) == "give one of --broker URL or --config FILE, not both"


def test_neither_without_the_doctors_file_says_where_it_would_be(no_doctor_file: Path) -> None:
    with pytest.raises(DoctorToolError) as refused:
        BrokerChoice().settings()
    assert str(refused.value) == (
        "give --broker URL or --config FILE, or write the broker's [broker] table to "
        f"{no_doctor_file}"
    )


def test_the_doctors_own_file_is_read_and_its_keys_named(no_doctor_file: Path) -> None:
    no_doctor_file.parent.mkdir(parents=True)
    no_doctor_file.write_text('[broker]\nhost = "hub.local"\nport = 1999\nusername = "dr"\n')
    settings = BrokerChoice().settings(("a/b",))
    assert (settings.host, settings.port, settings.username) == ("hub.local", 1999, "dr")
    assert settings.subscriptions == ("a/b",)
    assert settings.tls_words == CONFIG_KEYS  # the file's [broker] keys are what to fix


def test_a_config_keeps_its_values_unless_an_option_says_otherwise(tmp_path: Path) -> None:
    config = tmp_path / "d.toml"
    config.write_text('[broker]\nhost = "h"\nusername = "from-file"\n')
    kept = BrokerChoice(config=config).settings()
    assert (kept.host, kept.username, kept.password) == ("h", "from-file", None)
    secret = _private(tmp_path / "pw", "s3cret\n")
    told = BrokerChoice(config=config, password_file=secret).settings()
    assert (told.username, told.password) == ("from-file", "s3cret")
    renamed = BrokerChoice(config=config, username="dr-lee").settings()
    assert (renamed.host, renamed.username) == ("h", "dr-lee")
    assert renamed.tls_words == CONFIG_KEYS


def test_a_config_refuses_an_option_its_broker_table_cannot_take(tmp_path: Path) -> None:
    config = tmp_path / "d.toml"
    config.write_text('[broker]\nhost = "h"\n')
    missing = tmp_path / "nope"
    file, problems = refusal(BrokerChoice(config=config, password_file=missing))
    assert file == str(config) and len(problems) == 1 and "password_file" in problems[0]


def test_a_broker_url_with_its_options(tmp_path: Path) -> None:
    secret = _private(tmp_path / "pw", "s3cret\n")
    choice = BrokerChoice(
        broker="mqtt://hub:1884", username="dr", password_file=secret, client_id="dr-lee"
    )
    settings = choice.settings(("x/y", "x/z"))
    assert (settings.host, settings.port, settings.tls) == ("hub", 1884, False)
    assert (settings.username, settings.password) == ("dr", "s3cret")
    assert (settings.client_id, settings.clean_start) == ("dr-lee", False)
    assert settings.subscriptions == ("x/y", "x/z")
    assert settings.tls_words == COMMAND_OPTIONS  # a doctor who typed --ca-file is told that


def test_the_tls_files_reach_the_connection(pem: Path, tmp_path: Path) -> None:
    key = _private(tmp_path / "k.pem")
    choice = BrokerChoice(broker="mqtts://hub", tls=TlsFiles(pem, pem, key))
    settings = choice.settings()
    assert (settings.port, settings.tls) == (8883, True)
    assert (settings.ca_file, settings.cert_file, settings.key_file) == (
        str(pem),
        str(pem),
        str(key),
    )


@pytest.mark.parametrize("option", ["--password-file", "--key-file"])
def test_a_secret_others_may_read_is_refused_by_its_option(option: str, tmp_path: Path) -> None:
    loose = _private(tmp_path / "secret", mode=0o640)
    cert = _private(tmp_path / "c.pem")
    if option == "--key-file":
        choice = BrokerChoice(broker="mqtts://h", tls=TlsFiles(cert_file=cert, key_file=loose))
    else:
        choice = BrokerChoice(broker="mqtt://h", password_file=loose)
    assert refusal(choice) == (
        str(loose),
        [
            f"{option}: this file holds a secret but is readable by group or others (mode 0640); "
            f"run `chmod 600 {loose}`"
        ],
    )


def test_a_missing_password_file_is_refused_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    file, problems = refusal(BrokerChoice(broker="mqtt://h", password_file=missing))
    assert file == "--broker" and len(problems) == 1 and "password_file" in problems[0]


def test_a_folder_given_as_a_tls_file_is_not_a_file(tmp_path: Path, pem: Path) -> None:
    folder = tmp_path / "certs"
    folder.mkdir()
    folder.chmod(0o755)  # its mode is not a secret's: it is no file at all
    choice = BrokerChoice(broker="mqtts://h", tls=TlsFiles(cert_file=pem, key_file=folder))
    assert refusal(choice) == ("--key-file", [f"not a file: {folder}"])


def test_tls_files_without_any_broker_name_the_doctors_file(pem: Path) -> None:
    choice = BrokerChoice(tls=TlsFiles(cert_file=pem, key_file=pem))
    assert refusal(choice) == (
        "--cert-file",  # the first given, in the options' order
        ["goes with --broker: with --config, the doctor's file's [broker] table names the TLS "
         "files"],
    )  # fmt: skip


def test_two_tls_files_with_a_plain_url_need_an_mqtts_one(pem: Path) -> None:
    choice = BrokerChoice(broker="mqtt://h", tls=TlsFiles(cert_file=pem, key_file=pem))
    assert refusal(choice) == (
        "--broker",
        [
            "expected an mqtts:// URL with --cert-file, --key-file (without it they are unused and "
            "the link to the broker is not encrypted)"
        ],
    )
    bare = BrokerChoice(broker="h:8883", tls=TlsFiles(ca_file=pem))  # plain, as typed
    assert refusal(bare)[0] == "--broker"


def test_a_key_without_its_certificate_is_refused(pem: Path) -> None:
    choice = BrokerChoice(broker="mqtts://h", tls=TlsFiles(key_file=pem))
    assert refusal(choice) == (
        "--key-file",
        ["expected --cert-file and --key-file together (a client certificate needs its key)"],
    )


def _app(session: bool) -> tuple[typer.Typer, list[Any]]:
    seen: list[Any] = []
    app = typer.Typer()

    @app.command()
    @(broker_options(session=True) if session else broker_options())  # the default: none
    def follow(site: str, *, choice: BrokerChoice, count: int = 1) -> None:
        seen.append((site, choice, count))

    return app, seen


def test_a_command_receives_its_broker_options_as_one_choice(tmp_path: Path) -> None:
    app, seen = _app(session=True)
    args = ["home-a", "--broker", "mqtts://h", "--ca-file", "ca.pem", "--cert-file", "c.pem",
            "--key-file", "k.pem", "--username", "dr", "--password-file", "pw", "--client-id",
            "dr-lee", "--count", "3"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert seen == [
        (
            "home-a",
            BrokerChoice(
                broker="mqtts://h",
                tls=TlsFiles(Path("ca.pem"), Path("c.pem"), Path("k.pem")),
                username="dr",
                password_file=Path("pw"),
                client_id="dr-lee",
            ),
            3,
        )
    ]
    seen.clear()
    assert CliRunner().invoke(app, ["home-b", "-c", "a.toml"]).exit_code == 0
    assert seen == [("home-b", BrokerChoice(config=Path("a.toml")), 1)]


def test_only_a_command_that_follows_a_topic_offers_a_session() -> None:
    app, seen = _app(session=False)
    result = CliRunner().invoke(app, ["home-a", "--client-id", "dr-lee"])
    assert result.exit_code == 2 and not seen
    assert CliRunner().invoke(app, ["home-a"]).exit_code == 0
    assert seen == [("home-a", BrokerChoice(), 1)]


def test_the_options_are_keywords_that_default_to_nothing() -> None:
    def command(site: str, *, choice: BrokerChoice) -> None:
        del site, choice

    parameters = inspect.signature(broker_options(session=True)(command)).parameters
    assert list(parameters) == [
        "site", "config", "broker", "ca_file", "cert_file", "key_file", "username",
        "password_file", "client_id",
    ]  # fmt: skip
    for name, parameter in list(parameters.items())[1:]:
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, name
        assert parameter.default is None, name
    assert str(parameters["ca_file"].annotation).startswith("typing.Annotated[pathlib.Path | None")
    assert str(parameters["broker"].annotation).startswith("typing.Annotated[str | None")
    # The command's own annotations as types, not the strings `from __future__` leaves.
    assert parameters["site"].annotation is str


def test_each_option_is_explained_in_the_commands_help() -> None:
    app, _ = _app(session=True)
    result = CliRunner().invoke(app, ["--help"], env={"TERMINAL_WIDTH": "200"})
    said = " ".join(result.output.replace("│", " ").split())
    # Each row whole: the option, its value's kind, its help and nothing more.
    assert (
        "--config -c <path> Take the broker from this agent config. "
        "--broker <str> mqtt://host:1883 or mqtts://host:8883 "
        "--ca-file <path> CA certificate (PEM); mqtts:// only. "
        "--cert-file <path> Client cert (PEM); with --key-file. "
        "--key-file <path> Client private key (PEM, mode 0600). "
        "--username <str> MQTT username. "
        "--password-file <path> File holding the MQTT password. "
        "--client-id <str> Persistent session: alerts sent while away are kept. "
        "--install-completion"
    ) in said, said
