"""Text that is safe to show on a terminal: user data never drives the terminal.

Node names and titles come from files anyone can write; an escape sequence in one could retitle
the window, hide output or fake a prompt. :func:`escape_controls` shows control characters
(except newline, carriage return and tab), bidirectional overrides and lone surrogates as
``\\x1b``-style escapes instead.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_LINE_BREAK = re.compile("[\n\r]")


def one_line_problem(text: str) -> str | None:
    """Why ``text`` cannot be a name shown on one line (a line break would forge a line of
    output; other control characters are escaped where shown), or None."""
    bad = _LINE_BREAK.search(text)
    if bad is None:
        return None
    return (
        f"holds a line break (U+{ord(bad.group()):04X}) at character {bad.start()}; a name is "
        "one line of text"
    )


def escape_controls(text: str) -> str:
    """``text`` with every character that could control a terminal written as an escape."""
    return _UNSAFE.sub(_escape, text)


class SafeStream:
    """A text stream wrapper that escapes what :func:`escape_controls` escapes on every write."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write ``text`` with control characters escaped."""
        return self.stream.write(escape_controls(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
