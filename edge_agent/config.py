"""The agent's configuration: a TOML file parsed into strict pydantic models.

Every error names the file, the key path, what was expected and what was found,
because the person reading it is a care home's IT contact at a terminal.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    Strict,
    ValidationError,
    ValidationInfo,
    create_model,
    model_validator,
)
from pydantic import field_validator as _field_validator

from edge_agent.errors import ConfigError
from stetho_common.config_file import check_secret_permissions, read_toml
from stetho_common.ids import SLUG_PATTERN, SLUG_WORDS
from stetho_common.tls_files import CONFIG_NAMES, tls_files_problem
from stetho_signal import MAX_RATE_HZ, MIN_RATE_HZ, TriageThresholds
from stetho_sim.scenarios import SCENARIOS

Slug = Annotated[str, Field(pattern=SLUG_PATTERN)]
# Numbers, never true or false: pydantic's lax mode read `port = true` as port 1 and
# `quota_mb = true` as 1 MiB. Strict still takes an integer where a float belongs.
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
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
    # TOML has inf and nan: no duration, size or rate here means either (int(inf) crashed).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _resolve(value: Path, info: ValidationInfo) -> Path:
    """Relative paths count from the config file's folder, not from wherever stetho was started."""
    base = info.context.get("base_dir") if isinstance(info.context, dict) else None
    if base is not None and not value.is_absolute():
        return Path(base) / value
    return value


# The validators' bodies are plain functions: the decorated methods only delegate, so that
# mutation testing (which skips decorated functions) reaches the checks themselves.


def _not_a_file(path: Path) -> str:
    return "is a folder" if path.is_dir() else "does not exist"


def _folder_or_missing(value: Path) -> Path:
    if value.exists() and not value.is_dir():
        raise ValueError(f"a folder (made when missing), but {value} is a file")
    return value


def _existing_file(value: Path | None, info: ValidationInfo) -> Path | None:
    return None if value is None else _existing(value, info)


def _existing(value: Path, info: ValidationInfo) -> Path:
    value = _resolve(value, info)
    if not value.is_file():
        raise ValueError(f"a readable file, but {value} {_not_a_file(value)}")
    return value


def _playable_recording(path: Path) -> Path:
    # Imported here: the sources package brings bleak and libsndfile, which only a file device
    # needs (every command reads the config).
    from firmware_bridge.sources.replay import recording_problem

    problem = recording_problem(path, (MIN_RATE_HZ, MAX_RATE_HZ))
    if problem is not None:
        raise ValueError(
            f"a WAV or FLAC recording sampled at {MIN_RATE_HZ:.0f} to {MAX_RATE_HZ:.0f} Hz (the "
            f"analysis's rates), but {path} {problem}"
        )
    return path


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


def host_name(value: str) -> str:
    """A host to connect to or listen on: not empty, no spaces.

    paho refuses "" with a ValueError out of the connect loop (a traceback at `stetho run`), and
    aiohttp listens on every interface for ""; a space can only be a typo. `hosts` entries are
    checked the same by parse_endpoint.
    """
    if not value or any(c.isspace() for c in value):
        raise ValueError("a host name or IP address, not empty and without spaces")
    return value


def _unique_device_ids(devices: list[Any]) -> list[Any]:
    ids = [d.id for d in devices]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"unique device ids, but these repeat: {', '.join(duplicates)}")
    return devices


# MQTT 5.0 §3.1.3.1: every server MUST accept client ids of 1-23 UTF-8 bytes of 0-9a-zA-Z and
# MAY accept more. We also allow - _ . (our default is stetho-{site}-{agent}) and up to 128
# characters (AWS IoT's limit; Mosquitto, EMQX and HiveMQ take 65535). Never + # / or spaces:
# Mosquitto substitutes the client id into ACL patterns (%c), where + and # would be wildcards.
MIN_PACKET_BYTES = 16 * 1024  # a recording's JSON metadata with its analysis is a few KB
MAX_PACKET_BYTES = 268_435_455  # MQTT's own ceiling (3.1.1 §2.2.3, 5.0 §1.5.5)
CLIENT_ID_PATTERN = r"^(?:[0-9A-Za-z_.\-]{1,128})?$"  # empty: stetho-{site}-{agent_id}
CLIENT_ID_MAX = 128
MAX_SESSION_EXPIRY_S = 2**32 - 1
# Sizes in MiB up to a pebibyte, intervals up to a year: beyond any disk or plan, and short of
# the float overflow (1e308 MiB in bytes) that stopped the agent at start.
MAX_MIB = 2**30
MAX_INTERVAL_S = 365 * 24 * 3600
# The running agent's status, in state_dir (edge_agent.runtime.status); named here so that
# `stetho status` reads it without loading the daemon and its analysis.
STATUS_FILE = "status.json"
STATUS_INTERVAL_S = 5.0  # its default refresh


