"""TEMPORARY stand-in for gopush.gosem until it lands; delete once gosem exists.

Only what modzip needs, in the go command's words. Not a public API.
"""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from collections.abc import Iterable

from gopush.errors import InvalidPath, InvalidVersion

_SEMVER = re.compile(
    r"^v(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)"
    r"(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?$")
_BAD_WINDOWS = ("CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                *(f"LPT{i}" for i in range(1, 10)))
_FILE_PUNCT = "!#$%&()+,-.=@[]^_{}~ "


def _elem_error(elem: str, kind: str) -> str | None:
    if elem == "":
        return "empty path element"
    if elem.count(".") == len(elem):
        return f"invalid path element \"{elem}\""
    if elem[0] == "." and kind == "module":
        return "leading dot in path element"
    if elem[-1] == ".":
        return "trailing dot in path element"
    for c in elem:
        ok = (c.isascii() and (c.isalnum() or c in _FILE_PUNCT)) if kind == "file" else (
            c.isascii() and (c.isalnum() or c in "-._~"))
        if kind == "file" and not c.isascii():
            ok = unicodedata.category(c).startswith("L")
        if not ok:
            return f"invalid char {c!r}"
    short = elem.split(".", 1)[0]
    if short.upper() in _BAD_WINDOWS:
        return f"\"{short}\" disallowed as path element component on Windows"
    return None


def _path_error(p: str, kind: str) -> str | None:
    if p == "":
        return "empty string"
    if p[0] == "-" and kind != "file":
        return "leading dash"
    if "//" in p:
        return "double slash"
    if p.endswith("/"):
        return "trailing slash"
    for elem in p.split("/"):
        if (err := _elem_error(elem, kind)) is not None:
            return err
    return None


def check_file_path(p: str) -> None:
    """Raise InvalidPath unless ``p`` is a valid module file path."""
    if (err := _path_error(p, "file")) is not None:
        raise InvalidPath(f"malformed file path \"{p}\": {err}")


def check(path: str, version: str) -> None:
    """Raise unless ``path`` is a plausible module path and ``version`` valid for it."""
    if (err := _path_error(path, "module")) is not None or "." not in path.split("/")[0]:
        raise InvalidPath(f"malformed module path \"{path}\": {err or 'missing dot'}")
    if not _SEMVER.match(version):
        raise InvalidVersion(f"{path}@{version}: invalid version: not a semantic version")
    m = re.search(r"/v(\d+)$", path)
    major = int(_SEMVER.match(version).group(1))  # type: ignore[union-attr]
    want = int(m.group(1)) if m else None
    if (want is None and major > 1 and not version.endswith("+incompatible")) or (
            want is not None and major != want):
        raise InvalidVersion(f"{path}@{version}: invalid version: "
                             f"should be v{want if want else '0 or v1'}, not v{major}")


def canonical_version(v: str) -> str:
    """Return v's canonical form (keeping +incompatible), "" when invalid."""
    m = _SEMVER.match(v)
    if not m:
        return ""
    out = f"v{m.group(1)}.{m.group(2) or 0}.{m.group(3) or 0}{m.group(4) or ''}"
    return out + ("+incompatible" if m.group(5) == "+incompatible" else "")


def hash1(items: Iterable[tuple[str, str]]) -> str:
    """Return the h1: hash over (name, sha256 hex) pairs."""
    summary = "".join(f"{h}  {n}\n" for n, h in sorted(items, key=lambda i: i[0].encode()))
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def go_version_compare(v: str, w: str) -> int:
    """Compare two go-line versions like go/version (invalid sorts lowest)."""
    def key(x: str) -> tuple[int, ...] | None:
        m = re.match(r"^(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?"
                     r"(?:(alpha|beta|rc)(0|[1-9]\d*))?)?$", x)
        if not m:
            return None
        kinds = {None: 0, "alpha": 1, "beta": 2, "rc": 3}
        patch = m.group(3)
        if patch is None and m.group(2) is not None and int(m.group(2)) >= 21:
            patch_n = -1
        else:
            patch_n = int(patch or 0)
        return (int(m.group(1)), int(m.group(2) or 0), patch_n, kinds[m.group(4)],
                int(m.group(5) or 0))
    a, b = key(v), key(w)
    if a is None or b is None:
        return (a is not None) - (b is not None)
    return (a > b) - (a < b)
