"""The one icon of both web pages (the nurses' page on the Pi, the doctors' console), served by
each at /favicon.ico, which browsers ask for on their own, and at /static/favicon.svg, which the
pages link.

It lives here, as package data read through importlib.resources, because the Pi must not import
the hub and the hub has no business importing the nurses' page; two copies had to be kept equal
by a test. pyproject.toml's package-data puts it in the wheel.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from aiohttp import web

__all__ = ["FAVICON_PATHS", "FAVICON_SVG", "FAVICON_TYPE", "favicon"]

FAVICON_SVG: Final = files("stetho_common").joinpath("static", "favicon.svg").read_bytes()
FAVICON_TYPE: Final = "image/svg+xml"
FAVICON_PATHS: Final = ("/favicon.ico", "/static/favicon.svg")


async def favicon(request: web.Request) -> web.StreamResponse:
    """The icon, whoever asks: no sign-in, so that a browser's console shows no 401, 303 or 404
    for it on every page."""
    return web.Response(body=FAVICON_SVG, content_type=FAVICON_TYPE)