def parse_endpoint(text: str, default_port: int) -> tuple[str, int]:
    """`host`, `host:port` or `[v6-address]:port`; ValueError for anything else."""
    host, port = text, default_port
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or (len(text) > end + 1 and text[end + 1] != ":"):
            raise ValueError(f"not host or host:port: {text!r}")
        host = text[1:end]
        if len(text) > end + 1:  # "[::1]:" names no port: refused, as "h:" is
            port = _port(text[end + 2 :], text)
    elif text.count(":") == 1:
        host, _, digits = text.partition(":")
        port = _port(digits, text)
    if not host or not 1 <= port <= 65535 or any(c.isspace() for c in host):
        raise ValueError(f"not host or host:port (port 1-65535): {text!r}")
    return host, port


def _port(digits: str, text: str) -> int:
    # int() alone also takes " 1", "1_0" and non-ASCII digits, and says nothing of the entry.
    if not re.fullmatch(r"[0-9]{1,5}", digits):
        raise ValueError(f"not host or host:port (port 1-65535): {text!r}")
    return int(digits)


class BrokerConfig(_Strict):
    host: str = "127.0.0.1"
    port: Int = Field(default=1883, ge=1, le=65535)
    client_id: str = Field(default="", pattern=CLIENT_ID_PATTERN)
    keepalive_s: Int = Field(default=30, ge=5, le=3600)
    # A Four Byte Integer on the wire, 0xFFFFFFFF meaning "never expires" (MQTT 5.0
    # §3.1.2.11.2): a larger value passed the check and then stopped paho at connect.
    session_expiry_s: Int = Field(default=7 * 24 * 3600, ge=0, le=MAX_SESSION_EXPIRY_S)
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    max_inflight: Int = Field(default=20, ge=1, le=1000)
    # A SUBACK later than this after a CONNACK makes that connect a failure (then retried).
    subscribe_timeout_s: Float = Field(default=10, ge=1, le=300)
    # Ordered failover list ("host" or "host:port", port defaulting to `port`); when set it
    # replaces `host`. The agent moves on after 3 failures in a row and comes back to the
    # first after `failback_s` on another.
    hosts: list[str] = Field(default_factory=list, max_length=16)
    failback_s: Float = Field(default=300, ge=1)
    # "3.1.1" for brokers without MQTT v5 (Debian's RabbitMQ 3.10): what v5 carries in
    # properties is read from payloads and topics instead (docs/mqtt.md, "MQTT 3.1.1 mode").
    protocol: Literal["5", "3.1.1"] = "5"
    # The broker's largest accepted packet, for brokers that cannot say it (MQTT 3.1.1 has no
    # CONNACK property): a message whose PUBLISH is larger is kept in the outbox with an alarm
    # instead of being refused by the broker on every attempt. With v5 the smaller of this and
    # the broker's CONNACK limit applies. 16 KiB minimum: every JSON message must fit.
    max_packet_bytes: Int | None = Field(default=None, ge=MIN_PACKET_BYTES, le=MAX_PACKET_BYTES)

    @_field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        return host_name(value)

    @_field_validator("hosts")
    @classmethod
    def _endpoints(cls, hosts: list[str], info: ValidationInfo) -> list[str]:
        for entry in hosts:
            parse_endpoint(entry, int(info.data.get("port", 1883)))
        return hosts

    def endpoints(self) -> list[tuple[str, int]]:
        """The brokers to use, in order: `hosts`, or else `host:port`."""
        if not self.hosts:
            return [(self.host, self.port)]
        return [parse_endpoint(entry, self.port) for entry in self.hosts]

    @_field_validator("ca_file", "cert_file", "key_file", "password_file")
    @classmethod
    def _exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return _existing_file(value, info)

    @model_validator(mode="after")
    def _tls_files_fit(self) -> BrokerConfig:
        problem = tls_files_problem(
            CONFIG_NAMES,
            tls=self.tls,
            ca_file=self.ca_file,
            cert_file=self.cert_file,
            key_file=self.key_file,
        )
        if problem is not None:
            raise ValueError(problem)
        return self

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
            raise ConfigError(source, [describe_error(e) for e in exc.errors()]) from exc


