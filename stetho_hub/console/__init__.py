"""The doctor's console: server-rendered pages over the archive (aiohttp, no build step)."""

from stetho_hub.console.app import ConsoleSettings, console_runner, make_app, serve_console

__all__ = ["ConsoleSettings", "console_runner", "make_app", "serve_console"]
