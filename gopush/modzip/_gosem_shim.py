"""TEMPORARY stand-in for the parts of gopush.gosem not committed yet (dirhash, gover).

Delete once ``gosem.dirhash.hash1`` and a go-line version compare are committed; callers
then import those directly. Not a public API.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

_GO_VERSION = re.compile(r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?"
                         r"(?:(alpha|beta|rc)(0|[1-9]\d*))?)?$")
_KINDS = {None: 0, "alpha": 1, "beta": 2, "rc": 3}


def hash1(items: Iterable[tuple[str, str]]) -> str:
    """Return the h1: hash over (name, sha256 hex) pairs (dirhash.Hash1)."""
    summary = "".join(f"{h}  {n}\n" for n, h in sorted(items, key=lambda i: i[0].encode()))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def _go_version_key(x: str) -> tuple[int, ...] | None:
    m = _GO_VERSION.match(x)
    if not m:
        return None
    # Since 1.21 "1.N" (the language) sorts below "1.Nrc1" and "1.N.0"; before, it is 1.N.0.
    no_patch = -1 if m.group(2) is not None and int(m.group(2)) >= 21 else 0
    patch = int(m.group(3)) if m.group(3) is not None else no_patch
    return (int(m.group(1)), int(m.group(2) or 0), patch, _KINDS[m.group(4)],
            int(m.group(5) or 0))


def go_version_compare(v: str, w: str) -> int:
    """Compare two go-line versions like go/version.Compare (invalid sorts lowest)."""
    a, b = _go_version_key(v), _go_version_key(w)
    if a is None or b is None:
        return (a is not None) - (b is not None)
    return (a > b) - (a < b)