class StorageConfig(_Strict):
    state_dir: Path = Path("/var/lib/stetho-edge")
    quota_mb: Float = Field(default=2048, gt=0, le=MAX_MIB)
    alarm_fraction: Float = Field(default=0.9, gt=0, lt=1)
    keep_sent_hours: Float = Field(default=24, ge=0)
    min_free_disk_mb: Float = Field(
        default=32,
        ge=0,
        le=MAX_MIB,
        description="refuse recordings rather than fill the disk below this",
    )
    receipt_timeout_s: Float = Field(
        default=0,
        ge=0,
        description="with a hospital hub: keep each recording until its receipt, and send it "
        "again after this many seconds without one; 0 trusts the broker's PUBACK alone",
    )
    receipt_resend_max_s: Float | None = Field(
        default=None,
        gt=0,
        description="the longest wait between two re-sends of one recording: the waits double "
        "from receipt_timeout_s up to this (default 8 x receipt_timeout_s; never below it)",
    )

    @_field_validator("state_dir")
    @classmethod
    def _relative_to_config(cls, value: Path, info: ValidationInfo) -> Path:
        return _folder_or_missing(_resolve(value, info))


class ScheduleConfig(_Strict):
    interval_s: Float = Field(gt=0, le=MAX_INTERVAL_S)
    duration_s: Float = Field(ge=1, le=600)
    recordings: Int | None = Field(
        default=None,
        ge=1,
        description="after this many recordings the agent lets the stethoscope go, until it "
        "restarts (left out: no end)",
    )


HEART_SITES = frozenset({"aortic", "pulmonic", "tricuspid", "mitral"})
LUNG_SITES = frozenset(get_args(AuscultationSite)) - HEART_SITES


def kind_at_site(site: str) -> Literal["heart", "lung"]:
    """The analysis a recording at this site calls for: the four valve areas are heart sites,
    the trachea and the chest wall's lung sites are lung sites."""
    return "heart" if site in HEART_SITES else "lung"


class _DeviceBase(_Strict):
    id: Slug
    # Timed monitoring (continuous surveillance of one resident at one site) is explicit;
    # without it the stethoscope records on demand, for exams (edge_agent/exam). `schedule`
    # is the key's older name, still read.
    monitoring: ScheduleConfig | None = Field(
        default=None, validation_alias=AliasChoices("monitoring", "schedule")
    )
    resident: Slug | None = Field(
        default=None, description="monitoring: opaque resident reference, never a name"
    )
    auscultation_site: AuscultationSite = "mitral"
    analysis_kind: Literal["heart", "lung"] = "heart"  # from the site when left out

    @model_validator(mode="after")
    def _monitoring_needs_resident(self) -> _DeviceBase:
        if self.monitoring is not None and self.resident is None:
            raise ValueError("a resident (opaque reference) for timed monitoring")
        return self

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
    seed: Int = Field(default=0, ge=0)  # numpy's SeedSequence takes no negative seed
    speed: Float = Field(default=1.0, gt=0, le=100)
    sample_rate_hz: Literal[2000, 4000, 8000] = 4000
    # A radio fault to simulate (firmware_bridge.sources.FAULT_PRESETS): `flaky` drops the
    # link every 5 s of stream, to see what the page says when a stethoscope disconnects.
    link: Literal["lossy", "reordering", "flaky"] | None = None

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
    sample_rate_hz: Int = Field(default=8000, ge=2000, le=48000)


class FileDevice(_DeviceBase):
    kind: Literal["file"]
    path: Path
    realtime: bool = True

    # A recording replayed once, for demos and checks: a missing one, one that is not audio or
    # one the analysis cannot take is a mistake in the config, said by `stetho config check` and
    # at start, not a device to try again every minute.
    @_field_validator("path")
    @classmethod
    def _playable(cls, value: Path, info: ValidationInfo) -> Path:
        return _playable_recording(_existing(value, info))


DeviceConfig = Annotated[
    SimulatedDevice | BleDevice | UsbDevice | FileDevice, Field(discriminator="kind")
]


def _thresholds_model() -> type[BaseModel]:
    """Mirror stetho_signal's TriageThresholds as a strict model, so the DSP stays pydantic-free."""
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(TriageThresholds):
        default = item.default
        # TriageThresholds refuses a negative value when the agent starts: say so at load time.
        # NaN compares false with everything, so a NaN threshold would silently never flag.
        # strict: true or false is no threshold (lax mode read true as 1); an int is a float.
        kind = (type(default), Field(default=default, ge=0, allow_inf_nan=False, strict=True))
        fields[item.name] = kind
    return create_model(
        "ThresholdsConfig", __config__=ConfigDict(extra="forbid", frozen=True), **fields
    )


