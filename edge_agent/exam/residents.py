"""Residents as the Pi knows them: an opaque reference (on the wire) and a local label (never).

The label is what the nurse reads on the page ("Room 12, Mrs D."); it stays in the Pi's
database and is never logged or published. CSV import is all or nothing, with one clear
problem per bad line.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from edge_agent.exam.errors import CsvProblem, ResidentImportError, UnknownResidentError
from stetho_common.ids import SLUG, SLUG_WORDS

MAX_LABEL = 80
MAX_CSV_BYTES = 1024 * 1024  # ~20,000 residents: far more than any care home
MAX_CSV_ROWS = 20_000


@dataclass(frozen=True)
class Resident:
    ref: str
    label: str

    def __post_init__(self) -> None:
        check_ref(self.ref)
        if not self.label.strip():
            raise UnknownResidentError("a resident needs a label the staff recognise", "no_label")
        if len(self.label) > MAX_LABEL:
            raise UnknownResidentError(
                f"a label has at most {MAX_LABEL} characters", "label_too_long", max=MAX_LABEL
            )


def check_ref(ref: str) -> str:
    if not SLUG.fullmatch(ref):
        shown = ref if len(ref) <= 64 else ref[:64] + "…"  # a pasted blob is not echoed whole
        raise UnknownResidentError(
            f"{shown!r} is not a resident reference: use 1-63 lower-case letters, digits and "
            "dashes (an opaque code such as res-0042, never a name)",
            "bad_ref",
            ref=shown,
        )
    return ref


def parse_residents_csv(text: str) -> list[Resident]:
    """Residents from CSV text with a `ref,label` header; raise ResidentImportError listing
    every bad line (numbered as a spreadsheet shows them) and import nothing."""
    if len(text.encode("utf-8")) > MAX_CSV_BYTES:
        kib = MAX_CSV_BYTES // 1024
        raise ResidentImportError(
            [CsvProblem(f"the file is larger than {kib} KiB", "csv_too_large", {"kib": kib})]
        )
    # Excel writes one BOM; newline=None reads the lone CR of old Mac exports as a line end.
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=None))
    problems: list[CsvProblem] = []
    residents: list[Resident] = []
    seen: dict[str, int] = {}
    number, count = 0, 0
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        if header != ["ref", "label"]:  # other columns would refuse every line: refuse once
            raise ResidentImportError(
                [CsvProblem("line 1: the first line must be the header `ref,label`", "csv_header")]
            )
        number = 1
        for number, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue  # blank lines, or the empty rows a spreadsheet leaves at the end
            count += 1
            if count > MAX_CSV_ROWS:
                problems.append(CsvProblem(f"more than {MAX_CSV_ROWS} residents: split the file",
                                           "csv_too_many", {"max": MAX_CSV_ROWS}))  # fmt: skip
                break
            problem = _row_problem(row, seen)
            if problem:
                english, words, values = problem  # not `text`: that is the whole file
                problems.append(CsvProblem(f"line {number}: {english}", words,
                                           {"line": number, **values}))  # fmt: skip
                continue
            ref, label = row[0].strip(), row[1].strip()
            seen[ref] = number
            residents.append(Resident(ref, label))
    except csv.Error:
        # With lines normalised, the one error csv's default dialect raises is its field limit:
        # a quote left open takes the rest of the file into one field.
        kib = csv.field_size_limit() // 1024
        problems.append(CsvProblem(
            f"line {number + 1}: a field runs on for more than {kib} KiB: look for a quote left "
            "open", "csv_open_quote", {"line": number + 1, "kib": kib}))  # fmt: skip
    if problems:
        raise ResidentImportError(problems)
    return residents


def _row_problem(row: list[str], seen: dict[str, int]) -> tuple[str, str, dict[str, object]] | None:
    """What is wrong with a line: English, the page's words and their values; None if nothing."""
    if any("\n" in cell for cell in row):
        # A short quote left open swallows the next lines into one field, well under the
        # field limit: the label would carry them (and the next residents) silently.
        return "a quote opens here and is not closed on this line", "csv_quote_runs_on", {}
    if len(row) != 2:
        return f"expected 2 fields (ref,label), found {len(row)}", "csv_fields", {"found": len(row)}
    ref, label = row[0].strip(), row[1].strip()
    if not SLUG.fullmatch(ref):
        return f"the reference must be {SLUG_WORDS}", "csv_ref", {}
    if ref in seen:
        return f"reference repeats line {seen[ref]}", "csv_repeat", {"first": seen[ref]}
    if not label:
        return "the label is empty", "csv_no_label", {}
    if len(label) > MAX_LABEL:
        return (
            f"the label is longer than {MAX_LABEL} characters",
            "csv_long_label",
            {"max": MAX_LABEL},
        )
    return None
