"""Mutation testing of the cores with mutmut: how much of the code do our tests really pin?

Each module is mutated in its own scratch copy of the tree (``build/mutate/<name>``) against
only the tests that cover it, one module at a time, so a run stays within two cores. Prints ONE
JSON object: killed, survived, no-test, timeout and score per module, and the survivors by name.

Survivors reviewed as truly equivalent (the mutant behaves exactly like the original) are listed
once, with a reason, in ``tests/mutation_equivalents.toml``; they are left out of the score.

    python -m bench.mutate [--jobs 2] [--only NAME ...] [--mutants GLOB ...] [--keep]
                           [--report-only]

``--mutants`` runs and scores only the mutants whose names match (mutmut's names, shell
globs: ``'stetho_signal._stats.x_median__mutmut_*'``), to check the functions a change
touched without the whole module's run.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "build" / "mutate"
EQUIVALENTS = ROOT / "tests" / "mutation_equivalents.toml"
# The packages a test session imports; copied whole, mutated only where a module says.
PACKAGES = (
    "edge_agent", "firmware_bridge", "stetho_signal", "stetho_sim", "stetho_common",
    "stetho_doctor", "stetho_cli", "stetho_hub",
)  # fmt: skip
# Read by the config tests, by the profile's tests (its hex examples), and by the hub CLI's
# (the hospital guide's words for a database with a gap).
EXTRA_FILES = ("config.example.toml", "docs/ble-profile.md", "docs/hospital.md")
# Imported by tests (frame fuzzer, MQTT client), or read by them (the wire's JSON Schemas; the
# deployed broker's config and certificate script, run by tests/deploy).
EXTRA_DIRS = ("bench", "stetho_testkit", "docs/schemas", "deploy/mosquitto")


@dataclass(frozen=True)
class Module:
    name: str
    files: tuple[str, ...]  # what is mutated
    tests: tuple[str, ...]  # the tests that cover it, and only those


MODULES = (
    Module(
        "edge_agent/storage",
        ("edge_agent/storage/outbox.py", "edge_agent/storage/journal.py"),
        (
            "tests/edge_agent/test_outbox.py",
            "tests/edge_agent/test_outbox_edges.py",
            "tests/edge_agent/test_journal.py",
            "tests/edge_agent/test_journal_edges.py",
            "tests/edge_agent/test_receipts.py",  # the outbox's receipt bookkeeping
        ),
    ),
    Module(
        "edge_agent/storage/receipts.py",  # a recording leaves only once the hospital has it
        ("edge_agent/storage/receipts.py",),
        (
            "tests/edge_agent/test_receipts.py",
            "tests/edge_agent/test_receipts_edges.py",
            "tests/edge_agent/test_receipt_backoff.py",
            "tests/edge_agent/test_outbox_edges.py",  # receipts kept through prune and damage
        ),
    ),
    Module(
        "edge_agent/pipeline/recovery.py",  # what a killed agent's journals held, accepted at start
        ("edge_agent/pipeline/recovery.py",),
        (
            "tests/edge_agent/test_journal.py",  # recovery at start
            "tests/edge_agent/test_recovery_edges.py",
        ),
    ),
    Module(
        "edge_agent/storage/salvage.py",  # a damaged outbox moved aside, every readable row kept
        ("edge_agent/storage/salvage.py",),
        (
            "tests/edge_agent/test_issue18_salvage.py",
            "tests/edge_agent/test_salvage_edges.py",
        ),
    ),
    Module(
        "edge_agent/pipeline/salvage_check.py",  # a salvaged recording delivered only if whole
        ("edge_agent/pipeline/salvage_check.py",),
        ("tests/edge_agent/test_salvage_check_edges.py",),
    ),
    Module(
        "stetho_common/backoff.py",  # the one reconnect and resend policy
        ("stetho_common/backoff.py",),
        ("tests/stetho_common/test_backoff.py", "tests/stetho_common/test_backoff_edges.py"),
    ),
    Module(
        "edge_agent/transport/failover.py",  # which broker next; the broker test stays out
        ("edge_agent/transport/failover.py",),
        ("tests/edge_agent/test_failover_edges.py",),
    ),
    Module(
        "edge_agent/transport/publisher.py",  # sent only after its PUBACK; each wait, each alarm
        ("edge_agent/transport/publisher.py",),
        # A fake connection in MqttConnection's place; the broker tests (Mosquitto, the MQTT v5
        # double: 27 s a run) stay out.
        ("tests/edge_agent/test_publisher_core.py",),
    ),
    Module(
        "edge_agent/pipeline/capture.py",  # a stream cut into recordings: none lost or cut short
        ("edge_agent/pipeline/capture.py",),
        (
            "tests/edge_agent/test_capture.py",
            "tests/edge_agent/test_journal.py",  # the pieces the journal keeps
            "tests/edge_agent/test_issue18_capture_limit.py",  # a capture the broker cannot take
        ),
    ),
    # The rest of the agent's recording path: "nothing lost" (docs/architecture.md, "Mutation:
    # the agent's recording path").
    Module(
        "edge_agent/pipeline/on_demand.py",  # started and ended on demand; a drop before sound told
        ("edge_agent/pipeline/on_demand.py",),
        (
            "tests/edge_agent/test_on_demand_edges.py",  # each rule, blocks by hand
            "tests/edge_agent/exam/test_on_demand.py",
        ),
    ),
    Module(
        "edge_agent/transport/capture_limit.py",  # refused at its start only if it could not pass
        ("edge_agent/transport/capture_limit.py",),
        (
            "tests/edge_agent/test_capture_limit_edges.py",  # the bound byte by byte, each word
            "tests/edge_agent/test_issue18_capture_limit.py",  # against real FLAC: 0.8 s
        ),
    ),
    Module(
        "edge_agent/storage/registry.py",  # paired stethoscopes: ids, lookups, written atomically
        ("edge_agent/storage/registry.py",),
        ("tests/edge_agent/test_registry.py", "tests/edge_agent/test_registry_edges.py"),
    ),
    Module(
        "edge_agent/pipeline/recordings.py",  # a capture's messages: audio first, dated, alerted
        ("edge_agent/pipeline/recordings.py",),
        (
            "tests/edge_agent/test_recordings_edges.py",  # each field, a synthetic heart: 0.5 s
            "tests/edge_agent/test_lost_frames_analysis.py",  # the analysis reads gaps bridged
        ),
    ),
    Module(
        "edge_agent/pipeline/device.py",  # the device loop's hand-off: journalled, flushed, dated
        ("edge_agent/pipeline/device.py",),
        (
            "tests/edge_agent/test_device_edges.py",  # a scripted source, the real journal
            "tests/edge_agent/test_recording_dates.py",
        ),
    ),
    # The bedside exam: its sans-I/O core, then the store that keeps it (all of
    # tests/edge_agent/exam runs in 3 s).
    Module(
        "edge_agent/exam/model",  # what the nurse may do next, at which sites, and what counts
        (
            "edge_agent/exam/model.py",
            "edge_agent/exam/protocols.py",
            "edge_agent/exam/errors.py",
        ),
        (
            "tests/edge_agent/exam/test_model.py",
            "tests/edge_agent/exam/test_model_edges.py",
            "tests/edge_agent/exam/test_service.py",  # the refusals the service words
            "tests/edge_agent/exam/test_store.py",  # an exam saved and reloaded whole
            "tests/edge_agent/web/test_refused_words.py",  # each refusal named for the page
            "tests/edge_agent/web/test_refusal_catalogue.py",  # the bedside ones, word for word
        ),
    ),
    Module(
        "edge_agent/exam/residents.py",  # an opaque reference, never a name; CSV all or nothing
        ("edge_agent/exam/residents.py",),
        (
            "tests/edge_agent/exam/test_store.py",
            "tests/edge_agent/exam/test_trailing_newline.py",
            "tests/edge_agent/exam/test_residents_edges.py",
            "tests/edge_agent/web/test_refused_words.py",  # each CSV problem named for the page
        ),
    ),
    Module(
        "edge_agent/exam/verdict.py",  # site done or not, and the one thing the nurse does next
        ("edge_agent/exam/verdict.py",),
        ("tests/edge_agent/exam/test_verdict.py",),
    ),
    Module(
        "edge_agent/exam/store",  # exams and residents kept whole, privately, through a restart
        ("edge_agent/exam/store.py", "edge_agent/exam/_db.py"),
        (
            "tests/edge_agent/exam/test_store.py",
            "tests/edge_agent/exam/test_store_edges.py",
            "tests/edge_agent/exam/test_age_band.py",  # rows written before child bands
            "tests/edge_agent/web/test_refused_words.py",  # a storage failure named for the page
        ),
    ),
    Module(
        "edge_agent/exam/service.py",  # the same rules for the page, the CLI, button and doctor
        ("edge_agent/exam/service.py", "edge_agent/exam/record_requests.py"),
        (
            "tests/edge_agent/exam/test_service.py",
            "tests/edge_agent/exam/test_service_edges.py",
            "tests/edge_agent/exam/test_record_requests.py",
            "tests/edge_agent/web/test_request_age_band.py",  # a request accepted on the page
            "tests/edge_agent/exam/test_age_band.py",  # the alert a recording raised
            "tests/edge_agent/exam/test_on_demand.py",
            "tests/edge_agent/exam/test_inbound_exam.py",
            "tests/edge_agent/exam/test_paired.py",
        ),
    ),
    Module(
        "edge_agent/exam/wire.py",  # the exam and the doctor's answer as they reach the broker
        ("edge_agent/exam/wire.py",),
        ("tests/edge_agent/exam/test_exam_wire.py", "tests/edge_agent/exam/test_service.py"),
    ),
    Module(
        "edge_agent/exam/monitor.py",  # the nurse's live level, clipping and contact readout
        ("edge_agent/exam/monitor.py",),
        ("tests/edge_agent/exam/test_monitor.py", "tests/edge_agent/exam/test_monitor_edges.py"),
    ),
    # What the doctor and the nurse read in French: a wrong number, bound or word misinforms.
    Module(
        "edge_agent/wire/flag_words.py",  # each flag's French sentence, its numbers and bounds
        ("edge_agent/wire/flag_words.py",),
        (
            "tests/edge_agent/test_flag_words.py",
            "tests/edge_agent/test_flag_words_exact.py",  # whole sentences for given numbers
            "tests/edge_agent/test_flag_details.py",  # the details the analysis sends
            "tests/stetho_hub/test_console_flag_words.py",  # as the console shows them
        ),
    ),
    Module(
        "edge_agent/wire/flag_names.py",  # each finding's short name, English and French
        ("edge_agent/wire/flag_names.py",),
        ("tests/edge_agent/test_flag_names.py",),
    ),
    Module(
        "edge_agent/wire/alarm_words.py",  # the agent's outbox alarm in French, its numbers
        ("edge_agent/wire/alarm_words.py",),
        ("tests/edge_agent/test_alarm_words.py",),
    ),
    Module(
        "edge_agent/wire/messages.py",  # what goes on the MQTT wire, and what is refused
        ("edge_agent/wire/messages.py",),
        (
            "tests/edge_agent/test_messages_edges.py",  # each refusal and each byte, direct
            "tests/edge_agent/test_hum_wire.py",
            "tests/edge_agent/test_faint_wire.py",
            "tests/edge_agent/test_flag_details.py",
            "tests/edge_agent/exam/test_exam_wire.py",
            "tests/sync/test_schemas.py",  # the JSON Schemas in docs/schemas/
            "tests/stetho_hub/test_wire_edges.py",  # as the hub parses them
        ),
    ),
    Module(
        "edge_agent/runtime/commands.py",  # what the agent takes over MQTT; anything else refused
        ("edge_agent/runtime/commands.py",),
        (
            "tests/edge_agent/test_commands_edges.py",  # each refusal and bound, direct
            "tests/edge_agent/test_issue18_inputs.py",  # strict types, forged lines, unknown acks
            "tests/sync/test_inbound.py",  # 3000 malformed messages, live start and stop
            "tests/edge_agent/exam/test_inbound_exam.py",  # a doctor's request and answer
        ),
    ),
    # systemd's side: READY, WATCHDOG and STOPPING, the pings a hung loop stops.
    Module(
        "edge_agent/runtime/sdnotify.py",  # sd_notify's datagrams, byte for byte, never blocking
        ("edge_agent/runtime/sdnotify.py",),
        (
            "tests/edge_agent/test_sdnotify_edges.py",  # a raw socket read byte for byte: 0.2 s
            "tests/edge_agent/test_sdnotify.py",  # systemd's side as tests/deploy fakes it
        ),
    ),
    Module(
        "edge_agent/runtime/watchdog.py",  # half of $WATCHDOG_USEC; pings from the loop only
        ("edge_agent/runtime/watchdog.py",),
        # A scripted clock in the loop's place; test_watchdog.py's real blocked loop (1.6 s a
        # run) stays out.
        ("tests/edge_agent/test_watchdog_edges.py",),
    ),
    Module(
        "edge_agent/transport/packet_size.py",  # a PUBLISH's bytes against the broker's limit
        ("edge_agent/transport/packet_size.py",),
        # Sizes by hand and against paho's properties: 0.6 s. The broker tests (Mosquitto, the
        # MQTT v5 double) and the publisher's (16 s a run) stay out.
        ("tests/edge_agent/test_packet_size_edges.py",),
    ),
    Module(
        "edge_agent/storage/_pages.py",  # rows read off SQLite's pages when its B-tree is damaged
        ("edge_agent/storage/_pages.py",),
        # Databases SQLite wrote, damaged byte by byte: 1 s. The salvage's files (3 s) stay out.
        ("tests/edge_agent/test_pages_edges.py",),
    ),
    Module(
        "edge_agent/wire/recording.py",  # a recording's identity, out and back from its journal
        ("edge_agent/wire/recording.py",),
        # Each field out and back, each refusal's words: 0.2 s. The journal's files stay out.
        ("tests/edge_agent/test_recording_context_edges.py",),
    ),
    Module(
        "edge_agent/cli/devices.py",  # stetho pair, devices, forget, record: each refusal one line
        ("edge_agent/cli/devices.py",),
        (
            "tests/edge_agent/test_cli_devices_edges.py",  # the choice, the tables, the summary
            # Simulated stethoscopes in-process; its Ctrl-C test is a subprocess, out of reach.
            "tests/edge_agent/test_cli_devices.py",
        ),
    ),
    Module(
        "edge_agent/cli/exam.py",  # stetho exam through the agent's socket: each failure one line
        ("edge_agent/cli/exam.py",),
        # The agent's real exam API served from a thread, in-process: 20 s; a scripted agent for
        # the answers it gives when something is wrong: 3 s. The broker-backed wait tests
        # (a real agent, subprocesses: 70 s) stay out.
        (
            "tests/edge_agent/exam/test_exam_cli.py",
            "tests/edge_agent/exam/test_exam_cli_answers.py",
        ),
    ),
    Module(
        "edge_agent/transport/settings.py",  # every [broker] key reaches the connection; --broker
        ("edge_agent/transport/settings.py",),
        # In-process, no broker: 1 s. The doctor's tools and the broker tests stay out.
        ("tests/edge_agent/test_broker_settings_edges.py",),
    ),
    Module(
        "edge_agent/wire/recording_length.py",  # one length parser: the page, API and console
        ("edge_agent/wire/recording_length.py",),
        (
            "tests/edge_agent/test_recording_length.py",
            "tests/edge_agent/exam/test_model_edges.py",  # the exam's refusal built from it
            "tests/edge_agent/web/test_record_length_comma.py",  # "12,5" typed on the page
        ),
    ),
    Module(
        "firmware_bridge/codec.py",
        ("firmware_bridge/codec.py", "firmware_bridge/_adpcm.py"),
        (
            "tests/firmware_bridge/test_codec.py",
            "tests/firmware_bridge/test_codec_edges.py",
            "tests/firmware_bridge/test_adpcm_decoder.py",
        ),
    ),
    Module(
        "firmware_bridge/flac_tags.py",  # a recording's device, site and gaps in its FLAC bytes
        ("firmware_bridge/flac_tags.py",),
        (
            "tests/firmware_bridge/test_flac_tags_edges.py",  # blocks by hand, byte for byte
            "tests/firmware_bridge/test_flac_tags.py",  # against metaflac and flac -t
        ),
    ),
    Module(
        "firmware_bridge/gatt.py",  # the profile's control, response and status bytes
        ("firmware_bridge/gatt.py",),
        (
            "tests/firmware_bridge/test_gatt_edges.py",  # each byte and bound, both sides
            "tests/firmware_bridge/test_gatt.py",
            "tests/firmware_bridge/test_profile_doc.py",  # docs/ble-profile.md's hex examples
        ),
    ),
    Module(
        "firmware_bridge/pairing.py",  # stetho pair: found, paired, identified, forgotten
        ("firmware_bridge/pairing.py",),
        (
            "tests/firmware_bridge/test_pairing_edges.py",  # simulated bleak, a fake BlueZ
            "tests/firmware_bridge/test_sim_keypad.py",  # the passkey through our agent
        ),
    ),
    Module(
        "firmware_bridge/reassembly.py",
        ("firmware_bridge/reassembly.py",),
        (
            "tests/firmware_bridge/test_reassembly.py",
            "tests/firmware_bridge/test_reassembly_edges.py",
        ),
    ),
    Module(
        "stetho_signal/triage",
        ("stetho_signal/_rules.py", "stetho_signal/triage.py"),
        (
            "tests/stetho_signal/test_triage.py",
            "tests/stetho_signal/test_triage_edges.py",
            "tests/stetho_signal/test_age_band.py",
            "tests/stetho_signal/test_breathing_rate_at_auscultation.py",  # the urgent wording
            "tests/edge_agent/test_flag_details.py",  # check_details at the wire edge
            "tests/stetho_signal/test_fast_read.py",  # a fast rate the recording bears out
            "tests/stetho_signal/test_beat_step.py",  # nor its beats stepping up and down
            "tests/stetho_signal/test_beat_prominence.py",  # nor faint, barely repeating beats
            "tests/stetho_signal/test_voice_heard.py",  # a wheeze heard while someone spoke
            "tests/stetho_signal/test_short_clip.py",  # a clip too short to see a slow heart
        ),
    ),
    Module(
        # a fast rate's envelope repeat, beat span, beat step and beat prominence
        "stetho_signal/_fast_read.py",
        ("stetho_signal/_fast_read.py",),
        (
            "tests/stetho_signal/test_fast_read.py",
            "tests/stetho_signal/test_beat_step.py",
            "tests/stetho_signal/test_beat_prominence.py",
            "tests/bench/test_breath_rhythm.py",  # the step is exactly the probe's
        ),
    ),
    Module(
        "stetho_signal/_short_beats.py",  # an irregular chain's short beats, S1-shaped only
        ("stetho_signal/_short_beats.py",),
        (
            "tests/stetho_signal/test_short_beats.py",
            "tests/stetho_signal/test_short_beats_edges.py",  # its bounds, shapes, likeness
        ),
    ),
    Module(
        "stetho_signal/_sound_band.py",  # where the sounds' power lies: heart or crackles
        ("stetho_signal/_sound_band.py",),
        (
            "tests/stetho_signal/test_sound_band.py",
            "tests/stetho_signal/test_crackles_not_heart.py",  # the share of real sounds
        ),
    ),
    Module(
        "stetho_signal/_heart_gate.py",  # crackle candidates at a heartbeat's labelled sounds
        ("stetho_signal/_heart_gate.py",),
        ("tests/stetho_signal/test_crackles.py",),
    ),
    Module(
        "stetho_signal/_slow_wave.py",  # crackle candidates on the bend of a larger slow wave
        ("stetho_signal/_slow_wave.py",),
        ("tests/stetho_signal/test_slow_wave.py",),
    ),
    Module(
        "stetho_signal/_ringing.py",  # candidates that do not ring down, counted beside two that do
        ("stetho_signal/_ringing.py",),
        ("tests/stetho_signal/test_ringing.py",),
    ),
    Module(
        "stetho_signal/_too_fine.py",  # candidates with a 2CD under 2.5 ms: a click's ringing
        ("stetho_signal/_too_fine.py",),
        ("tests/stetho_signal/test_too_fine.py",),
    ),
    Module(
        "stetho_signal/_over_breath.py",  # candidates adding under 3 dB over the breath in 20 ms
        ("stetho_signal/_over_breath.py",),
        ("tests/stetho_signal/test_over_breath.py",),
    ),
    Module(
        "stetho_signal/wheezes.py",  # tone frames, runs, voice, held duration on the waveform
        ("stetho_signal/wheezes.py",),
        (
            "tests/stetho_signal/test_wheezes_edges.py",  # each bound, on spectrograms made by hand
            "tests/stetho_signal/test_lung.py",
            "tests/stetho_signal/test_voice_heard.py",  # voice-like tones counted, not flagged
            "tests/stetho_signal/test_mains.py",  # hum held through the recording: no wheeze
        ),
    ),
    Module(
        "stetho_signal/crackles.py",  # the crackle detector and the band it reads
        ("stetho_signal/crackles.py",),
        (
            "tests/stetho_signal/test_crackles_edges.py",  # each bound, on bands made by hand
            "tests/stetho_signal/test_lung.py",
            "tests/stetho_signal/test_crackles.py",
            "tests/stetho_signal/test_signal_onset.py",  # the half window from the signal's ends
            "tests/stetho_signal/test_ringing.py",  # the band the ringing rule reads again
        ),
    ),
    Module(
        "stetho_signal/_mains.py",  # hum found and taken out, nothing else touched
        ("stetho_signal/_mains.py",),
        ("tests/stetho_signal/test_mains.py", "tests/stetho_signal/test_mains_reference.py"),
    ),
    Module(
        "stetho_signal/_peaks.py",  # candidate heart sounds and the cycles read off the loud ones
        ("stetho_signal/_peaks.py",),
        (
            "tests/stetho_signal/test_peaks_reference.py",
            "tests/stetho_signal/test_slow_chain.py",  # noise peaks of a slow heart earn nothing
            "tests/stetho_signal/test_chains.py",
            "tests/stetho_signal/test_gallop.py",  # a loud third sound: low-pitched, own cycle
        ),
    ),
    Module(
        "stetho_signal/_chains.py",  # the chain search: a model given up on only when it cannot win
        ("stetho_signal/_chains.py",),
        (
            "tests/stetho_signal/test_chains.py",
            "tests/stetho_signal/test_slow_chain.py",
            "tests/stetho_signal/test_chains_oracle.py",  # every chain of a few peaks scored
        ),
    ),
    Module(
        "stetho_signal/_half_rate.py",  # a fast heart read at half its rate: doubled, or flagged
        ("stetho_signal/_half_rate.py",),
        (
            "tests/stetho_signal/test_half_rate_windows.py",  # windows against find_peaks
            "tests/stetho_signal/test_half_rate_edges.py",  # each bound, on envelopes by hand
            "tests/stetho_signal/test_half_rate_irregular.py",  # an AF-like chain's phases
            "tests/stetho_signal/test_half_rate.py",
            "tests/stetho_signal/test_fast_orientation.py",  # fast chains, doubled ones too
            "tests/stetho_signal/test_triage.py",  # "may be twice" raised from the sign
        ),
    ),
    Module(
        "stetho_signal/_murmur.py",  # which phase is the louder, and by how much
        ("stetho_signal/_murmur.py",),
        (
            "tests/stetho_signal/test_murmur_edges.py",  # each bound, on envelopes by hand
            "tests/stetho_signal/test_murmur_levels.py",  # the whole phases' levels, by hand
            "tests/stetho_signal/test_murmur.py",  # murmurs hinted, breath and transients not
        ),
    ),
    Module(
        "stetho_signal/_snap.py",  # a distinct sound 40-120 ms after every S2
        ("stetho_signal/_snap.py",),
        (
            "tests/stetho_signal/test_opening_snap_edges.py",  # each bound, magnitudes by hand
            "tests/stetho_signal/test_opening_snap.py",
        ),
    ),
    Module(
        "stetho_signal/segmentation.py",  # which sounds are S1 and S2, and which chain holds them
        ("stetho_signal/segmentation.py",),
        (
            "tests/stetho_signal/test_orientation.py",
            "tests/stetho_signal/test_orientation_bounds.py",
            "tests/stetho_signal/test_fast_orientation.py",  # fast chains, doubled ones too
            "tests/stetho_signal/test_chains.py",
            "tests/stetho_signal/test_half_rate.py",
            "tests/stetho_signal/test_gallop.py",
            "tests/stetho_signal/test_short_beats.py",  # an irregular chain searched again
            "tests/stetho_signal/test_segmentation_parts.py",  # centres, refined cycles, ties
            "tests/stetho_signal/test_cycle_model_range.py",  # models in the searched range
            "tests/stetho_signal/test_heart.py",  # rates, murmurs and splits through the chain
        ),
    ),
    Module(
        "stetho_signal/_chain_judge.py",  # which way round a chain is, and the sounds it drops
        ("stetho_signal/_chain_judge.py",),
        (
            "tests/stetho_signal/test_judge.py",  # once a chain, as the functions answer
            "tests/stetho_signal/test_orientation.py",
            "tests/stetho_signal/test_orientation_bounds.py",  # each bound on its exact value
            "tests/stetho_signal/test_fast_orientation.py",  # fast chains, doubled ones too
            "tests/stetho_signal/test_explained_score.py",  # beats a chain leaves out
            "tests/stetho_signal/test_segmentation_parts.py",  # the cycle's cue, gallops, ties
            "tests/stetho_signal/test_short_beats.py",  # an irregular chain's dropped beats
            "tests/stetho_signal/test_gallop.py",  # a loud third sound is not a dropped beat
            "tests/stetho_signal/test_half_rate.py",  # the guard's own use of the cycle's cue
        ),
    ),
    Module(
        "stetho_signal/quality.py",  # worth a doctor's time, and if not, what should change
        ("stetho_signal/quality.py",),
        (
            "tests/stetho_signal/test_faint.py",
            "tests/stetho_signal/test_quality_reference.py",
            "tests/stetho_signal/test_breath_unheard.py",
            "tests/stetho_signal/test_background_noise.py",
            "tests/stetho_signal/test_analyze.py",
            "tests/stetho_signal/test_handling.py",
            "tests/stetho_signal/test_mains.py",  # hum reported, never scored
        ),
    ),
    Module(
        "stetho_signal/_rhythm.py",  # the beat-to-beat irregularity, one definition
        ("stetho_signal/_rhythm.py",),
        (
            "tests/stetho_signal/test_heart_assembly_edges.py",
            "tests/stetho_signal/test_half_rate_irregular.py",
        ),
    ),
    Module(
        "stetho_signal/_stats.py",  # the bits of np.median and np.quantile, without their cost
        ("stetho_signal/_stats.py",),
        ("tests/stetho_signal/test_stats.py", "tests/stetho_signal/test_stats_edges.py"),
    ),
    Module(
        "stetho_signal/_audio.py",  # what a recording must be to be analysed, at full scale
        ("stetho_signal/_audio.py",),
        (
            "tests/stetho_signal/test_prepare.py",
            "tests/stetho_signal/test_analyze.py",  # rates, channels, integer scales, clipping
            "tests/stetho_signal/test_signal_onset.py",  # where the signal lies
        ),
    ),
    Module(
        "stetho_signal/bands.py",  # bands and envelopes cut from one spectrum, as filters give
        ("stetho_signal/bands.py",),
        (
            "tests/stetho_signal/test_bands.py",
            "tests/stetho_signal/test_envelopes_edges.py",  # batched rows, odd lengths, caches
            "tests/stetho_signal/test_spectrum_edges.py",  # mirrored ends, rates, odd orders
            "tests/stetho_signal/test_mains.py",  # the hum read off the same spectrum
        ),
    ),
    Module(
        # Which heart rates the S1/S2 search weighs: a wrong period is a half- or double-rate
        # read. test_heart.py (20 s a run) stays out: direct tests pin the same rules.
        "stetho_signal/envelope.py",
        ("stetho_signal/envelope.py",),
        (
            "tests/stetho_signal/test_cycle_estimate_edges.py",  # each rule, envelopes by hand
            "tests/stetho_signal/test_envelopes_edges.py",  # each row scaled on its own
            "tests/stetho_signal/test_breath_rate.py",  # octaves' autocorrelations as rows
            "tests/stetho_signal/test_chains.py",  # cycles of synthetic hearts
            "tests/stetho_signal/test_slow_chain.py",
            "tests/stetho_signal/test_short_clip.py",  # the slowest rate a clip can show
            "tests/stetho_signal/test_acf_alone_period.py",  # the repeat at a period read
            "tests/stetho_signal/test_cycle_model_range.py",  # the searched range's bounds
        ),
    ),
    Module(
        # The heart analysis put together: the rate, the notes, what each flag reads. The
        # synthetic sweeps (test_heart.py, 20 s a run) stay out: direct tests pin the rules.
        "stetho_signal/heart.py",
        ("stetho_signal/heart.py",),
        (
            "tests/stetho_signal/test_heart_assembly_edges.py",  # each rule, inputs by hand
            "tests/stetho_signal/test_fast_read.py",  # the urgent measures at a fast rate
            "tests/stetho_signal/test_crackles_not_heart.py",  # the sounds' high-band share
            "tests/stetho_signal/test_acf_alone_period.py",  # a rate from the cycle alone
            "tests/stetho_signal/test_cycle_model_range.py",  # a rate past the shown range
        ),
    ),
    Module(
        # The breathing rate, crackles and wheezes kept off heart sounds.
        "stetho_signal/lung.py",
        ("stetho_signal/lung.py",),
        (
            "tests/stetho_signal/test_lung_assembly_edges.py",  # each rule, inputs by hand
            "tests/stetho_signal/test_lung.py",
            "tests/stetho_signal/test_breath_rate_silence.py",  # digital silence left out
            "tests/stetho_signal/test_breath_rate_infant.py",  # the search's ceiling by age
        ),
    ),
    # SciPy's signal functions we carry (issue 13): each must stay SciPy's, bit for bit.
    Module(
        "stetho_common/dsp/_filtering.py",  # sosfilt, its steady state, forward-backward
        ("stetho_common/dsp/_filtering.py",),
        (
            "tests/stetho_common/test_dsp_filtering_edges.py",  # each step against SciPy's
            "tests/stetho_common/test_dsp.py",
        ),
    ),
    Module(
        "stetho_common/dsp/_design.py",  # the Butterworth band-pass every filter here starts from
        ("stetho_common/dsp/_design.py",),
        (
            "tests/stetho_common/test_dsp_design_edges.py",  # each step against SciPy's
            "tests/stetho_common/test_dsp.py",  # the orders, bands and rates in use
        ),
    ),
    Module(
        "stetho_common/dsp/_resample.py",  # every recording brought to 4 kHz before analysis
        ("stetho_common/dsp/_resample.py",),
        (
            "tests/stetho_common/test_dsp_resample_edges.py",  # each step against SciPy's
            "tests/stetho_common/test_dsp.py",
        ),
    ),
    Module(
        "stetho_signal/filters.py",  # the bands' design, its refusals, zero-phase and streaming
        ("stetho_signal/filters.py",),
        (
            "tests/stetho_signal/test_filters_edges.py",  # each rule, against SciPy bit for bit
            "tests/stetho_signal/test_filters.py",  # tones passed and attenuated as designed
        ),
    ),
    Module(
        "firmware_bridge/flac.py",  # a recording's samples, hash and gaps as FLAC, and back
        ("firmware_bridge/flac.py",),
        (
            "tests/firmware_bridge/test_flac_edges.py",  # values, bytes, words, descriptors
            "tests/firmware_bridge/test_gap_tags.py",
            "tests/firmware_bridge/test_flac_mismatch.py",
        ),
    ),
    Module(
        "stetho_common/waits.py",  # a stop always ends a wait, and is never eaten
        ("stetho_common/waits.py",),
        ("tests/stetho_common/test_waits.py",),
    ),
    Module(
        "edge_agent/config.py",
        ("edge_agent/config.py", "stetho_common/config_file.py"),  # and the one file reader
        (
            "tests/edge_agent/test_config.py",
            "tests/edge_agent/test_config_checks.py",
            "tests/edge_agent/test_issue18_failover.py",  # broker endpoints
            "tests/stetho_hub/test_cli.py",  # the hub's secrets, by the same rule
            "tests/stetho_common/test_config_file.py",
        ),
    ),
    Module(
        "stetho_common/task_groups.py",  # a failed task's own error, however deep its group
        ("stetho_common/task_groups.py",),
        ("tests/stetho_common/test_task_groups.py",),
    ),
    Module(
        "stetho_common/private_files.py",  # health data 0600 in 0700 folders; never a shared one
        ("stetho_common/private_files.py",),
        ("tests/stetho_common/test_private_files.py", "tests/edge_agent/test_issue18_inputs.py"),
    ),
    Module(
        "stetho_common/sign_in.py",  # both pages' sign-in lock and CSRF check
        ("stetho_common/sign_in.py",),
        ("tests/stetho_common/test_sign_in.py",),
    ),
    Module(
        "stetho_hub/access",  # who sees which care home: sessions, accounts, reads in SQL, audit
        (
            "stetho_hub/console/sessions.py",
            "stetho_hub/storage/users.py",
            "stetho_hub/storage/views.py",
            "stetho_hub/storage/exam_views.py",
        ),
        (
            "tests/stetho_hub/test_access_edges.py",  # the storage reads and sessions, direct
            "tests/stetho_hub/test_console.py",  # the same over HTTP (SQLite, loopback)
            "tests/stetho_hub/test_console_exam.py",
        ),
    ),
    # Run with --mutants on the gate's functions (shell: Console.session, set_cookie, audit,
    # visible, signed_in, form_to_send, send_form, security_headers, user_of; app:
    # signin_form, signin, signout, inbox, _visible, recording, _to_send, homes, audio, picture,
    # audit_export; exam_routes: _visible, exam, _live_target, live_page). send_form alone:
    # 50 mutants, 5.5 min (the forms the four decorated send handlers hand it).
    # And on the app as wired (app: make_app, _fhir_status, static_css, static_js,
    # serve_console: 141 mutants, 5 min). Handlers and middlewares under a decorator
    # (@signed_in, @web.middleware: inbox, recording, decide, homes, audio, picture,
    # audit_export, signout, security_headers, exam, live_page) get no mutants at all.
    Module(
        "stetho_hub/console/gate",  # sign-in, CSRF, the 404 of another home's, audit per page
        (
            "stetho_hub/console/shell.py",
            "stetho_hub/console/app.py",
            "stetho_hub/console/exam_routes.py",
        ),
        (
            "tests/stetho_hub/test_console_app_edges.py",  # routes, size bound, serving: 5 s
            "tests/stetho_hub/test_console_send_form.py",  # forms sent to a care home: 12 s
            "tests/stetho_hub/test_console.py",
            "tests/stetho_hub/test_console_exam.py",
            "tests/stetho_hub/test_console_gate.py",
        ),
    ),
    # Run with --mutants on the access functions (sessions.*, accounts.*, app guard,
    # views_people login, login_form, _end_session, logout, set_language, _set_cookie): 592 of
    # the files' 944 mutants; the rest are routes and the residents screen.
    # Browser tests stay out (Chromium: 13 s for the tablet's alone); the direct renders of
    # test_console_pages.py (1.5 s) come first, the HTTP tests behind them.
    Module(
        "stetho_hub/console/pages",  # what the doctor reads: forms, findings, homes, escaping
        ("stetho_hub/console/pages.py",),
        (
            "tests/stetho_hub/test_console_pages.py",  # each page rendered from data, direct
            "tests/stetho_hub/test_console_flag_words.py",
            "tests/stetho_hub/test_console_hum.py",
            "tests/stetho_hub/test_console_faint.py",
            "tests/stetho_hub/test_console_languages.py",
            "tests/stetho_hub/test_console_numbers.py",
            "tests/stetho_hub/test_console_decisions.py",
            "tests/stetho_hub/test_console_malformed_forms.py",
            "tests/stetho_hub/test_console.py",
            "tests/stetho_hub/test_console_gate.py",
            "tests/stetho_hub/test_console_exam.py",
            "tests/stetho_hub/test_console_timeline.py",
            "tests/stetho_hub/test_console_picture_words.py",
            "tests/stetho_hub/test_console_attacker.py",
        ),
    ),
    Module(
        "edge_agent/web/access",  # the nurses' page: sessions kept by hash, CSRF, lock, audit
        (
            "edge_agent/web/sessions.py",
            "edge_agent/web/accounts.py",
            "edge_agent/web/app.py",
            "edge_agent/web/views_people.py",
        ),
        (
            "tests/edge_agent/web/test_page_security.py",
            "tests/edge_agent/web/test_sessions_persist.py",
            "tests/edge_agent/web/test_access_edges.py",
        ),
    ),
    Module(
        # Its functions only: mutmut leaves the catalogues (module-level tables) alone.
        "edge_agent/web/i18n.py",  # the browser's language read, a refusal in the nurse's words
        ("edge_agent/web/i18n.py",),
        (
            "tests/edge_agent/web/test_i18n_edges.py",  # each function, direct
            "tests/edge_agent/web/test_refused_words.py",
            "tests/edge_agent/web/test_refusal_catalogue.py",
            "tests/edge_agent/web/test_page_words.py",  # the switch and Accept-Language, over HTTP
        ),
    ),
    Module(
        "edge_agent/web/names.py",  # a colleague's display name where the page shows her id
        ("edge_agent/web/names.py",),
        ("tests/edge_agent/web/test_names_edges.py", "tests/edge_agent/web/test_busy_names.py"),
    ),
    Module(
        "edge_agent/web/idle.py",  # a tablet nobody uses signed out; polls are not use
        ("edge_agent/web/idle.py",),
        (
            "tests/edge_agent/web/test_idle_signout.py",  # its browser test left out, as all are
            "tests/edge_agent/web/test_sessions_persist.py",  # the idle clock over a restart
        ),
    ),
    Module(
        "stetho_hub/fhir",  # an exam as the hospital record receives it: codes, units, ids
        (
            "stetho_hub/fhir/bundle.py",
            "stetho_hub/fhir/_observations.py",
            "stetho_hub/fhir/_resources.py",
            "stetho_hub/fhir/codes.py",
            "stetho_hub/fhir/_ids.py",
        ),
        (
            "tests/stetho_hub/fhir/test_bundle.py",
            "tests/stetho_hub/fhir/test_naming_and_codes.py",
            "tests/stetho_hub/fhir/test_what_the_record_receives.py",
        ),
    ),
    # The record's delivery: "nothing lost" holds for it too. The SIGKILL test
    # (test_durability.py: a sender process, 3.4 s a run) stays out; a real HTTPS server on
    # loopback (the FHIR test double) stays in, under 0.3 s a test.
    Module(
        "stetho_hub/fhir/queue",  # sent once, marked sent only after a 2xx; a refusal kept, told
        # errors.py: the sender's refusals, and the missing `hub` extra told where httpx loads.
        ("stetho_hub/fhir/queue.py", "stetho_hub/fhir/sender.py", "stetho_hub/fhir/errors.py"),
        (
            "tests/stetho_hub/fhir/test_queue.py",  # the queue's rules, time passed in
            "tests/stetho_hub/fhir/test_queue_edges.py",
            "tests/stetho_hub/fhir/test_send_edges.py",  # a scripted HTTPS server: 5 s a run
            "tests/stetho_hub/fhir/test_send.py",  # over TLS to the FHIR test double
            "tests/stetho_hub/fhir/test_from_archive.py",  # closed exams queued and sent
        ),
    ),
    Module(
        "stetho_hub/fhir/export.py",  # closed exams found and queued; an outage waited out
        ("stetho_hub/fhir/export.py",),
        ("tests/stetho_hub/fhir/test_from_archive.py",),  # the FHIR test double over TLS
    ),
    Module(
        "stetho_hub/fhir/records",  # what the builder is given, and a saved recording read whole
        ("stetho_hub/fhir/records.py", "stetho_hub/fhir/from_saved.py"),
        (
            "tests/stetho_hub/fhir/test_records_edges.py",  # each field and refusal, direct
            "tests/stetho_hub/fhir/test_from_saved.py",
            "tests/stetho_hub/fhir/test_bundle.py",
            "tests/stetho_hub/fhir/test_what_the_record_receives.py",
            "tests/stetho_hub/fhir/test_naming_and_codes.py",
        ),
    ),
    Module(
        "stetho_hub/cli.py",  # migrate, status, accounts: each refusal one line, nothing half-made
        ("stetho_hub/cli.py",),
        ("tests/stetho_hub/test_cli.py", "tests/stetho_hub/test_cli_settings.py"),
    ),
    Module(
        "stetho_hub/wire.py",  # what the hub receives: each message parsed or refused, by reason
        ("stetho_hub/wire.py",),
        ("tests/stetho_hub/test_wire.py", "tests/stetho_hub/test_wire_edges.py"),
    ),
    Module(
        "stetho_hub/storage/archive.py",  # each recording stored once, archived only when whole
        ("stetho_hub/storage/archive.py",),
        (
            "tests/stetho_hub/test_storage.py",  # SQLite alone under mutation (conftest)
            "tests/stetho_hub/test_archive_edges.py",
        ),
    ),
    Module(
        "stetho_hub/storage/audio_store.py",  # audio by its SHA-256: durable, private, once
        ("stetho_hub/storage/audio_store.py",),
        (
            "tests/stetho_hub/test_storage.py",
            "tests/stetho_hub/test_audio_store_edges.py",
        ),
    ),
    Module(
        "stetho_hub/storage/outage.py",  # every storage outage waited out by one policy
        ("stetho_hub/storage/outage.py",),
        (
            "tests/stetho_hub/test_storage_outage.py",  # the waits, the line, the sleep
            "tests/stetho_hub/test_ingest_service.py",  # its loops, with the delay patched
        ),
    ),
    Module(
        "stetho_hub/ingest",  # acknowledged only once stored; a receipt per archived recording
        ("stetho_hub/ingest/service.py", "stetho_hub/ingest/receipts.py"),
        ("tests/stetho_hub/test_ingest_service.py",),  # a fake connection: no broker
    ),
    Module(
        "stetho_hub/storage/database.py",  # one connection: committed durably, or rolled back
        ("stetho_hub/storage/database.py",),
        (
            "tests/stetho_hub/test_database_edges.py",  # SQLite; its PostgreSQL half, see there
            "tests/stetho_hub/test_storage.py",  # SQLite alone under mutation (conftest)
            "tests/stetho_hub/test_migration_checksums.py",  # on_connect: a refusal closes
        ),
    ),
    Module(
        "stetho_hub/storage/migrations.py",  # every version once, in order; a newer one refused
        ("stetho_hub/storage/migrations.py",),
        (
            "tests/stetho_hub/test_migrations_edges.py",
            "tests/stetho_hub/test_migration_checksums.py",  # checksums, open_database's modes
            "tests/stetho_hub/test_storage.py",  # SQLite alone under mutation (conftest)
        ),
    ),
    # The doctor's side: "doctors subscribing to an alert topic". The CLI's subprocess and
    # broker tests (tests/sync/test_doctor_tools.py: a real agent and Mosquitto, 60 s a run;
    # test_issue18_inputs.py, 3.5 s a command) stay out: direct tests pin the same rules.
    Module(
        "stetho_doctor/ack_answer.py",  # an ack confirmed, refused or unanswered, in words
        ("stetho_doctor/ack_answer.py",),
        (
            "tests/test_doctor_ack_answer_edges.py",  # each status, each sentence, direct
            "tests/test_doctor_ack_answer.py",  # `stetho ack` against Mosquitto: 2.4 s
        ),
    ),
    Module(
        "stetho_doctor/options.py",  # the broker and TLS options each doctor command accepts
        ("stetho_doctor/options.py",),
        ("tests/test_doctor_options_edges.py", "tests/test_doctor_tls_options.py"),
    ),
    Module(
        "stetho_doctor/cli.py",  # each refusal one line and its exit code; the alerts' table
        ("stetho_doctor/cli.py",),
        # The commands are decorated (no mutants); what they share is reached in-process.
        (
            "tests/test_doctor_cli_edges.py",  # ids, Ctrl-C, the sent line, each table: 0.4 s
            "tests/test_doctor_exam_cli_edges.py",  # publish_once faked: 0.5 s
            "tests/test_doctor_listen_words.py",  # the table at each width: 2 s
            "tests/test_doctor_ack_answer.py",  # `stetho ack` against Mosquitto: 2.4 s
        ),
    ),
    Module(
        "stetho_doctor/exam_cli.py",  # stetho answer and request: the message sent, each refusal
        ("stetho_doctor/exam_cli.py",),
        # In-process, publish_once faked: 0.5 s. test_issue18_inputs.py (subprocesses) stays out.
        ("tests/test_doctor_exam_cli_edges.py",),
    ),
    Module(
        "stetho_doctor/client.py",  # an alert followed, shown, saved; an ack sent and watched
        ("stetho_doctor/client.py",),
        # A fake connection in MqttConnection's place. test_issue18_mqtt311.py, whose broker
        # test left a paho socket pair to the stats run's end (an unraisable warning), stays out.
        ("tests/test_doctor_client_edges.py",),
    ),
    Module(
        "edge_agent/transport/tls_errors.py",  # what a TLS failure is told as, and to whom
        ("edge_agent/transport/tls_errors.py",),
        (
            "tests/deploy/test_tls_errors_edges.py",  # every problem's sentence, word for word
            "tests/deploy/test_tls_errors.py",  # real failures, a TLS Mosquitto: 3 s a run
        ),
    ),
)

_KILLED = {1, 3, 37}
_SURVIVED = {0}
_NO_TESTS = {5, 33}
_TIMEOUT = {36, 24, -24, 152, 255}
# SIGSEGV: the tests' process crashed where the original passes (a mutant handing None to a
# compiled SciPy kernel, which does not check): caught, as a failing test is. SIGKILL (-9)
# stays suspicious: the machine's memory limit sends it too.
_CRASHED = {-11}


def _mutmut_table(module: Module) -> str:
    tests = [t for t in module.tests if (ROOT / t).exists()]
    lines = [
        "[tool.mutmut]",
        f"source_paths = {json.dumps(list(PACKAGES))}",
        f"only_mutate = {json.dumps(list(module.files))}",
        f"pytest_add_cli_args_test_selection = {json.dumps(tests)}",
        # -p no:randomly is not needed; keep pytest quiet and stop at the first failure. No
        # browser tests (Chromium costs seconds a mutant): no module is pinned by them alone.
        'pytest_add_cli_args = ["-x", "-q", "-p", "no:cacheprovider", "-m", "not browser"]',
        "use_git_change_detection = false",
        # Folders first: mutmut copies a file only into a folder that exists.
        f"also_copy = {json.dumps([*EXTRA_DIRS, *EXTRA_FILES])}",
    ]
    return "\n".join(lines) + "\n"


def _prepare(module: Module, keep: bool) -> Path:
    work = WORK / module.name.replace("/", "__")
    if work.exists() and not keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for package in (*PACKAGES, "tests", *EXTRA_DIRS):
        target = work / package
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(
            ROOT / package, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for name in EXTRA_FILES:
        shutil.copy2(ROOT / name, work / name)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (work / "pyproject.toml").write_text(pyproject + "\n" + _mutmut_table(module), "utf-8")
    return work


def _exit_codes(work: Path, module: Module) -> dict[str, int | None]:
    codes: dict[str, int | None] = {}
    for path in module.files:
        meta = work / "mutants" / f"{path}.meta"
        if meta.exists():
            codes.update(json.loads(meta.read_text("utf-8"))["exit_code_by_key"])
    return codes


def _equivalents() -> dict[str, dict[str, str]]:
    """Reviewed entries by mutant name: each has a reason and the change it reviewed."""
    if not EQUIVALENTS.exists():
        return {}
    table = tomllib.loads(EQUIVALENTS.read_text("utf-8"))
    return dict(table.get("equivalent", {}))


def _split(name: str) -> tuple[str, str]:
    """Mutant name -> (module path, mutated function's name in mutmut's source)."""
    dotted, function = name.rsplit("__mutmut_", 1)[0], name.rsplit(".", 1)[1]
    return dotted.rsplit(".", 1)[0].replace(".", "/") + ".py", function


def _changes(work: Path, names: list[str]) -> dict[str, str]:
    """Each mutant's change as 'old => new' (stripped source lines), read from mutmut's copy.

    Numbers shift when a function is edited; a reviewed entry is matched by its function and
    this change, so an edit elsewhere does not make it stale.
    """
    sources: dict[str, dict[str, str]] = {}
    out: dict[str, str] = {}
    for name in names:
        path, function = _split(name)
        if path not in sources:
            sources[path] = _functions((work / "mutants" / path).read_text("utf-8"))
        defs = sources[path]
        base = function.rsplit("__mutmut_", 1)[0]
        original = defs.get(f"{base}__mutmut_orig", "").splitlines()[1:]
        mutated = defs.get(function, "").splitlines()[1:]
        diff = list(difflib.unified_diff(original, mutated, lineterm="", n=0))[2:]
        old = " / ".join(d[1:].strip() for d in diff if d.startswith("-"))
        new = " / ".join(d[1:].strip() for d in diff if d.startswith("+"))
        out[name] = f"{old} => {new}"
    return out


def _functions(text: str) -> dict[str, str]:
    """Each function's source by name, as ``ast.get_source_segment`` gives it.

    That call splits the whole text again each time: 0.44 s a function in mutmut's 1 MB copy
    of ``_rules.py``, about 5 minutes for its 659 functions. Split once instead; columns are
    UTF-8 byte offsets, as there.
    """
    lines = re.split(r"\r\n|\r|\n", text)
    out: dict[str, str] = {}
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        last, stop = node.end_lineno, node.end_col_offset
        if last is None or stop is None:  # ast.parse sets both; only hand-built nodes lack them
            continue
        part = [line.encode() for line in lines[node.lineno - 1 : last]]
        part[-1] = part[-1][:stop]
        part[0] = part[0][node.col_offset :]
        out[node.name] = "\n".join(b.decode() for b in part)
    return out


def _base(name: str) -> str:
    return name.rsplit("__mutmut_", 1)[0]


def _reviewed(
    survivors: list[str], changes: dict[str, str], equivalent: dict[str, dict[str, str]]
) -> set[str]:
    """Survivors a reviewed entry covers: the same function and the same change.

    The name alone is not enough: mutmut numbers mutants within a function, so after an edit
    the same name can denote another change.
    """
    keys = {(_base(name), entry.get("change")) for name, entry in equivalent.items()}
    return {s for s in survivors if (_base(s), changes.get(s)) in keys}


def _summary(
    codes: dict[str, int | None], changes: dict[str, str], reviewed: set[str]
) -> dict[str, object]:
    counted = {k: v for k, v in codes.items() if k not in reviewed}
    killed = sum(v in _KILLED for v in counted.values())
    survived = sorted(k for k, v in counted.items() if v in _SURVIVED)
    no_tests = sorted(k for k, v in counted.items() if v in _NO_TESTS)
    timeout = sum(v in _TIMEOUT for v in counted.values())
    crashed = sum(v in _CRASHED for v in counted.values())
    known = _KILLED | _SURVIVED | _NO_TESTS | _TIMEOUT | _CRASHED
    other = sorted(k for k, v in counted.items() if v not in known)
    # A timeout is a kill (the mutant hangs where the original finishes), and so is a crash;
    # no-test counts against the score like a survivor: nothing would notice that change.
    caught = killed + timeout + crashed
    scored = caught + len(survived) + len(no_tests) + len(other)
    score = caught / scored if scored else 0.0
    return {
        "mutants": len(codes),
        "killed": killed,
        "timeout": timeout,
        "crashed": crashed,
        "survived": len(survived),
        "no_test": len(no_tests),
        "equivalent": len(reviewed),
        "score": round(score, 4),
        "survivors": {name: changes.get(name, "") for name in survived},
        "no_test_mutants": no_tests,
        "unchecked_or_suspicious": other,
    }


def run_module(
    module: Module, jobs: int, keep: bool, report_only: bool, patterns: tuple[str, ...] = ()
) -> dict[str, object]:
    work = WORK / module.name.replace("/", "__")
    started = time.monotonic()
    log = work / "mutmut.log"
    returncode = 0
    if not report_only:
        work = _prepare(module, keep)
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "STETHO_MUTATE": "1"}
        with log.open("w", encoding="utf-8") as out:
            returncode = subprocess.run(
                [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *patterns],
                cwd=work,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            ).returncode
    codes = _exit_codes(work, module)
    if patterns:  # the others were not run: their codes are stale or missing
        codes = {k: v for k, v in codes.items() if _matches(k, patterns)}
    alive = [k for k, v in codes.items() if v in _SURVIVED]
    changes = _changes(work, alive)
    equivalent = _equivalents()
    reviewed = _reviewed(alive, changes, equivalent)
    result = _summary(codes, changes, reviewed)
    prefixes = tuple(f.removesuffix(".py").replace("/", ".") + "." for f in module.files)
    covered = {(_base(n), changes[n]) for n in reviewed}
    result["stale_equivalents"] = sorted(
        name
        for name, entry in equivalent.items()
        if name.startswith(prefixes)
        and (_base(name), entry.get("change")) not in covered
        and (not patterns or _matches(name, patterns))
    )
    result["seconds"] = round(time.monotonic() - started, 1)
    if returncode != 0:
        result["error"] = f"mutmut exited {returncode}; see {log.relative_to(ROOT)}"
    return result


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether a mutant's name matches one of the ``--mutants`` globs."""
    return any(fnmatch(name, pattern) for pattern in patterns)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MUTATE_JOBS", "2")))
    parser.add_argument("--only", action="append", help="module name(s) to run, as listed")
    parser.add_argument(
        "--mutants", action="append", default=[], help="only mutants matching these globs"
    )
    parser.add_argument("--keep", action="store_true", help="reuse mutmut's cache in build/")
    parser.add_argument(
        "--report-only", action="store_true", help="summarise the last run's results again"
    )
    args = parser.parse_args(argv)
    chosen = [m for m in MODULES if not args.only or m.name in args.only]
    started = time.monotonic()
    report: dict[str, object] = {"tool": "mutmut", "jobs": args.jobs, "modules": {}}
    modules: dict[str, object] = {}
    for module in chosen:  # one at a time: the machine is shared
        modules[module.name] = run_module(
            module, args.jobs, args.keep, args.report_only, tuple(args.mutants)
        )
    report["modules"] = modules
    report["seconds"] = round(time.monotonic() - started, 1)
    scores = [float(m["score"]) for m in modules.values()]  # type: ignore[index]
    report["min_score"] = min(scores) if scores else None
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
