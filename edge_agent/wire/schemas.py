"""JSON Schemas of every wire payload, generated from the pydantic models into docs/schemas/.

Run `python -m edge_agent.wire.schemas [DIR]` after changing a model; a test fails when the
committed files drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from edge_agent.wire import messages

WIRE_MODELS: dict[str, type[BaseModel]] = {
    "recording": messages.RecordingMessage,
    "triage": messages.TriageMessage,
    "alert": messages.AlertMessage,
    "status": messages.StatusMessage,
    "ack": messages.AckMessage,
    "receipt": messages.ReceiptMessage,
    "command": messages.CommandMessage,
    "live-chunk-header": messages.LiveChunkHeader,
    "exam": messages.ExamMessage,
    "exam-answer": messages.ExamAnswerMessage,
}
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"


def render(model: type[BaseModel]) -> str:
    """The schema of `model` as it appears on the wire (aliases, e.g. `schema`), as stable JSON."""
    schema = model.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def expected_files() -> dict[str, str]:
    return {f"{name}.schema.json": render(model) for name, model in WIRE_MODELS.items()}


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in expected_files().items():
        path = directory / filename
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    directory = Path(argv[0]) if argv else DEFAULT_DIR
    for path in write(directory):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
