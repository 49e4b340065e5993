"""Searching residents is a POST: a resident's name never goes into a URL (the tablet's
history, a proxy's log), in either language."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp.test_utils import TestClient

from edge_agent.web.i18n import CATALOGUES
from tests.edge_agent.web.test_page_security import Clock, csrf_of, run, sign_in


def _listed(page: str) -> list[str]:
    return re.findall(r'data-ref="([^"]+)"', page.split('id="residents"')[1])


def _searched(page: str) -> str:
    """What the search box shows as typed."""
    found = re.search(r'<input type="search" name="q" value="([^"]*)"', page)
    assert found, page
    return found.group(1)


def test_a_search_is_posted_and_its_words_stay_out_of_the_address(tmp_path: Path) -> None:
    # Before: <form method="get">, so /residents?q=Mme+Secret in the browser's history.
    seen: dict[str, object] = {}

    async def scenario(client: TestClient, clock: Clock) -> None:
        assert await sign_in(client) == 303
        token = await csrf_of(client, "/residents")
        added = await client.post("/residents", data={"csrf": token, "ref": "res-2",
                                                      "label": "Room 2 M. Other"})  # fmt: skip
        assert added.status == 200
        listing = await (await client.get("/residents")).text()
        form = re.search(r'<form method="post" action="/residents/search"[^>]*>\s*<input '
                         r'type="hidden" name="csrf" value="([^"]+)"', listing)  # fmt: skip
        seen["form"] = bool(form) and 'method="get"' not in listing
        for lang in ("fr", "en"):
            await client.get(f"/lang/{lang}")
            found = await client.post("/residents/search", data={"csrf": token, "q": "Secret"})
            page = await found.text()
            seen[lang] = (found.status, _listed(page), _searched(page), found.url.path,
                          found.url.query_string)  # fmt: skip
            seen[f"{lang}-none"] = (
                CATALOGUES[lang]["residents.none"]
                in await (
                    await client.post("/residents/search", data={"csrf": token, "q": "nobody"})
                ).text()
            )
        # A query in the URL (an old bookmark, a hand-made link) searches nothing.
        old = await (await client.get("/residents", params={"q": "Other"})).text()
        seen["get"] = (_listed(old), _searched(old))
        seen["forged"] = (await client.post("/residents/search", data={"q": "Secret"})).status

    run(tmp_path, scenario)
    assert seen["form"] is True
    for lang in ("fr", "en"):
        assert seen[lang] == (200, ["res-1"], "Secret", "/residents/search", "")
        assert seen[f"{lang}-none"] is True
    assert seen["get"] == (["res-1", "res-2"], "")
    assert seen["forged"] == 403  # the CSRF token, as every POST
