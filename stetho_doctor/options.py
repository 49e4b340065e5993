"""The broker and TLS options of every doctor command, defined once.

Typer has no parameter groups, so :func:`broker_options` adds these options to a command's
signature and hands the command one :class:`BrokerChoice` built from them.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from edge_agent.errors import ConfigError
from edge_agent.transport.tls_errors import COMMAND_OPTIONS, TlsFiles
from stetho_common.config_file import check_secret_permissions
from stetho_common.tls_files import OPTION_NAMES, tls_files_problem
from stetho_doctor.errors import DoctorToolError

if TYPE_CHECKING:
    from edge_agent.transport.mqtt import MqttSettings

__all__ = ["BrokerChoice", "broker_options"]


@dataclasses.dataclass(frozen=True)
class BrokerChoice:
    """Where a doctor command connects: a broker URL with TLS flags, or an agent's config."""

    config: Path | None = None
    broker: str | None = None
    tls: TlsFiles = dataclasses.field(default_factory=TlsFiles)
    username: str | None = None
    password_file: Path | None = None
    client_id: str | None = None

    def settings(self, subscriptions: tuple[str, ...] = ()) -> MqttSettings:
        """Broker settings from --broker (and TLS flags) or from an agent's --config.

        Both go through the agent's own builder: the same password precedence (environment,
        password file, password) and the same checks of TLS and password files.
        """
        # Imported here: a command's --help and refused arguments load no config models or
        # broker client (tests/test_cli_light.py).
        from edge_agent.config import load_broker
        from edge_agent.transport.settings import broker_from_url, broker_settings
        from stetho_doctor.client import default_doctor_config, doctor_config_path

        if self.config is not None and self.broker is not None:
            raise DoctorToolError("give one of --broker URL or --config FILE, not both")
        given = {"--password-file": self.password_file, "--key-file": self.tls.key_file}
        present = [(o, Path(f)) for o, f in given.items() if f is not None and Path(f).is_file()]
        check_secret_permissions(present, ConfigError)  # as in a config file; a missing one below
        _check_tls_options(self.broker, self.config, self.tls)
        overrides = {"username": self.username, "password_file": self.password_file}
        if self.broker is not None:
            broker = broker_from_url(
                self.broker,
                ca_file=self.tls.ca_file,
                cert_file=self.tls.cert_file,
                key_file=self.tls.key_file,
                **overrides,
            )
        else:
            path = self.config or default_doctor_config()
            if path is None:
                raise DoctorToolError(
                    "give --broker URL or --config FILE, or write the broker's [broker] "
                    f"table to {doctor_config_path()}"
                )
            broker = load_broker(path)
            set_here = {k: v for k, v in overrides.items() if v is not None}
            if set_here:
                broker = broker.checked(str(path), {**broker.model_dump(), **set_here})
        settings = broker_settings(broker, self.client_id, subscriptions=subscriptions)
        if self.broker is None:  # the file's [broker] keys are what to fix
            return settings
        return dataclasses.replace(settings, tls_words=COMMAND_OPTIONS)


def _check_tls_options(url: str | None, config: Path | None, tls: TlsFiles) -> None:
    """The TLS options refused by their own names, before the broker's builder names keys."""
    named = ((OPTION_NAMES.ca, tls.ca_file), (OPTION_NAMES.cert, tls.cert_file),
             (OPTION_NAMES.key, tls.key_file))  # fmt: skip
    given = {option: Path(path) for option, path in named if path is not None}
    for option, path in given.items():
        if not path.is_file():
            raise ConfigError(
                option, [f"{'not a file' if path.exists() else 'no such file'}: {path}"]
            )
    if given and url is None:  # they would be left out without a word
        where = config or "the doctor's file"
        raise ConfigError(
            next(iter(given)),
            [f"goes with --broker: with --config, {where}'s [broker] table names the TLS files"],
        )
    if url is None:
        return
    secure = url.startswith("mqtts://")
    problem = tls_files_problem(
        OPTION_NAMES,
        tls=secure,
        ca_file=tls.ca_file,
        cert_file=tls.cert_file,
        key_file=tls.key_file,
    )
    if problem is not None:  # the URL to fix, or the certificate or key given alone
        where = "--broker" if not secure else next(o for o in given if o != "--ca-file")
        raise ConfigError(where, [f"expected {problem}"])


def _option(name: str, kind: Any, *decls: str, help_text: str) -> inspect.Parameter:
    annotation = Annotated[kind | None, typer.Option(*decls, help=help_text)]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation
    )


def _parameters(session: bool) -> tuple[inspect.Parameter, ...]:
    # Built per decorated command, not once at import: mutation testing reaches only code that
    # runs inside a test (bench/mutate.py), and these are what each command accepts.
    broker = (
        _option("config", Path, "--config", "-c",
                help_text="Take the broker from this agent config."),
        _option("broker", str, "--broker", help_text="mqtt://host:1883 or mqtts://host:8883"),
        _option("ca_file", Path, "--ca-file", help_text="CA certificate (PEM); mqtts:// only."),
        _option("cert_file", Path, "--cert-file", help_text="Client cert (PEM); with --key-file."),
        _option("key_file", Path, "--key-file", help_text="Client private key (PEM, mode 0600)."),
        _option("username", str, "--username", help_text="MQTT username."),
        _option("password_file", Path, "--password-file",
                help_text="File holding the MQTT password."),
    )  # fmt: skip
    if not session:
        return broker
    persistent = "Persistent session: alerts sent while away are kept."
    return (*broker, _option("client_id", str, "--client-id", help_text=persistent))


def _choice_from(options: dict[str, Any]) -> BrokerChoice:
    tls = TlsFiles(options.pop("ca_file"), options.pop("cert_file"), options.pop("key_file"))
    return BrokerChoice(tls=tls, **options)


def broker_options(
    *, session: bool = False
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Give a command the broker options; it takes them as one ``choice: BrokerChoice``.

    Parameters
    ----------
    session : bool
        Also offer ``--client-id`` (a persistent session, for commands that follow a topic).
    """
    added = _parameters(session)

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        own = inspect.signature(command, eval_str=True).parameters.values()

        @functools.wraps(command)
        def wrapped(*args: Any, **kwargs: Any) -> None:
            options = {p.name: kwargs.pop(p.name) for p in added}
            command(*args, choice=_choice_from(options), **kwargs)

        kept = [p for p in own if p.name != "choice"]
        wrapped.__signature__ = inspect.Signature([*kept, *added])  # type: ignore[attr-defined]
        return wrapped

    return decorate
