"""The hub's configuration: a TOML file parsed into strict pydantic models.

Every error names the file, the key, what was expected and what was found: the reader is
a hospital's IT team at a terminal. Relative paths count from the config file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic import field_validator as _field_validator

from edge_agent.config import BrokerConfig, Float, Int, broker_secrets, describe_error, host_name
from stetho_common.config_file import check_secret_permissions, read_toml
from stetho_common.ids import SLUG_PATTERN
from stetho_hub.errors import HubConfigError
from stetho_hub.fhir._ids import is_identifier_system
from stetho_hub.storage import DatabaseTarget

Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]


class _Strict(BaseModel):
    # TOML has inf and nan: no duration or size here means either.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _resolve(value: Path | None, info: ValidationInfo) -> Path | None:
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if value is not None and base is not None and not value.is_absolute():
        return Path(base) / value
    return value


class HubBrokerConfig(BrokerConfig):
    """The agent's `[broker]` table (one meaning for every key, one settings builder), plus
    what only a subscriber that stores before it acknowledges needs."""

    shared_group: Slug | None = None
    receive_maximum: Int = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _shared_needs_v5(self) -> HubBrokerConfig:
        if self.protocol == "3.1.1" and self.shared_group is not None:
            raise ValueError(
                'shared_group: shared subscriptions are MQTT v5; with protocol = "3.1.1" '
                "run one hub per broker, or leave shared_group out"
            )
        return self


class HubDatabaseConfig(_Strict):
    sqlite: Path | None = None
    postgresql: str | None = Field(default=None, min_length=1)

    @_field_validator("sqlite")
    @classmethod
    def _relative(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _resolve(value, info)

    @model_validator(mode="after")
    def _exactly_one(self) -> HubDatabaseConfig:
        if (self.sqlite is None) == (self.postgresql is None):
            raise ValueError(
                'exactly one of `sqlite = "hub.db"` or `postgresql = "postgresql://..."`'
            )
        return self

    def target(self) -> DatabaseTarget:
        if self.sqlite is not None:
            return DatabaseTarget("sqlite", str(self.sqlite))
        assert self.postgresql is not None  # by _exactly_one
        return DatabaseTarget("postgresql", self.postgresql)


class HubArchiveConfig(_Strict):
    audio_dir: Path = Path("audio")

    @_field_validator("audio_dir")
    @classmethod
    def _relative(cls, value: Path, info: ValidationInfo) -> Path:
        resolved = _resolve(value, info)
        assert resolved is not None
        return resolved


class HubConsoleConfig(_Strict):
    """The doctor's console, served by `stetho hub run` when enabled."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Int = Field(default=8080, ge=1, le=65535)
    session_hours: Float = Field(default=8.0, gt=0, le=24 * 7)
    secure_cookies: bool = False  # set true when a TLS reverse proxy fronts the console

    @_field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:  # "" would serve the console on every interface
        return host_name(value)


class HubFhirConfig(_Strict):
    """Sending each closed exam to the hospital's FHIR server; off while `base_url` is unset."""

    base_url: str | None = Field(default=None, pattern=r"^https://")
    token_file: Path | None = None  # a bearer token (or $STETHO_FHIR_TOKEN)
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    queue: Path = Field(default=Path("fhir-queue.sqlite3"), validate_default=True)
    # The hospital's identifier systems (absolute URIs; `{site}` becomes the care home's id).
    # Unset, the Bundles use placeholders (RFC 2606 .example): fine to read, never to send.
    resident_system: str | None = None
    agent_system: str | None = None
    provenance_tag_system: str | None = None
    # Where the hospital fetches a recording's FLAC: `{recording_id}` in it, or a folder.
    audio_url: str | None = Field(default=None, pattern=r"^https://")

    @_field_validator("resident_system", "agent_system", "provenance_tag_system")
    @classmethod
    def _absolute_uri(cls, value: str | None) -> str | None:
        if value is not None and not is_identifier_system(value):
            raise ValueError(f"an absolute URI such as https://hospital.example/sid/x ({value!r})")
        return value

    @model_validator(mode="after")
    def _no_placeholder_when_sending(self) -> HubFhirConfig:
        # Placeholders in a real record would tie residents to a system no one owns.
        if self.base_url is not None:
            for key in ("resident_system", "agent_system", "provenance_tag_system"):
                if getattr(self, key) is None:
                    raise ValueError(
                        f"fhir.{key} is required when base_url is set: the identifier "
                        "system URI the hospital assigns (the default is a placeholder)"
                    )
        return self

    def systems(self) -> dict[str, str]:
        """The identifier systems set here, by the name the FHIR builder's Naming uses."""
        keys = ("resident_system", "agent_system", "provenance_tag_system")
        return {k: v for k in keys if (v := getattr(self, k)) is not None}

    @_field_validator("token_file", "ca_file", "cert_file", "key_file")
    @classmethod
    def _exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        path = _resolve(value, info)
        if path is not None and not path.is_file():
            found = "a folder" if path.is_dir() else "not found"
            raise ValueError(f"an existing file ({found}: {path})")
        return path

    @_field_validator("queue")
    @classmethod
    def _beside_the_config(cls, value: Path, info: ValidationInfo) -> Path:
        resolved = _resolve(value, info)
        assert resolved is not None  # a Path in, a Path out
        return resolved


class HubConfig(_Strict):
    hub_id: Slug = "hub"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    broker: HubBrokerConfig = HubBrokerConfig()
    database: HubDatabaseConfig
    archive: HubArchiveConfig = HubArchiveConfig()
    console: HubConsoleConfig = HubConsoleConfig()
    fhir: HubFhirConfig = Field(default_factory=HubFhirConfig)

    @model_validator(mode="before")
    @classmethod
    def _archive_beside_the_config(cls, data: Any) -> Any:
        # Validated from {} rather than a default instance, so that the default audio
        # folder, too, counts from the config file's folder.
        if isinstance(data, dict):
            # Likewise the FHIR queue's default file.
            defaults = {"archive": {"audio_dir": "audio"}, "fhir": {}}
            return {**{k: v for k, v in defaults.items() if k not in data}, **data}
        return data

    @property
    def client_id(self) -> str:
        return self.broker.client_id or f"stetho-hub-{self.hub_id}"

    def mqtt_password(self) -> str | None:
        """By the agent's precedence: environment, then `password_file`, then `password`."""
        return self.broker.secret(os.environ)


def _has_password(conninfo: str) -> bool:
    if "://" in conninfo:
        return urlsplit(conninfo).password is not None
    return "password=" in conninfo.replace(" ", "")


def parse_config(data: dict[str, Any], source: str, base_dir: Path | None = None) -> HubConfig:
    try:
        return HubConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise HubConfigError(source, [describe_error(e) for e in exc.errors()]) from exc


def load_config(path: Path) -> HubConfig:
    """Read and validate `path`; raise HubConfigError naming the file and each bad key."""
    config = parse_config(read_toml(path, HubConfigError), str(path), path.parent)
    secrets = [
        *broker_secrets(path, config.broker),
        ("fhir.token_file", config.fhir.token_file),
        ("fhir.key_file", config.fhir.key_file),
    ]
    check_secret_permissions(secrets, HubConfigError)
    if config.database.postgresql is not None and _has_password(config.database.postgresql):
        raise HubConfigError(
            str(path),
            [
                "database.postgresql: expected a connection string without a password "
                "(use ~/.pgpass or PGPASSFILE); found one with a password"
            ],
        )
    return config
