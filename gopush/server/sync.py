"""Process queued packages in the background, as Cloudsmith's synchronisation does.

``upload/go`` answers as soon as a new module version's package is recorded (queued); a
worker thread then checks the zip as go would (``server.validate.check_upload``) and either
publishes it (completed: the GOPROXY endpoint serves it) or fails it with the reason, which
clients read from the status endpoint. Packages are processed one at a time, in the order
they were queued, and a package still queued or syncing when the server stopped is processed
again on the next start (processing is idempotent: the zip and the rules do not change).

With ``--vuln-db``, a zip the gate accepted is scanned (``server.vulnscan``) before it is
published, so a quarantined version is never served first; the scan's own deadline bounds
the wait, and a scan that fails never fails the package.

A failure that resyncing cannot fix says "package should be deleted" (cloudsmith-api.md
§5.6), so the official CLI stops retrying; only a failure of the server itself (an I/O
error, a full disk) is worth a resync, which ``requeue`` grants. If even the failure cannot
be recorded (the disk is full), the package is processed again once space returns.
"""

from __future__ import annotations

import logging
import queue
import threading

from gopush.errors import InvalidModuleZip, VersionExists
from gopush.server.blobs import BlobCorrupt, BlobMissing, BlobStoreUnavailable
from gopush.server.records import Package, Repo
from gopush.server.space import DiskFull
from gopush.server.storage import Storage
from gopush.server.validate import check_upload
from gopush.server.vulnscan import Scanner

log = logging.getLogger("gopush.server")

DEAD_END = ("This package should be deleted: the zip itself is invalid, so resyncing cannot "
            "help; fix the module and upload it again.")
DUPLICATE = "This package should be deleted: versions are immutable, so resyncing cannot help."
RETRYABLE = "The server could not process this package ({error}); resync it to try again."
INTERNAL = "internal error: {error}; see the server log, and report it"


class Synchroniser:
    """One worker thread turning queued packages into module versions, in order."""

    def __init__(self, storage: Storage, scanner: Scanner | None = None) -> None:
        self.storage = storage
        self.scanner = scanner  # None: packages are not scanned (no --vuln-db)
        self._queue: queue.Queue[tuple[str, bool] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._stalled: list[tuple[str, bool]] = []  # not even failed: the disk was full
        storage.space.when_writable(self.resume)

    def start(self) -> None:
        """Start the worker; queue again what a previous run left unprocessed."""
        for package in self.storage.pending_packages():
            self._queue.put((package.slug_perm, False))
        self._worker = threading.Thread(target=self._run, name="gopush-sync", daemon=True)
        self._worker.start()

    def submit(self, package: Package, *, republish: bool) -> None:
        """Queue a package recorded by ``Storage.queue_package``."""
        self._queue.put((package.slug_perm, republish))

    def requeue(self, package: Package) -> bool:
        """Queue a failed package again if resyncing can help; return whether it was queued."""
        if DEAD_END in (package.reason or "") or DUPLICATE in (package.reason or ""):
            return False
        if not self.storage.set_package_state(package, "queued", was=("failed",)):
            return False
        self._queue.put((package.slug_perm, False))
        return True

    def resume(self) -> None:
        """Queue again the packages left unprocessed because the disk was full."""
        stalled, self._stalled = self._stalled, []
        for item in stalled:
            self._queue.put(item)

    def stop(self) -> None:
        """Finish the package being processed, then stop (queued ones wait for a restart)."""
        if self._worker is not None and self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            perm, republish = item
            try:
                self.process(perm, republish=republish)
            except DiskFull:  # not even failed: processed again when space returns
                self._stalled.append(item)
            except Exception:  # one bad package must not stop the queue
                log.exception("processing package %s failed", perm)

    def process(self, perm: str, *, republish: bool) -> None:
        """Check one queued package's zip and publish it, or fail it with the reason."""
        package = self.storage.package_by_perm(perm)
        if package is None or not self.storage.set_package_state(
                package, "syncing", was=("queued", "syncing")):
            return  # deleted, or processed already
        try:
            reason = self._publish(package, republish)
        except DiskFull:
            reason = RETRYABLE.format(error="the registry is out of disk space")
        except (BlobStoreUnavailable, BlobMissing, BlobCorrupt) as err:
            log.error("checking package %s: %s", perm, err.message)  # names the blob
            reason = RETRYABLE.format(error="its upload cannot be read from the blob store")
        except OSError as err:
            reason = RETRYABLE.format(error=err.strerror or type(err).__name__)
        except Exception as err:  # a bug: fail the package (never left syncing), say so
            log.exception("checking package %s failed", perm)
            reason = RETRYABLE.format(error=INTERNAL.format(error=type(err).__name__))
        if reason is not None:
            self.storage.set_package_state(package, "failed", was=("syncing",), reason=reason)

    def _publish(self, package: Package, republish: bool) -> str | None:
        """Publish the package's zip; return why it failed, or None."""
        slot = self.storage.file(package.file_identifier or "")
        repo = self.storage.repo(package.owner, package.name)
        if slot is None or slot.blob_sha256 is None or repo is None:
            return f"The upload of this package is gone. {DEAD_END}"
        with self.storage.blobs.local_copy(slot.blob_sha256) as zip_path:
            try:
                checked = check_upload(zip_path)
            except InvalidModuleZip as err:
                hint = f" ({err.hint})" if err.hint else ""
                return f"{err.message}{hint}. {DEAD_END}"
            if self.scanner is not None:
                self.scanner.scan_accepted(repo.owner, repo.name, zip_path, checked)
        try:
            published, new = self.storage.publish(repo, slot, checked, republish=republish,
                                                  queued=package)
        except VersionExists as err:
            return f"{err.message} {DUPLICATE}"
        if new:
            apply_retention(self.storage, repo, published)
        return None


def apply_retention(storage: Storage, repo: Repo, published: Package) -> None:
    """Apply ``repo``'s retention rules after ``published`` became a new module version
    (``server.retention``); a failure there is logged and never fails the package."""
    try:
        storage.retain(repo, trigger=published)
    except DiskFull:
        log.warning("retention rules of %s not applied: the disk is full", repo.full_name)
    except Exception:
        log.exception("applying the retention rules of %s failed", repo.full_name)
