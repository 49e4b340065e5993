"""Refusing, before it is recorded, a capture whose audio could not pass the broker (issue 18).

Recordings are not split into parts (docs/mqtt.md §4): one recording's FLAC travels in one
PUBLISH. When the broker's limit is known (its CONNACK Maximum Packet Size, MQTT 5.0
§3.2.2.3.6, or `broker.max_packet_bytes`), a capture whose worst-case message is over it is
refused at its start, with an alarm that says how many seconds fit. The outbox hold
(`publisher.Publisher._too_large`) stays the backstop for a limit learnt only after capture.

The worst case, for n samples of 16-bit mono PCM (FLAC format specification, "FRAME_HEADER",
"SUBFRAME", "FRAME_FOOTER"):

- libFLAC picks, for every subframe, the smallest of its candidates, and the VERBATIM subframe
  (the samples as they are) is always one of them: no subframe is larger than 1 header byte
  plus 2 bytes per sample. White noise at full scale comes out exactly so (the test encodes it).
- Each frame adds at most a 16-byte header (2 sync/flag bytes, 2 bytes of codes, a coded frame
  number of up to 7 bytes, up to 2 + 2 bytes of explicit block size and rate, a CRC-8), up to
  one byte of padding to the byte boundary, and a 2-byte CRC-16: 20 bytes with the subframe's.
- Frames hold `MIN_BLOCK` samples or more, but the last: libsndfile 1.2 encodes at libFLAC's
  default level, 4096 samples a block; libFLAC's smallest preset block is 1152 (levels 0-2),
  which we assume. The test reads the encoder's minimum block size from STREAMINFO.
- Metadata: "fLaC", STREAMINFO (4 + 34 bytes) and our Vorbis comment, about 270 bytes with a
  63-character device id; `METADATA_BYTES` allows 1 KiB.

Then MQTT adds the fixed header, the topic, the packet id and, in v5, the properties the audio
message carries (content type, schema version, recording id, exam id), counted exactly by
`publish_packet_size`. Real FLAC of full-scale white noise (which FLAC cannot shrink) is 0.9 %
under the bound; real heart recordings (CirCor, 4 kHz) are 1.4 to 2.0 times under it.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from edge_agent.config import AgentConfig
from edge_agent.storage.outbox import OutboundMessage
from edge_agent.transport.packet_size import PacketLimit, packet_limit, publish_packet_size
from edge_agent.wire import topics
from edge_agent.wire.schema_version import SCHEMA_VERSION
from firmware_bridge.flac_tags import FLAC_CONTENT_TYPE
from stetho_common import quote

__all__ = [
    "CaptureGate",
    "TooLong",
    "audio_packet_bound",
    "check_capture",
    "config_errors",
    "flac_bound",
    "max_seconds",
]

log = logging.getLogger(__name__)

BYTES_PER_SAMPLE = 2  # 16-bit PCM (firmware_bridge.flac.to_pcm16), one channel
FRAME_OVERHEAD = 16 + 1 + 1 + 2  # frame header, subframe header, padding, CRC-16
MIN_BLOCK = 1152  # libFLAC's smallest preset block size (compression levels 0 to 2)
METADATA_BYTES = 1024  # "fLaC" + STREAMINFO (38) + our Vorbis comment (~320), with room
_ANY_ID = str(uuid.UUID(int=0))  # every UUID is 36 characters: its length is what counts


def flac_bound(n_samples: int) -> int:
    """The most bytes `encode_flac` can make of `n_samples` mono 16-bit samples (see above)."""
    frames = math.ceil(n_samples / MIN_BLOCK)
    return METADATA_BYTES + BYTES_PER_SAMPLE * n_samples + FRAME_OVERHEAD * frames


def _audio_template(site: str, device: str) -> OutboundMessage:
    """The audio message as `pipeline.recordings.process_capture` makes it, with an exam id
    (the most properties it carries) and no payload yet."""
    props = (
        ("schema_version", str(SCHEMA_VERSION)),
        ("recording_id", _ANY_ID),
        ("exam_id", _ANY_ID),
    )
    topic = topics.recording_audio(site, device)
    return OutboundMessage(topic, b"", 1, False, FLAC_CONTENT_TYPE, None, props, _ANY_ID)


def audio_packet_bound(n_samples: int, site: str, device: str, v5: bool = True) -> int:
    """The most bytes the PUBLISH of a recording of `n_samples` can take on the wire."""
    return publish_packet_size(_audio_template(site, device), v5, flac_bound(n_samples))


def _max_samples(limit_bytes: int, site: str, device: str, v5: bool) -> int:
    """The most samples whose bound fits `limit_bytes` (the bound grows with n: bisect)."""
    lo, hi = 0, limit_bytes // BYTES_PER_SAMPLE + 1  # 2 bytes a sample: never more than this
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if audio_packet_bound(mid, site, device, v5) <= limit_bytes:
            lo = mid
        else:
            hi = mid - 1
    return lo


def max_seconds(limit_bytes: int, rate_hz: int, site: str, device: str, v5: bool = True) -> int:
    """Whole seconds of audio at `rate_hz` whose message surely fits `limit_bytes`."""
    return _max_samples(limit_bytes, site, device, v5) // rate_hz


@dataclass(frozen=True)
class TooLong:
    """A capture refused before it started: its message could be over the broker's limit."""

    device: str
    duration_s: float
    rate_hz: int
    max_s: int  # whole seconds that fit
    limit: PacketLimit
    key: str  # the setting that asked for this length, e.g. devices[0].monitoring.duration_s

    def alarm(self) -> str:
        source = (
            "broker.max_packet_bytes"
            if self.limit.configured
            else "the maximum packet size the broker states"
        )
        return (
            f"device {self.device}: a recording of {self.duration_s:g} s at {self.rate_hz} Hz "
            f"could exceed {source} ({self.limit.bytes} bytes), so it is not recorded; at most "
            f"{self.max_s} s fit. Raise the broker's limit (the shipped mosquitto.conf allows "
            f"16 MiB; then broker.max_packet_bytes to match, if set) or set {self.key} to "
            f"{self.max_s} or less"
        )


