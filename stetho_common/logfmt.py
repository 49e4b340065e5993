"""One way to put a value from outside (a broker, a message, a file, an error) into a log line.

Our logs are `key=value` lines read by people and by `grep`. A value that carries a newline, a
carriage return, an escape sequence or a NUL could forge a second line (`by="d\\nevent=..."`) or
rewrite the terminal; `quote` keeps every value on its own line and printable. Plain tokens stay
bare so existing greps (`event=recording_stored device=steth-a`) still match.
"""

from __future__ import annotations

import re

__all__ = ["quote"]

# What may stay bare: the characters of our ids, topics, hosts and numbers.
_BARE = re.compile(r"[A-Za-z0-9._:/@+\-#]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
MAX_LOGGED_CHARS = 500  # a hostile value must not fill the journal either


def quote(value: object) -> str:
    """`value` as one printable log token: bare if plain, else double-quoted and escaped.

    >>> quote("steth-a")
    'steth-a'
    >>> quote('d\\nevent=x "y"')
    '"d\\\\nevent=x \\\\"y\\\\""'
    """
    text = str(value)
    if len(text) > MAX_LOGGED_CHARS:
        text = text[:MAX_LOGGED_CHARS] + f"...(+{len(text) - MAX_LOGGED_CHARS} chars)"
    if _BARE.fullmatch(text):
        return text
    return '"' + "".join(_escape(ch) for ch in text) + '"'


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if not ch.isprintable():  # C0/C1 controls, NUL, ESC, bidi and other format characters
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch
