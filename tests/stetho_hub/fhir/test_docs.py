"""docs/fhir.md shows the Bundle the code builds today, and its tables name the codes used."""

from __future__ import annotations

import json
from pathlib import Path

from stetho_hub.fhir import codes
from stetho_hub.fhir.example import BEGIN, END, example_json, render

DOC = Path(__file__).resolve().parents[3] / "docs" / "fhir.md"


def test_the_example_in_the_doc_is_the_one_the_code_generates() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert render(text) == text, "run: python -m stetho_hub.fhir.example --write docs/fhir.md"
    block = text.split(BEGIN)[1].split(END)[0].strip().removeprefix("```json").removesuffix("```")
    assert json.loads(block) == json.loads(example_json())


def test_every_code_the_builder_uses_is_in_the_mapping_tables() -> None:
    text = DOC.read_text(encoding="utf-8")
    used = [c for c, _ in codes.BODY_SITES.values()] + [c for c, _ in codes.FINDINGS.values()]
    used += [codes.HEART_RATE[0], codes.RESPIRATORY_RATE[0], codes.AUSCULTATION[0]]
    missing = [code for code in used if f"`{code}`" not in text]
    assert missing == []
