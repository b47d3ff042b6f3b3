"""The ``h1:`` hash of a module's files, as in go.sum and sum.golang.org (x/mod sumdb/dirhash).

Hash1, in our words: for every file, take the SHA-256 of its content in lower-case hex and write
the line ``"<hex>  <name>\\n"`` (two spaces); sort the lines by file name (byte order); hash
the concatenated lines with SHA-256 again; the result is ``"h1:"`` plus the standard base64 of
that digest. Names are whatever the caller uses: for a module zip they are the zip's entry
names, ``<module>@<version>/<file>``; for a go.mod alone the single name is ``go.mod``. A name
containing a newline would make the summary ambiguous, so it is refused. Hashing a zip (Go's
``HashZip``) needs a zip reader, so it lives in ``modzip.zipread.hash_zip``.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable

from gopush.errors import InvalidPath
from gopush.gosem.goquote import quote


def hash1(items: Iterable[tuple[str, str]]) -> str:
    """Return the ``h1:`` hash of files given as ``(name, sha256 hex digest of content)`` pairs.

    Raises:
        InvalidPath: a name contains a newline.
    """
    return hash1_sorted(sorted((name.encode("utf-8", "surrogateescape"), digest)
                               for name, digest in items))  # Go sorts names as byte strings


def hash1_sorted(lines: Iterable[tuple[bytes, str]]) -> str:
    """Return the ``h1:`` hash of ``(raw name, sha256 hex)`` pairs already sorted by name.

    For callers that hold many files compactly and sort them their own way (the zip reader);
    the pairs are consumed one at a time.

    Raises:
        InvalidPath: a name contains a newline.
    """
    summary = hashlib.sha256()
    for name, digest in lines:
        if b"\n" in name:
            shown = quote(name.decode("utf-8", "surrogateescape"))
            raise InvalidPath(f"dirhash: filenames with newlines are not supported: {shown}")
        summary.update(f"{digest}  ".encode() + name + b"\n")
    return "h1:" + base64.b64encode(summary.digest()).decode("ascii")


def hash_gomod(data: bytes) -> str:
    """Return the ``h1:`` hash of a go.mod file's content (the ``<module> <version>/go.mod``
    line of go.sum): Hash1 over the single file named ``go.mod``."""
    return hash1([("go.mod", hashlib.sha256(data).hexdigest())])
