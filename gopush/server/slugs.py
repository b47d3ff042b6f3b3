"""Owner and repository names (Cloudsmith slugs), the one rule for ``gopush serve``.

A slug is 1 to 100 letters, digits, dots, dashes and underscores, not starting with
punctuation. The API and GOPROXY routes (``server.state``) and the ``--repo``,
``--read-token`` and ``--upstream`` options (``cli/serve.py``) all check names with it, so a
repository the command line declares is one a request can name. Standard library only: the
CLI imports it at start-up.
"""

from __future__ import annotations

import re

_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def is_slug(text: str) -> bool:
    """Tell whether ``text`` is a valid owner or repository slug."""
    return _SLUG.fullmatch(text) is not None


def split_repo(text: str) -> tuple[str, str] | None:
    """Return (owner, name) for ``OWNER/REPO`` with two valid slugs, else None."""
    owner, sep, name = text.partition("/")
    return (owner, name) if sep and is_slug(owner) and is_slug(name) else None
