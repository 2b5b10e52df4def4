"""Text from the catalog or from the network, made safe to print on a terminal.

A title holding ``ESC ] 0 ; … BEL`` or ``ESC [ 2 J`` would retitle or clear the
reader's terminal if printed raw. Every command-line tool prints what it did not
write itself through :func:`printable`, which shows control characters as
escapes (``\\x1b``, ``\\n``) instead.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, the Unicode line/paragraph separators and the bidi
# overrides and isolates (they reorder what the terminal shows).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: object) -> str:
    """``text`` with every control character shown as an escape; one line."""
    return _UNSAFE.sub(_escape, str(text))


def printable_lines(text: str) -> str:
    """Like :func:`printable`, but line breaks stay (for multi-line output)."""
    return "\n".join(printable(line) for line in str(text).split("\n"))


def json_safe(text: str) -> str:
    """JSON text with the C1 controls escaped too (``json.dumps`` with
    ``ensure_ascii=False`` escapes only those below U+0020)."""
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_C1 = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
