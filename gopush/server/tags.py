"""Package tags, as Cloudsmith keeps them: names a package carries (``tag:`` in a query).

Tags come with an upload (``upload/go``'s ``tags``: text, names separated by commas, as
``cloudsmith push go --tags`` and ``gopush push --tag`` send it) and afterwards through
``POST .../{pkg}/tag/`` (``cloudsmith tags add|remove|clear|replace``). A package object
shows them as ``tags: {"info": [...]}`` (every tag; Cloudsmith's "info" type is the one
users write) and ``tags_immutable: {"info": [...]}`` (those added with ``is_immutable``,
which ``remove``, ``clear`` and ``replace`` leave in place).

A tag is 1 to ``MAX_TAG_CHARS`` printable characters without a comma (the separator) and
a package holds at most ``MAX_TAGS``, so what a package stores and every list answer stays
small whoever writes them.
"""

from __future__ import annotations

from typing import Any

MAX_TAGS = 64
MAX_TAG_CHARS = 128
ACTIONS = ("add", "remove", "clear", "replace")


class TagError(ValueError):
    """Tags that break the rules above; the message names the first one at fault."""


def split_tags(text: str) -> list[str]:
    """Return the tags of stored or uploaded text ("a, b,,c" → ["a", "b", "c"])."""
    return [t.strip() for t in text.split(",") if t.strip()]


def join_tags(tags: list[str]) -> str:
    """Return tags as stored (the inverse of ``split_tags``)."""
    return ",".join(tags)


def checked(tags: list[Any]) -> list[str]:
    """Return ``tags`` without blanks and repeats (first kept), each checked.

    Raises:
        TagError: a tag is not text, too long, holds a comma or a control character, or
            there are more than MAX_TAGS.
    """
    found: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise TagError("Each tag is a string.")
        tag = tag.strip()
        if not tag or tag in found:
            continue
        if len(tag) > MAX_TAG_CHARS:
            raise TagError(f"A tag is at most {MAX_TAG_CHARS} characters "
                           f"({tag[:20]!r}... has {len(tag)}).")
        if "," in tag or not tag.isprintable():
            raise TagError(f"A tag holds no comma and no control character ({tag!r}).")
        found.append(tag)
        if len(found) > MAX_TAGS:
            raise TagError(f"A package carries at most {MAX_TAGS} tags.")
    return found


def apply(action: str, tags: list[str], immutable: list[str], given: list[str], *,
          make_immutable: bool) -> tuple[list[str], list[str]]:
    """Return a package's (tags, immutable tags) after ``action`` with ``given`` tags.

    ``add`` appends the new ones (immutable too if ``make_immutable``); ``remove`` drops
    ``given``; ``clear`` drops every tag that is not immutable; ``replace`` is ``clear``
    then ``add``. Immutable tags stay through all of them.

    Raises:
        TagError: ``remove`` names an immutable tag, or the result holds more than
            MAX_TAGS tags.
    """
    kept = list(tags)
    if action == "remove":
        fixed = [t for t in given if t in immutable]
        if fixed:
            raise TagError(f"The tag {fixed[0]!r} is immutable: it cannot be removed.")
        kept = [t for t in kept if t not in given]
    if action in ("clear", "replace"):
        kept = [t for t in kept if t in immutable]
    if action in ("add", "replace"):
        kept += [t for t in given if t not in kept]
        if make_immutable:
            immutable = immutable + [t for t in given if t not in immutable]
    if len(kept) > MAX_TAGS:
        raise TagError(f"A package carries at most {MAX_TAGS} tags.")
    return kept, [t for t in immutable if t in kept]


def tags_json(tags: str) -> dict[str, list[str]]:
    """Return stored tags as a package object shows them ({} when none)."""
    names = split_tags(tags)
    return {"info": names} if names else {}