def check_capture(
    duration_s: float, rate_hz: int, site: str, device: str, limit: PacketLimit | None,
    v5: bool = True, key: str = "the recording's duration_s",
) -> TooLong | None:  # fmt: skip
    """None if a capture of `duration_s` (as many samples as the segmenters take) fits."""
    if limit is None:
        return None
    n_samples = round(duration_s * rate_hz)
    if audio_packet_bound(n_samples, site, device, v5) <= limit.bytes:
        return None
    most = max_seconds(limit.bytes, rate_hz, site, device, v5)
    return TooLong(device, duration_s, rate_hz, most, limit, key)


def config_errors(config: AgentConfig) -> list[str]:
    """Each monitoring duration, and the exams' duration, that cannot fit under
    `broker.max_packet_bytes`, worded as the config loader words its errors (`key: expected
    ...; found ...`): better refused at start than at the bedside. A file device's rate is
    known only once it is open: the check at capture time covers it."""
    limit = packet_limit(None, config.broker.max_packet_bytes)
    v5 = config.broker.protocol == "5"
    refusals = []
    for i, device in enumerate(config.devices):
        rate = getattr(device, "sample_rate_hz", None)
        if not isinstance(rate, int):
            continue
        if device.monitoring is not None:
            key = f"devices[{i}].monitoring.duration_s"
            duration = device.monitoring.duration_s
            refusals.append(check_capture(duration, rate, config.site, device.id, limit, v5, key))
        refusals.append(
            check_capture(
                config.exam.duration_s, rate, config.site, device.id, limit, v5, "exam.duration_s"
            )
        )
    errors = {_config_error(refused) for refused in refusals if refused is not None}
    return sorted(errors)


def _config_error(refused: TooLong) -> str:
    return (
        f"{refused.key}: expected at most {refused.max_s} s, the longest recording at "
        f"{refused.rate_hz} Hz whose audio message fits broker.max_packet_bytes "
        f"({refused.limit.bytes} bytes; recordings are not split), or a larger limit; "
        f"found {refused.duration_s:g}"
    )


class CaptureGate:
    """Asked before each capture starts, by the monitoring segmenters and the exams.

    `limit` gives the broker's limit as last known (the publisher keeps the last v5 CONNACK's);
    an alarm per device is kept while its captures are refused, and cleared, with the reason
    logged, once one fits again, or once `refresh` finds that the refused one would fit now
    (an exam stethoscope may not record again for days). `on_change` hears every alarm raised
    or cleared.
    """

    def __init__(
        self,
        site: str,
        limit: Callable[[], PacketLimit | None],
        v5: bool = True,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.site = site
        self._limit = limit
        self._v5 = v5
        self._on_change = on_change
        self.alarms: dict[str, str] = {}  # device -> what the operator must change
        self._last: dict[str, TooLong] = {}  # device -> the capture its alarm is about
        self.refused = 0

    def check(self, device: str, duration_s: float, rate_hz: int, key: str) -> TooLong | None:
        limit = self._limit()
        refused = check_capture(duration_s, rate_hz, self.site, device, limit, self._v5, key)
        if refused is None:
            self._clear(device, duration_s, limit)
            return None
        self.refused += 1
        log.warning(
            "event=capture_refused device=%s duration_s=%g max_s=%d broker_max=%d limit_from=%s",
            device, duration_s, refused.max_s, refused.limit.bytes,
            "broker.max_packet_bytes" if refused.limit.configured else "connack",
        )  # fmt: skip
        self._raise(refused)
        return refused

    def refresh(self) -> None:
        """Look again at each alarm under the limit as known now (a new connection's)."""
        limit = self._limit()
        for device, last in list(self._last.items()):
            again = check_capture(last.duration_s, last.rate_hz, self.site, device, limit,
                                  self._v5, last.key)  # fmt: skip
            if again is None:
                self._clear(device, last.duration_s, limit)
            else:
                self._raise(again)

    def _raise(self, refused: TooLong) -> None:
        self._last[refused.device] = refused
        alarm = refused.alarm()
        if self.alarms.get(refused.device) != alarm:
            self.alarms[refused.device] = alarm
            log.error("event=capture_alarm device=%s alarm=%s", refused.device, quote(alarm))
            self._changed()

    def _clear(self, device: str, duration_s: float, limit: PacketLimit | None) -> None:
        self._last.pop(device, None)
        if self.alarms.pop(device, None) is None:
            return
        why = (
            "the broker states no limit now"
            if limit is None
            else f"a recording of {duration_s:g} s fits the limit now ({limit.bytes} bytes)"
        )
        log.info("event=capture_alarm_cleared device=%s reason=%s", device, quote(why))
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()
