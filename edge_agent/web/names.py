"""Colleagues named on the page by their display name, never by their account id.

The exam layer knows staff by id: its refusals, the CLI's English and the logs carry ids only
(no names in logs). Where a nurse reads who holds a stethoscope, the page puts the account's
display name in the id's place; an id without an account (the local API's caller) stays as it is.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping

from edge_agent.errors import AgentError
from edge_agent.web.context import Stethoscope, WebContext

__all__ = ["STAFF_VALUES", "named_rows", "named_values", "staff_names"]

STAFF_VALUES = frozenset({"holder"})  # a refusal's values that are a staff id


async def staff_names(ctx: WebContext) -> dict[str, str]:
    """Every account's display name by staff id; none if the accounts cannot be read (the
    page then shows ids rather than refusing twice)."""
    try:
        staff = await asyncio.to_thread(ctx.accounts.staff)
    except AgentError:
        return {}
    return {s.staff_id: s.display for s in staff}


def named_values(values: Mapping[str, object], names: Mapping[str, str]) -> dict[str, object]:
    """A refusal's values with each staff id among them replaced by that person's name."""
    return {k: names.get(str(v), v) if k in STAFF_VALUES else v for k, v in values.items()}


async def named_rows(ctx: WebContext) -> list[Stethoscope]:
    """The stethoscope rows, each holder's name beside its id (the accounts read only when a
    stethoscope is held: the exam panel asks for these every few seconds)."""
    rows = ctx.stethoscopes()
    if not any(r.holder for r in rows):
        return rows
    names = await staff_names(ctx)
    return [dataclasses.replace(r, holder_name=names.get(r.holder, r.holder)) if r.holder else r
            for r in rows]  # fmt: skip
