"""Rendering the page's templates with the words, session and CSRF token every page needs."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from edge_agent.web.context import LANG, SESSION, ctx_of
from edge_agent.web.i18n import translator
from edge_agent.wire.flag_words import flag_text_of
from stetho_common.decimal_mark import local_number

TEMPLATES = Path(__file__).resolve().parent / "templates"
MAX_BODY = 2 * 1024 * 1024  # a residents CSV of ~20,000 lines; nothing else is near it


def templates() -> jinja2.Environment:
    """The page's templates, all compiled now: compiling on a first request would hold the
    event loop for a large part of a second on a Pi (call this from a worker thread)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["flag_text"] = flag_text
    env.filters["when"] = when
    env.filters["number"] = number
    for name in env.list_templates(extensions=["html"]):
        env.get_template(name)
    return env


def when(timestamp: float) -> str:
    """A moment as the care home's clock shows it: date and 24-hour time, read alike in English
    and French (the Pi's local time zone is the care home's)."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp))


def number(x: object, lang: str) -> str:
    """A number as the page's language writes it ("12.5", "12,5")."""
    return local_number(x, lang, "g")


def flag_text(flag: object, lang: str, age_band: object = None) -> str:
    """A flag's sentence in the page's language; findings saved before flags kept their
    numbers hold the bare code, shown as it is."""
    if isinstance(flag, Mapping):
        return flag_text_of(flag, lang, age_band)
    return str(flag)


def render(request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
    """A template with the page's common values: words, session, CSRF token, language."""
    ctx = ctx_of(request)
    lang = request[LANG]
    session = request.get(SESSION)
    body = ctx.templates.get_template(name).render(
        t=translator(lang), lang=lang, session=session,
        csrf=session.csrf if session else "", path=request.path, **values,
    )  # fmt: skip
    return web.Response(text=body, content_type="text/html", status=status)
