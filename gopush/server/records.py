"""Plain records the storage layer hands to the HTTP layer (rows of ``server.db``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from gopush.server.db import Row

T = TypeVar("T", bound="DataclassInstance")


def from_row(cls: type[T], row: Row) -> T:
    """Build a record from a row, taking only the columns the record declares."""
    names = {f.name for f in fields(cls)}
    values: dict[str, Any] = {k: row[k] for k in row.keys() if k in names}  # noqa: SIM118 (Row iterates values)
    return cls(**values)


@dataclass(frozen=True)
class Repo:
    """A repository: ``owner/name``, whether reads need credentials, its upstream GOPROXY."""

    owner: str
    name: str
    private: int = 0
    upstream: str | None = None

    @property
    def full_name(self) -> str:
        """Return ``owner/name``."""
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class FileSlot:
    """An upload slot (``files`` create): what is expected, and what arrived."""

    identifier: str
    owner: str
    name: str
    filename: str
    md5: str
    method: str
    signature_sha256: str
    state: str
    blob_sha256: str | None = None
    size: int | None = None
    created_at: str = ""  # RFC 3339 UTC, when the slot was opened (server.expiry)


@dataclass(frozen=True)
class Package:
    """A Cloudsmith-style package: one upload turned (or not) into a module version."""

    slug_perm: str
    slug: str
    owner: str
    name: str
    filename: str
    state: str
    uploaded_at: str
    updated_at: str
    file_identifier: str | None = None
    module: str | None = None
    version: str | None = None
    size: int | None = None
    md5: str | None = None
    blob_sha256: str | None = None
    sum: str | None = None
    reason: str | None = None
    tags: str = ""  # server.tags: comma-separated
    tags_immutable: str = ""  # the subset of tags that remove/clear/replace keep
    republish: int = 0  # queued with republish (server.sync processes it so, on any instance)


@dataclass(frozen=True)
class Version:
    """A module version as the GOPROXY endpoint serves it."""

    module: str
    version: str
    zip_sha256: str
    mod_sha256: str
    sum: str
    time: str
    origin: str
    package: str | None = None
