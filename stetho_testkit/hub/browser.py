"""The console's HTTP client for tests and benches: keeps cookies, signs in, reads CSRF tokens."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode

from stetho_testkit.hub.console import PASSWORD


class Browser:
    """A cookie-keeping HTTP client that does not follow redirects (so they can be checked)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args: object, **kwargs: object) -> None:
                return None

        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect()
        )

    def get(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        return self._open(urllib.request.Request(self.base + path))  # noqa: S310 - loopback http

    def post(self, path: str, form: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        data = urlencode(form).encode()
        request = urllib.request.Request(self.base + path, data=data, method="POST")  # noqa: S310
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, bytes, dict[str, str]]:
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def csrf(self, path: str) -> str:
        _status, body, _h = self.get(path)
        found = re.search(rb'name="csrf" value="([^"]+)"', body)
        assert found, body[:500]
        return found.group(1).decode()

    def sign_in(self, username: str, password: str = PASSWORD) -> int:
        token = self.csrf("/signin")
        status, _b, _h = self.post(
            "/signin", {"csrf": token, "username": username, "password": password}
        )
        return status
