"""Colleagues named on the page by their display name, never by their account id; residents
by their label, as every page names them to the nurse.

The exam layer knows staff and residents by id: its refusals, the CLI's English and the logs
carry ids only (no names in logs). Where a nurse reads who holds a stethoscope, the page puts the
account's display name in the id's place; an id without an account (the local API's caller)
stays as it is. A resident a refusal names by reference is named by her label.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Mapping

from edge_agent.errors import AgentError
from edge_agent.web.context import Stethoscope, WebContext

__all__ = [
    "NAMED_VALUES",
    "RESIDENT_VALUES",
    "STAFF_VALUES",
    "named_rows",
    "named_values",
    "page_names",
    "staff_names",
]

STAFF_VALUES = frozenset({"holder"})  # a refusal's values that are a staff id
RESIDENT_VALUES = frozenset({"resident"})  # ... and a resident's reference
NAMED_VALUES = STAFF_VALUES | RESIDENT_VALUES


async def staff_names(ctx: WebContext) -> dict[str, str]:
    """Every account's display name by staff id; none if the accounts cannot be read (the
    page then shows ids rather than refusing twice)."""
    try:
        staff = await asyncio.to_thread(ctx.accounts.staff)
    except AgentError:
        return {}
    return {s.staff_id: s.display for s in staff}


async def page_names(ctx: WebContext, values: Mapping[str, object]) -> dict[str, str]:
    """The names a refusal's `values` call for: staff ids' display names and resident
    references' labels (a reference no longer on this Pi stays a reference)."""
    names = await staff_names(ctx) if STAFF_VALUES & values.keys() else {}
    for key in RESIDENT_VALUES & values.keys():
        ref = str(values[key])
        try:
            names[ref] = (await ctx.exams.resident(ref)).label
        except AgentError:
            continue
    return names


def named_values(values: Mapping[str, object], names: Mapping[str, str]) -> dict[str, object]:
    """A refusal's values with each staff id or resident reference among them replaced by that
    person's name or label."""
    return {k: names.get(str(v), v) if k in NAMED_VALUES else v for k, v in values.items()}


async def named_rows(ctx: WebContext) -> list[Stethoscope]:
    """The stethoscope rows, each holder's name beside its id (the accounts read only when a
    stethoscope is held: the exam panel asks for these every few seconds)."""
    rows = ctx.stethoscopes()
    if not any(r.holder for r in rows):
        return rows
    names = await staff_names(ctx)
    return [dataclasses.replace(r, holder_name=names.get(r.holder, r.holder)) if r.holder else r
            for r in rows]  # fmt: skip


async def held_by_her_exams(
    ctx: WebContext, staff: str, rows: list[Stethoscope], but: uuid.UUID | None = None
) -> dict[str, str]:
    """The stethoscopes her own open exams hold (`but` that one), each with the exam's
    resident label: the picker and the stethoscopes screen say "held by your exam of ...",
    not "in use by" her own name, as the refusal does."""
    held: dict[str, str] = {}
    for row in rows:
        exam = ctx.exams.exams.get(row.held_for) if row.held_for else None
        if exam is None or exam.exam_id == but or row.holder != staff:
            continue
        try:
            held[row.device] = (await ctx.exams.resident(exam.resident)).label
        except AgentError:  # no longer on this Pi: its reference, as the refusal says it
            held[row.device] = exam.resident
    return held
