"""`stetho fhir FILE.recording.json` (offline builder) and the FHIR sender as a command.

The lead mounts `fhir_command` as `stetho fhir`; the hub prints an exam's Bundle with
`exam_bundle_text` (`stetho hub fhir EXAM_ID`) and queues it with `enqueue_exam`.
Run alone: `python -m stetho_hub.fhir build FILE` or `... send --queue Q --base-url URL`.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from stetho_common.cli_app import cli_app
from stetho_common.cli_numbers import bounded
from stetho_common.console import fail
from stetho_common.lazy_cli import OneSentenceGroup
from stetho_hub.fhir._ids import is_identifier_system
from stetho_hub.fhir.bundle import Naming, build_bundle, bundle_json
from stetho_hub.fhir.errors import FhirConfigError, FhirError
from stetho_hub.fhir.from_saved import load_saved
from stetho_hub.fhir.queue import Backoff, FhirQueue
from stetho_hub.fhir.records import ExamRecord
from stetho_hub.fhir.sender import FhirServerSettings, run_sender

TOKEN_ENV = "STETHO_FHIR_TOKEN"  # noqa: S105 - the variable's name, not a secret
err = Console(stderr=True)
# OneSentenceGroup: a bad --max-backoff-s in one sentence, as under `stetho`
app = cli_app("FHIR R4 export.", cls=OneSentenceGroup)


def exam_bundle_text(exam: ExamRecord, naming: Naming | None = None, indent: int | None = 2) -> str:
    """The exam's validated transaction Bundle as JSON (what `stetho hub fhir EXAM_ID` prints)."""
    return bundle_json(build_bundle(exam, naming or Naming()), indent=indent)


def enqueue_exam(queue: FhirQueue, exam: ExamRecord, naming: Naming | None = None) -> bool:
    """Queue a closed exam's Bundle for the server; False if the same Bundle is already there."""
    text = exam_bundle_text(exam, naming, indent=None)
    return queue.enqueue(str(exam.exam_id), text.encode("utf-8"), time.time())


def bearer_token(token_file: Path | None, setting: str) -> str | None:
    """The FHIR server's bearer token: ``token_file``'s text (``setting`` names it in the
    error), else ``$STETHO_FHIR_TOKEN``; a file that cannot be read as text is refused."""
    if token_file is None:
        return os.environ.get(TOKEN_ENV)
    try:
        return token_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise FhirConfigError(f"{setting}: cannot read {token_file}: {exc}") from exc


def check_audio_base_url(url: str | None) -> None:
    """End the command unless ``url`` is unset or https: as the hub's `[fhir] audio_url`, the
    record must not send anyone to fetch health data without TLS."""
    if url is not None and not url.startswith("https://"):
        fail(f"--audio-base-url must start with https://, not {url!r}", "usage")


def fhir_command(
    file: Annotated[
        Path, typer.Argument(help="A <uuid>.recording.json saved by `stetho alerts --save`.")
    ],
    audio_base_url: Annotated[
        str | None,
        typer.Option("--audio-base-url", help="Where the hub serves <uuid>.flac files."),
    ] = None,
    resident_system: Annotated[
        str | None,
        typer.Option(
            "--resident-system",
            help="The care home's resident identifier system: an absolute URI, {site} "
            "standing for the care home's id.",
        ),
    ] = None,
) -> None:
    """Print the FHIR R4 transaction Bundle of a saved recording (built offline, validated)."""
    check_audio_base_url(audio_base_url)
    if resident_system is not None and not is_identifier_system(resident_system):
        fail(
            "--resident-system: expected an absolute URI such as https://hospital.example/sid/x "
            f"(as [fhir] resident_system), not {resident_system!r}",
            "usage",
        )
    naming = Naming() if resident_system is None else Naming(resident_system=resident_system)
    try:
        exam = load_saved(file, audio_base_url)
        typer.echo(exam_bundle_text(exam, naming))
    except FhirError as exc:
        fail(str(exc))


def send_command(
    queue: Annotated[Path, typer.Option("--queue", help="The FHIR queue (SQLite file).")],
    base_url: Annotated[str, typer.Option("--base-url", help="https://host/fhir")],
    token_file: Annotated[
        Path | None, typer.Option("--token-file", help=f"Bearer token file (or ${TOKEN_ENV}).")
    ] = None,
    ca_file: Annotated[Path | None, typer.Option("--ca-file")] = None,
    cert_file: Annotated[Path | None, typer.Option("--cert-file")] = None,
    key_file: Annotated[Path | None, typer.Option("--key-file")] = None,
    until_empty: Annotated[bool, typer.Option("--until-empty")] = False,
    max_backoff_s: Annotated[
        float,  # a wait: 0 or less retried without pause, nan never
        typer.Option(
            "--max-backoff-s",
            parser=bounded(0.1, 86400),
            metavar="SECONDS",
            help="Longest wait between tries (0.1-86400).",
        ),
    ] = 600.0,
) -> None:
    """Send the queued Bundles to the FHIR server, retrying with backoff."""
    try:
        token = bearer_token(token_file, "--token-file")
        settings = FhirServerSettings(base_url, token, ca_file, cert_file, key_file)
        q = FhirQueue(queue, Backoff(base_s=min(2.0, max_backoff_s), max_s=max_backoff_s))
        try:
            asyncio.run(run_sender(q, settings, asyncio.Event(), until_empty=until_empty))
        finally:
            status = q.status()
            q.close()
    except FhirError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None
    err.print(f"fhir queue: {status}", highlight=False)


app.command("build")(fhir_command)
app.command("send")(send_command)

if __name__ == "__main__":
    app()
