"""Go's path helpers the zip rules rely on: ``path.Clean`` and case folding of file names.

``clean`` is Go's ``path.Clean`` (lexical; no file system access). ``fold_key`` is the key
golang.org/x/mod/zip's collision checker uses (``strToFold``): two names collide exactly when
``strings.EqualFold`` says they are equal, which is Unicode *simple* case folding. Python's
``str.casefold`` is *full* folding ("ß" == "ss"), so it would report collisions Go does not.
"""

from __future__ import annotations

from functools import cache

# Cased characters all live below this code point (Unicode 16); scanning stops here.
_CASED_LIMIT = 0x20000

# Where Python's single-character ``lower``/``upper`` do not give Go's fold orbits: pairs Go
# folds together that Python (of some Unicode versions) keeps apart. Unions are idempotent,
# so a newer Python that already knows a pair is unaffected.
_EXTRA_PAIRS: tuple[tuple[int, int], ...] = (
    (0x1FD3, 0x0390), (0x1FE3, 0x03B0), (0xFB05, 0xFB06),  # CaseFolding "S" entries
    (0x1C89, 0x1C8A), (0xA7CB, 0x0264), (0xA7CC, 0xA7CD), (0xA7CE, 0xA7CF),  # Unicode 16
    (0xA7D2, 0xA7D3), (0xA7D4, 0xA7D5), (0xA7DA, 0xA7DB), (0xA7DC, 0x019B),
    *((0x10D50 + i, 0x10D70 + i) for i in range(0x16)),  # Garay
    *((0x16EA0 + i, 0x16EBB + i) for i in range(0x19)),  # Tolong Siki
)
# Go keeps dotless i (U+0131) to itself although its upper case is "I" (a Turkic mapping).
_NO_FOLD = frozenset({0x0131})


def clean(p: str) -> str:
    """Return the shortest path equivalent to ``p`` by Go's ``path.Clean`` rules."""
    if p and "//" not in p and "/." not in p and p[0] != "." and p[-1] != "/":
        return p  # no empty element and no "." or ".." element: clean already
    if p == "":
        return "."
    rooted = p.startswith("/")
    parts: list[str] = []
    for elem in p.split("/"):
        if elem in ("", "."):
            continue
        if elem == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(elem)
    out = ("/" if rooted else "") + "/".join(parts)
    return out or "."


def fold_key(s: str) -> str:
    """Return a key such that ``fold_key(a) == fold_key(b)`` iff Go's ``EqualFold(a, b)``."""
    if s.isascii():
        # ASCII folds by lower case alone: the Kelvin sign and long s fold to k and s too.
        return s.lower()
    table = _fold_table()
    return "".join(table.get(c, c) for c in s)


@cache
def _fold_table() -> dict[str, str]:
    """Map each cased character to its fold class representative (lower case for A-Z)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for cp in range(_CASED_LIMIT):
        if cp in _NO_FOLD or 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        for other in (c.lower(), c.upper()):
            if len(other) == 1 and other != c and ord(other) not in _NO_FOLD:
                union(cp, ord(other))
    for a, b in _EXTRA_PAIRS:
        union(a, b)
    table: dict[str, str] = {}
    for cp in list(parent):
        rep = find(cp)
        for x in (cp, rep):
            key = rep + 0x20 if 0x41 <= rep <= 0x5A else rep
            if key != x:
                table[chr(x)] = chr(key)
    return table
