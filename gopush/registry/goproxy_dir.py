"""Publish into a static GOPROXY directory (``GOPROXY=file:///DIR``, or any static host).

The layout comes from ``gosem.proxypath``, the same module the embedded server uses, so the
two can never disagree: ``DIR/<escaped module>/@v/{list, <v>.info, <v>.mod, <v>.zip}``.
Every file is written to a temporary name in its directory, fsynced and renamed; the
``.info`` and ``list`` come last, so a reader never sees a version whose zip is missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from gopush.errors import ConfigError, VersionExists
from gopush.gosem import proxypath
from gopush.modzip.zipread import hash_zip
from gopush.proxydir import add_to_list, copy_atomic, write_atomic
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import ConsumerSetup, Existing, Progress, Published, Status


class GoproxyDirRegistry:
    """A directory laid out as a GOPROXY."""

    def __init__(self, root: Path, goproxy: str | None = None) -> None:
        self.root = root
        self.goproxy = goproxy or root.resolve().as_uri() + "/"

    def describe(self) -> str:
        """Return the directory."""
        return str(self.root)

    def consumer_setup(self) -> ConsumerSetup:
        """Return the file:// (or configured) GOPROXY URL; no credentials involved."""
        return ConsumerSetup(goproxy=self.goproxy)

    def lookup(self, artifact: ModuleArtifact) -> Existing | None:
        """Return the h1: of the zip already stored for module@version, or None."""
        zip_file = self.root / proxypath.zip_path(artifact.module, artifact.version)
        info = self.root / proxypath.info_path(artifact.module, artifact.version)
        if not zip_file.is_file() or not info.is_file():
            return None
        with zip_file.open("rb") as handle:
            return Existing(sum=hash_zip(handle))

    def validate(self, artifact: ModuleArtifact, *, republish: bool) -> None:
        """Check that the directory exists (or can be made) and is writable.

        Raises:
            ConfigError: it cannot be written.
        """
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(f"cannot create {self.root}: {err.strerror}") from None
        if not os.access(self.root, os.W_OK):
            raise ConfigError(f"{self.root} is not writable")

    def publish(self, artifact: ModuleArtifact, *, republish: bool,
                on_progress: Progress) -> Published:
        """Write .zip, .mod, .info, then update ``list``; each atomically.

        Raises:
            VersionExists: a different zip is there and ``republish`` is false.
        """
        module, version = artifact.module, artifact.version
        existing = self.lookup(artifact)
        if existing is not None and existing.sum != artifact.sum and not republish:
            raise VersionExists(f"{artifact.ref} already exists in {self.root}")
        self.validate(artifact, republish=republish)
        copy_atomic(artifact.zip_path, self.root / proxypath.zip_path(module, version))
        on_progress(artifact.size)
        write_atomic(self.root / proxypath.mod_path(module, version), artifact.gomod)
        write_atomic(self.root / proxypath.info_path(module, version), artifact.info)
        add_to_list(self.root / proxypath.list_path(module), version)
        return Published()

    def wait(self, published: Published, *, timeout: float, on_status: Status) -> Published:
        """Return at once: files are visible as soon as they are renamed into place."""
        return published

    def download(self, module: str, version: str, dest: Path) -> str | None:
        """Copy the stored zip of module@version to ``dest``; return its h1: or None."""
        stored = self.root / proxypath.zip_path(module, version)
        if not stored.is_file():
            return None
        shutil.copyfile(stored, dest)
        with dest.open("rb") as handle:
            return hash_zip(handle)

    def whoami(self) -> dict[str, Any]:
        """Return the local user: a directory needs no credentials."""
        return {"authenticated": True, "slug": None, "name": "local directory"}

    def close(self) -> None:
        """Nothing to release."""