ThresholdsConfig = _thresholds_model()


def _thresholds_the_triage_accepts(value: BaseModel) -> BaseModel:
    try:
        TriageThresholds(**value.model_dump())
    except ValueError as exc:  # its rate bands out of order
        raise ValueError(
            "rate bands that rise, *_urgent_low_bpm <= *_review_low_bpm < *_review_high_bpm "
            f"<= *_urgent_high_bpm ({exc})"
        ) from None
    return value


class AnalysisConfig(_Strict):
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)  # type: ignore[valid-type]

    @_field_validator("thresholds")
    @classmethod
    def _accepted(cls, value: BaseModel) -> BaseModel:
        return _thresholds_the_triage_accepts(value)

    def triage_thresholds(self) -> TriageThresholds:
        values: BaseModel = self.thresholds
        return TriageThresholds(**values.model_dump())


class ExamConfig(_Strict):
    """Recordings taken for exams (edge_agent/exam)."""

    duration_s: Float = Field(default=15.0, ge=1, le=120, description="one site's recording")


class WebConfig(_Strict):
    """The nurses' page (edge_agent/web), served by the agent; off unless configured."""

    listen_host: str = "127.0.0.1"
    port: Int = Field(default=8080, ge=1, le=65535)
    tls_cert_file: Path | None = None  # with tls_key_file: HTTPS with the Pi's own certificate
    tls_key_file: Path | None = None
    session_hours: Float = Field(default=12, gt=0, le=24 * 7)
    # A shared tablet left alone signs its nurse out (edge_agent/web/idle.py); up to 12 h.
    idle_minutes: Float = Field(default=15, ge=1, le=720)

    @_field_validator("tls_cert_file", "tls_key_file")
    @classmethod
    def _exists(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        return BrokerConfig._exists(value, info)

    @_field_validator("listen_host")
    @classmethod
    def _host(cls, value: str) -> str:  # "" would serve the page on every interface
        return host_name(value)

    @model_validator(mode="after")
    def _tls_pair(self) -> WebConfig:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file together, or neither")
        return self


class RadioConfig(_Strict):
    """Bluetooth for pairing and for BLE stethoscopes: BlueZ, unless `simulated` lists the
    scenarios of simulated stethoscopes in range (the demo and the tests; no radio needed)."""

    simulated: list[str] = Field(default_factory=list, max_length=8)
    speed: Float = Field(default=1.0, gt=0, le=100)
    # The simulated stethoscopes' keypad: "none" pairs Just Works; "types" asks for a passkey
    # that a simulated nurse types right, "mistypes" wrong, "waits" only when a test types it.
    keypad: Literal["none", "types", "mistypes", "waits"] = "none"

    @_field_validator("simulated")
    @classmethod
    def _known_scenarios(cls, value: list[str]) -> list[str]:
        return [_known_scenario(v) for v in value]


class AgentConfig(_Strict):
    site: Slug
    agent_id: Slug = "agent"
    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)
    devices: list[DeviceConfig] = Field(default_factory=list)
    exam: ExamConfig = Field(default_factory=ExamConfig)
    web: WebConfig | None = None
    radio: RadioConfig = Field(default_factory=RadioConfig)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # How often status.json and the systemd status line are refreshed (`stetho status`).
    status_interval_s: Float = Field(default=STATUS_INTERVAL_S, ge=0.5, le=300)

    @_field_validator("devices")
    @classmethod
    def _unique_ids(cls, devices: list[Any]) -> list[Any]:
        return _unique_device_ids(devices)

    @model_validator(mode="after")
    def _agent_is_no_device(self) -> AgentConfig:
        # Agent and devices share the status topic tree (stetho/v1/{site}/{id}/status): an agent
        # named like a device would overwrite that device's retained status with its last will.
        if any(d.id == self.agent_id for d in self.devices):
            raise ValueError(f"agent_id {self.agent_id!r} is also a device id; choose another")
        if not self.broker.client_id and len(self.default_client_id()) > CLIENT_ID_MAX:
            raise ValueError(
                f"the client id stetho-{{site}}-{{agent_id}} would be longer than {CLIENT_ID_MAX} "
                "characters; set a shorter [broker] client_id"
            )
        if self.broker.protocol == "3.1.1" and self.storage.receipt_timeout_s <= 0:
            # A 3.1.1 PUBACK does not say the broker routed the message anywhere (RabbitMQ
            # drops a publish nobody subscribes to and still acknowledges it): only the hub's
            # receipt proves delivery, so this mode cannot run without waiting for one.
            raise ValueError(
                'storage.receipt_timeout_s > 0 when broker.protocol = "3.1.1" (a recording is '
                "kept until the hub's receipt and sent again after this long; e.g. 600)"
            )
        return self

    def default_client_id(self) -> str:
        return f"stetho-{self.site}-{self.agent_id}"

    def mqtt_password(self) -> str | None:
        """The broker password, by the one precedence of `BrokerConfig.secret`."""
        return self.broker.secret(os.environ)

    def redacted(self) -> dict[str, Any]:
        """The effective configuration as plain data, with every secret replaced."""
        data = self.model_dump(mode="json")
        if self.broker.password is not None:
            data["broker"]["password"] = "***"  # noqa: S105 - a mask, not a password
        return data


