"""Process queued packages in the background, as Cloudsmith's synchronisation does.

``upload/go`` answers as soon as a new module version's package is recorded (queued); a
worker thread then checks the zip as go would (``server.validate.check_upload``) and either
publishes it (completed: the GOPROXY endpoint serves it) or fails it with the reason, which
clients read from the status endpoint. Packages are processed one at a time per instance,
oldest first, and a package still queued or syncing when the server stopped is processed
again by another instance or on the next start (processing is idempotent: the zip and the
rules do not change).

Several instances on one PostgreSQL share the queue: the worker claims the oldest package
from the database (``Storage.claim_package``: ``FOR UPDATE SKIP LOCKED``, the same query on
SQLite) with a lease of ``LEASE`` seconds, renewed every third of it while processing. An
instance killed mid-processing stops renewing; once its lease lapses another instance claims
the package and processes it whole again. 30 s is short enough that a dead instance's
package waits at most that (plus a poll) and long enough that two missed renewals (a
database hiccup) never hand a live claim over; a 500 MB zip is checked in about a second,
so processing is never near it. The worker wakes at once for its own instance's submissions
and looks for others' every ``POLL`` seconds (one indexed read, no lock): a package queued
by an instance that is busy or died is picked up within a second. Should a lapsed claim
still be finished by its first instance, the outcome is the same (the package is published
once: ``Storage.publish`` returns the version it published).

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
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gopush.errors import InvalidModuleZip, VersionExists
from gopush.server.blobs import BlobCorrupt, BlobMissing, BlobStoreUnavailable
from gopush.server.db import DatabaseUnavailable
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


LEASE = 30.0  # seconds a claim lasts unless renewed (see the module docstring)
POLL = 1.0  # seconds between two looks at the queue for work other instances queued


class Synchroniser:
    """One worker thread turning queued packages into module versions, oldest first,
    claiming each from the database (``Storage.claim_package``) so that every instance
    sharing the database may process any package, and each is processed by one.

    ``hold`` (a test-only hook, ``gopush serve --hold-processing DIR``): before processing a
    claimed package, write ``DIR/claimed-<slug_perm>`` and wait, renewing the lease, until
    ``DIR/release`` exists, so a test can stop an instance mid-processing for certain.
    """

    def __init__(self, storage: Storage, scanner: Scanner | None = None, *,
                 lease: float = LEASE, poll: float = POLL, hold: Path | None = None) -> None:
        self.storage = storage
        self.scanner = scanner  # None: packages are not scanned (no --vuln-db)
        self.lease = lease
        self.poll = poll
        self.hold = hold
        # who holds a claim: the host and process, made unique should a pid be reused
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = threading.Event()
        self._stopping = False
        self._stalled = False  # the disk was full: not even the failure could be written
        self._unreachable = False  # the database could not be reached at the last look
        self._worker: threading.Thread | None = None
        storage.space.when_writable(self.resume)

    def start(self) -> None:
        """Start the worker; it processes what is queued, a previous run's leftovers too."""
        self._worker = threading.Thread(target=self._run, name="gopush-sync", daemon=True)
        self._worker.start()

    def submit(self, package: Package) -> None:
        """Wake the worker for a package recorded by ``Storage.queue_package`` (its own
        submissions are processed at once; other instances' within ``poll`` seconds)."""
        self._wake.set()

    def requeue(self, package: Package) -> bool:
        """Queue a failed package again if resyncing can help; return whether it was queued."""
        if DEAD_END in (package.reason or "") or DUPLICATE in (package.reason or ""):
            return False
        if not self.storage.set_package_state(package, "queued", was=("failed",)):
            return False
        self._wake.set()
        return True

    def resume(self) -> None:
        """Claim again once space returned (a package stalled on a full disk stays claimed
        by this worker, so it is the first claimable one)."""
        self._stalled = False
        self._wake.set()

    def stop(self) -> None:
        """Finish the package being processed, then stop (queued ones wait for another
        instance or a restart)."""
        self._stopping = True
        self._wake.set()
        if self._worker is not None and self._worker.is_alive():
            self._worker.join()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before looking: a submission from now on wakes the wait
            package = None if self._stalled else self._claim()
            if package is None:
                self._wake.wait(self.poll)
                continue
            try:
                with self._renewing(package):
                    self._held(package)
                    self.process(package)
            except DiskFull:  # not even failed: claimed again when space returns
                self._stalled = True
            except Exception:  # one bad package must not stop the queue
                log.exception("processing package %s failed", package.slug_perm)

    def _claim(self) -> Package | None:
        try:
            package = self.storage.claim_package(self.worker, self.lease)
        except DiskFull:  # SQLite on a full disk: wait for space
            self._stalled = True
        except DatabaseUnavailable as err:  # PostgreSQL restarting: one line, not one a second
            if not self._unreachable:
                log.warning("the queue cannot be read: %s; looking again every %gs", err,
                            self.poll)
            self._unreachable = True
        except Exception:  # anything else: look again later
            log.exception("claiming a queued package failed; trying again in %gs", self.poll)
        else:
            if self._unreachable:
                log.info("the queue can be read again")
            self._unreachable = False
            return package
        return None

    @contextmanager
    def _renewing(self, package: Package) -> Iterator[None]:
        """Renew the claim on ``package`` every third of the lease while the block runs, so
        a slow package (a scan waiting for the vulnerability database) keeps it and only a
        dead or stalled instance loses it."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self.lease / 3):
                try:
                    if not self.storage.renew_claim(package, self.worker, self.lease):
                        return  # finished, deleted, or lost to another instance
                except Exception:  # noqa: BLE001 - missed: retried, the lease has 2 more
                    log.warning("renewing the claim on package %s failed", package.slug_perm)

        renewer = threading.Thread(target=renew, name="gopush-sync-lease", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def _held(self, package: Package) -> None:
        """The test-only hold (see the class docstring)."""
        if self.hold is None:
            return
        (self.hold / f"claimed-{package.slug_perm}").write_text(self.worker)
        while not (self.hold / "release").exists() and not self._stopping:
            time.sleep(0.05)

    def process(self, package: Package) -> None:
        """Check one claimed package's zip and publish it (with the ``republish`` it was
        queued with), or fail it with the reason."""
        perm = package.slug_perm
        try:
            reason = self._publish(package, bool(package.republish))
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
