"""What may reach a terminal: control characters shown, never sent.

A registry's text (an error ``detail``, a repository slug, a user name) is data, not terminal
input: ESC would let it clear the screen, set the window title or recolour what follows,
BEL ring, CR overwrite a line, and a newline start a line of its own that reads as gopush's
(``hint: run curl … | sh``). Pure (stdlib only), so the registry clients, which make
registry text one line where it enters a message, and the output boundary
(``gopush.ui.guard``), which escapes whatever else reaches it, share the one rule.
"""

from __future__ import annotations

import re

# C0 (tab, newline and carriage return included), DEL, C1, and the Unicode marks that
# reorder the text displayed around them (bidirectional overrides and isolates).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(text: str) -> str:
    """Return ``text`` with every control character, newlines included, shown escaped
    (``\\x1b``, ``\\n``): one line that does only what its visible characters say."""
    return _CONTROL.sub(_escaped, text)


def lines(text: str) -> str:
    """Return ``text`` with its newlines kept and every other control character escaped."""
    return "\n".join(one_line(line) for line in text.split("\n"))