# Keys whose value is a secret (a password, a connection string that may hold one): an error
# names the key and never repeats the value, which would end up in the journal.
_SECRET_KEYS = frozenset({"password", "postgresql"})


def describe_error(error: Any) -> str:
    """One pydantic error as `key.path: expected ...; found ...`, for every config file."""
    loc = ""
    for part in error["loc"]:
        if isinstance(part, int):
            loc += f"[{part}]"
        elif part in {"simulated", "ble", "usb", "file"} and loc.startswith("devices"):
            continue  # the discriminator's own name is noise in the key path
        else:
            loc += f".{part}" if loc else str(part)
    loc = loc or "(top level)"
    kind = error["type"]
    found = error.get("input")
    if kind == "extra_forbidden":  # its value may be a password, or a whole misspelt table
        return f"{loc}: unknown key (misspelt?)"
    if kind == "missing":
        return f"{loc}: required key is missing"
    expected = _expected(error)
    secret = bool(error["loc"]) and error["loc"][-1] in _SECRET_KEYS
    if secret or isinstance(found, dict | list):  # a table or list: the key path says where
        return f"{loc}: expected {expected}"
    if _said_after_but(found, expected):  # "a readable file, but /x does not exist"
        return f"{loc}: expected {expected}"
    return f"{loc}: expected {expected}; found {found!r}"


def _said_after_but(found: Any, expected: str) -> bool:
    """True when our validator's sentence ("..., but /x is a folder") already shows `found`."""
    text = str(found) if isinstance(found, str | Path) else ""
    _, but, tail = expected.partition(", but ")
    return bool(text.strip() and but and text in tail)


def _expected(error: Any) -> str:
    """What the key should hold, without pydantic's "Input should be" after our "expected"."""
    if error["type"] == "string_pattern_mismatch" and error["ctx"]["pattern"] == SLUG_PATTERN:
        return SLUG_WORDS
    message: str = error["msg"]
    return message.removeprefix("Value error, ").removeprefix("Input should be ")


def broker_secrets(path: Path, broker: BrokerConfig) -> list[tuple[str, Path | None]]:
    """The files that hold a broker table's secrets, by key: the file ``path`` itself when it
    holds the password inline."""
    return [
        ("broker.password", path if broker.password is not None else None),
        ("broker.password_file", broker.password_file),
        ("broker.key_file", broker.key_file),
    ]


def parse_config(data: dict[str, Any], source: str, base_dir: Path | None = None) -> AgentConfig:
    """Validate already-parsed TOML; relative paths resolve against base_dir."""
    try:
        return AgentConfig.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(source, [describe_error(e) for e in exc.errors()]) from exc


def load_config(path: Path) -> AgentConfig:
    """Read, validate and security-check a config file; raise ConfigError naming file and key."""
    config = parse_config(read_toml(path, ConfigError), str(path), path.parent)
    web_key = config.web.tls_key_file if config.web is not None else None
    secrets = [*broker_secrets(path, config.broker), ("web.tls_key_file", web_key)]
    check_secret_permissions(secrets, ConfigError)
    return config


def load_broker(path: Path) -> BrokerConfig:
    """The `[broker]` table of an agent's config, or of a doctor's file that holds only that."""
    data = read_toml(path, ConfigError)
    if "site" in data:  # an agent's configuration
        return load_config(path).broker
    unknown = sorted(set(data) - {"broker"})
    if unknown:
        raise ConfigError(
            str(path), [f"{k}: unknown key; a doctor's file holds [broker]" for k in unknown]
        )
    broker = BrokerConfig.checked(str(path), data.get("broker", {}))
    # A doctor's client certificate key and password files, as the agent's.
    check_secret_permissions(broker_secrets(path, broker), ConfigError)
    return broker
