"""The agent's configuration: a TOML file parsed into strict pydantic models.

Every error names the file, the key path, what was expected and what was found,
because the person reading it is a care home's IT contact at a terminal.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic import field_validator as _field_validator

from edge_agent.errors import ConfigError
from stetho_signal import TriageThresholds
from stetho_sim.scenarios import SCENARIOS

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
AuscultationSite = Literal[
    "aortic",
    "pulmonic",
    "tricuspid",
    "mitral",
    "trachea",
    "lung-left-upper",
    "lung-left-lower",
    "lung-right-upper",
    "lung-right-lower",
    "lung-left-posterior",
    "lung-right-posterior",
    "lung-left-lateral",
    "lung-right-lateral",
]
PASSWORD_ENV = "STETHO_MQTT_PASSWORD"  # noqa: S105 - the variable's name, not a secret


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _resolve(value: Path, info: ValidationInfo) -> Path:
    """Relative paths count from the config file's folder, not from wherever stetho was started."""
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if base is not None and not value.is_absolute():
        return Path(base) / value
    return value


# The validators' bodies are plain functions: the decorated methods only delegate, so that
# mutation testing (which skips decorated functions) reaches the checks themselves.


def _existing_file(value: Path | None, info: ValidationInfo) -> Path | None:
    if value is None:
        return None
    value = _resolve(value, info)
    if not value.is_file():
        raise ValueError(f"a readable file, but {value} does not exist")
    return value


def _with_kind_from_site(data: Any, default_site: Any) -> Any:
    if isinstance(data, dict) and "analysis_kind" not in data:
        site = data.get("auscultation_site", default_site)
        if isinstance(site, str):
            return {**data, "analysis_kind": kind_at_site(site)}
    return data


def _kind_matching_site(value: str, info: ValidationInfo) -> str:
    # A heart analysis of breath sounds reads clicks or breaths as beats (on ICBHI lung
    # recordings: 3 of 9 false urgent heart rates), and a lung analysis of a valve area
    # hears heart sounds: a mismatch is a mistake in the config, not a choice.
    site = info.data.get("auscultation_site")
    if isinstance(site, str) and value != kind_at_site(site):
        raise ValueError(
            f"'{kind_at_site(site)}' at auscultation site '{site}' (or leave analysis_kind "
            "out: it follows the site)"
        )
    return value


def _known_scenario(value: str) -> str:
    if value not in SCENARIOS:
        raise ValueError(f"one of {', '.join(SCENARIOS)}")
    return value


def _unique_device_ids(devices: list[Any]) -> list[Any]:
    ids = [d.id for d in devices]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"unique device ids, but these repeat: {', '.join(duplicates)}")
    return devices


class BrokerConfig(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    client_id: str = ""
    keepalive_s: int = Field(default=30, ge=5, le=3600)
    session_expiry_s: int = Field(default=7 * 24 * 3600, ge=0)
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    max_inflight: int = Field(default=20, ge=1, le=1000)

    @_field_validator("ca_file", "cert_file", "key_file", "password_file")
    @classmethod
    def _exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _existing_file(value, info)

    def secret(self, environ: Mapping[str, str]) -> str | None:
        """The password: the environment, then `password_file`, then `password`.

        The environment comes first so that an operator can override a file without editing it
        (systemd's `LoadCredential=` or a one-off shell).
        """
        if PASSWORD_ENV in environ:
            return environ[PASSWORD_ENV]
        if self.password_file is not None:
            try:
                return self.password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    str(self.password_file), [f"broker.password_file: cannot read: {exc.strerror}"]
                ) from exc
        return self.password.get_secret_value() if self.password else None

    @classmethod
    def checked(cls, source: str, values: Mapping[str, object]) -> BrokerConfig:
        """`values` validated as a `[broker]` table, or ConfigError naming `source` and keys."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as exc:
            raise ConfigError(source, [_describe(e) for e in exc.errors()]) from exc


class StorageConfig(_Strict):
    state_dir: Path = Path("/var/lib/stetho-edge")
    quota_mb: float = Field(default=2048, gt=0)
    alarm_fraction: float = Field(default=0.9, gt=0, lt=1)
    keep_sent_hours: float = Field(default=24, ge=0)
    min_free_disk_mb: float = Field(
        default=32, ge=0, description="refuse recordings rather than fill the disk below this"
    )

    @_field_validator("state_dir")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)


class ScheduleConfig(_Strict):
    interval_s: float = Field(gt=0)
    duration_s: float = Field(ge=1, le=600)


HEART_SITES = frozenset({"aortic", "pulmonic", "tricuspid", "mitral"})
LUNG_SITES = frozenset(get_args(AuscultationSite)) - HEART_SITES


def kind_at_site(site: str) -> Literal["heart", "lung"]:
    """The analysis a recording at this site calls for: the four valve areas are heart sites,
    the trachea and the chest wall's lung sites are lung sites."""
    return "heart" if site in HEART_SITES else "lung"


class _DeviceBase(_Strict):
    id: Slug
    resident: Slug = Field(description="opaque resident reference, never a name")
    auscultation_site: AuscultationSite = "mitral"
    analysis_kind: Literal["heart", "lung"] = "heart"  # from the site when left out
    schedule: ScheduleConfig

    @model_validator(mode="before")
    @classmethod
    def _kind_from_site(cls, data: Any) -> Any:
        return _with_kind_from_site(data, cls.model_fields["auscultation_site"].default)

    @_field_validator("analysis_kind")
    @classmethod
    def _matches_site(cls, value: str, info: ValidationInfo) -> str:
        return _kind_matching_site(value, info)


