"""The import paths a Go source file declares, without parsing the rest of it (pure).

Reads the package clause and the import declarations that follow it (single and grouped,
named, dot and blank imports, interpreted and raw string literals, comments anywhere between
tokens), and stops at the first other declaration. Build constraints are ignored: every file
counts. A file that is not valid up to its imports yields the imports read before the error.
"""

from __future__ import annotations

MAX_SOURCE_BYTES = 8 << 20  # more than any real file's import block; the rest is not read


def go_imports(source: bytes) -> tuple[str, ...]:
    """Return the import paths of one .go file, in order, without duplicates."""
    raise NotImplementedError
