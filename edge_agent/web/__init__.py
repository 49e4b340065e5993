"""The nurses' tablet page, served by the agent in its own event loop (aiohttp).

`serve(agent, config)` runs until cancelled; `build_app(context)` is the bare application
for tests. Staff accounts: `edge_agent.web.accounts.Accounts` (and `stetho staff add`).

Names load on first use (PEP 562): `stetho exam` and `stetho staff add` read the accounts
without loading the page's whole stack and, with it, the analysis and SciPy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stetho_common.lazy_names import lazy_getattr

if TYPE_CHECKING:
    from edge_agent.web.accounts import Accounts, Staff
    from edge_agent.web.app import build_app
    from edge_agent.web.context import Stethoscope, WebContext
    from edge_agent.web.server import load_sessions, serve, stethoscope_rows

_HOMES = {
    "edge_agent.web.accounts": ("Accounts", "Staff"),
    "edge_agent.web.app": ("build_app",),
    "edge_agent.web.context": ("Stethoscope", "WebContext"),
    "edge_agent.web.server": ("load_sessions", "serve", "stethoscope_rows"),
}
__getattr__ = lazy_getattr(__name__, _HOMES)


__all__ = [
    "Accounts",
    "Staff",
    "Stethoscope",
    "WebContext",
    "build_app",
    "load_sessions",
    "serve",
    "stethoscope_rows",
]