class SimulatedDevice(_DeviceBase):
    kind: Literal["simulated"]
    scenario: str = "normal"
    seed: int = 0
    speed: float = Field(default=1.0, gt=0, le=100)
    sample_rate_hz: Literal[2000, 4000, 8000] = 4000

    @_field_validator("scenario")
    @classmethod
    def _known_scenario(cls, value: str) -> str:
        return _known_scenario(value)


class BleDevice(_DeviceBase):
    kind: Literal["ble"]
    address: str = Field(pattern=r"^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$")
    sample_rate_hz: Literal[2000, 4000, 8000] = 4000


class UsbDevice(_DeviceBase):
    kind: Literal["usb"]
    input_device: str = "default"
    sample_rate_hz: int = Field(default=8000, ge=2000, le=48000)


class FileDevice(_DeviceBase):
    kind: Literal["file"]
    path: Path
    realtime: bool = True

    @_field_validator("path")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(value, info)


DeviceConfig = Annotated[
    SimulatedDevice | BleDevice | UsbDevice | FileDevice, Field(discriminator="kind")
]


def _thresholds_model() -> type[BaseModel]:
    """Mirror stetho_signal's TriageThresholds as a strict model, so the DSP stays pydantic-free."""
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(TriageThresholds):
        default = item.default
        fields[item.name] = (type(default), default)
    return create_model(
        "ThresholdsConfig", __config__=ConfigDict(extra="forbid", frozen=True), **fields
    )


ThresholdsConfig = _thresholds_model()


class AnalysisConfig(_Strict):
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)  # type: ignore[valid-type]

    def triage_thresholds(self) -> TriageThresholds:
        values: BaseModel = self.thresholds
        return TriageThresholds(**values.model_dump())


class AgentConfig(_Strict):
    site: Slug
    agent_id: Slug = "agent"
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    devices: list[DeviceConfig] = Field(default_factory=list)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @_field_validator("devices")
    @classmethod
    def _unique_ids(cls, devices: list[Any]) -> list[Any]:
        return _unique_device_ids(devices)

    def mqtt_password(self) -> str | None:
        """The broker password, by the one precedence of `BrokerConfig.secret`."""
        return self.broker.secret(os.environ)

    def redacted(self) -> dict[str, Any]:
        """The effective configuration as plain data, with every secret replaced."""
        data = self.model_dump(mode="json")
        if self.broker.password is not None:
            data["broker"]["password"] = "***"  # noqa: S105 - a mask, not a password
        return data


def _describe(error: Any) -> str:
    loc = ""
    for part in error["loc"]:
        if isinstance(part, int):
            loc += f"[{part}]"
        elif part in {"simulated", "ble", "usb", "file"} and loc.startswith("devices"):
            continue  # the discriminator's own name is noise in the key path
        else:
            loc += f".{part}" if loc else str(part)
    kind = error["type"]
    found = error.get("input")
    if kind == "extra_forbidden":
        return f"{loc}: unknown key (misspelt?); found {found!r}"
    if kind == "missing":
        return f"{loc}: required key is missing"
    expected = error["msg"].removeprefix("Value error, ")
    if isinstance(found, dict | list):  # a whole table or list: the key path says where
        return f"{loc}: expected {expected}"
    return f"{loc}: expected {expected}; found {found!r}"


def _check_secret_permissions(path: Path, what: str) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            str(path),
            [
                f"{what}: this file holds a secret but is readable by group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}`"
            ],
        )


def parse_config(data: dict[str, Any], source: str, base_dir: Path | None = None) -> AgentConfig:
    """Validate already-parsed TOML; relative paths resolve against base_dir."""
    try:
        return AgentConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(source, [_describe(e) for e in exc.errors()]) from exc


def load_config(path: Path) -> AgentConfig:
    """Read, validate and security-check a config file; raise ConfigError naming file and key."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from exc
    config = parse_config(data, str(path), path.parent)
    if config.broker.password is not None:
        _check_secret_permissions(path, "broker.password")
    if config.broker.password_file is not None:
        _check_secret_permissions(config.broker.password_file, "broker.password_file")
    if config.broker.key_file is not None:
        _check_secret_permissions(config.broker.key_file, "broker.key_file")
    return config


def load_broker(path: Path) -> BrokerConfig:
    """The `[broker]` table of an agent's config, or of a doctor's file that holds only that."""
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), [f"cannot read the file: {exc.strerror}"]) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"not valid TOML: {exc}"]) from exc
    if "site" in data:  # an agent's configuration
        return load_config(path).broker
    unknown = sorted(set(data) - {"broker"})
    if unknown:
        raise ConfigError(
            str(path), [f"{k}: unknown key; a doctor's file holds [broker]" for k in unknown]
        )
    broker = BrokerConfig.checked(str(path), data.get("broker", {}))
    if broker.password is not None:
        _check_secret_permissions(path, "broker.password")
    if broker.password_file is not None:
        _check_secret_permissions(broker.password_file, "broker.password_file")
    return broker
