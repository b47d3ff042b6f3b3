"""Scanning published module versions against the Go vulnerability database (``--vuln-db``).

When: ``server.sync`` scans each new zip after the gate accepted it and before it is
published (``scan_accepted``), so under ``--quarantine`` a version is never served before its
scan is stored; a republish decided while answering does the same. ``VulnWatch`` (one
thread) asks the database for its ``modified`` time at start and every ``--vuln-refresh``
minutes; when it moved forward, every uploaded version whose scan used another ``modified`` is
scanned again (when it moved back, nothing is: ``VulnDb.went_back_from``) (from the inputs its scan stored: no zip is read again), and so is every
version not scanned yet (published before ``--vuln-db``, or while the database could not be
reached: those are read from their zip).

What a scan reads from a zip is what ``gopush audit`` reads (``vuln.source.zip_source``: the
go.mod, the imports of the module's own non-test .go files); matching is ``vuln.scan``; the
database is ``vuln.db`` with its cache in ``<data dir>/vulndb``.

The database unreachable never stops the registry: every open and every lookup runs under
``VulnSettings.timeout``; a package is then published with a failed scan (its reason says
why, and the log too), which quarantines nothing, and is scanned again at the next refresh
that reaches the database. For ``RETRY_AFTER`` seconds after a failure, a scan waits at most
``QUICK`` seconds for the database (then goes on from the cache, or fails with the reason),
so a database that hangs costs one full timeout, then a second per package. Scans are
serialised (one lock: the database cache is one directory), so the synchroniser waits at
most one scan behind a refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from gopush.errors import GopushError
from gopush.modzip.accept import AcceptedZip
from gopush.server.redaction import redacted
from gopush.server.settings import VulnSettings
from gopush.server.space import DiskFull
from gopush.server.storage import Storage
from gopush.server.validate import check_upload
from gopush.server.vulnstore import ModuleInputs, Scan, ScanTarget, VulnStore
from gopush.vuln import db as vulndb
from gopush.vuln import scan as vulnscan
from gopush.vuln.scan import Finding
from gopush.vuln.source import zip_source

log = logging.getLogger("gopush.server")

RETRY_AFTER = 60.0  # seconds after a failure during which a scan waits QUICK seconds at most
QUICK = 1.0


class Unreachable(Exception):
    """The database could not be opened or read within the deadline (message: why)."""


class Scanner:
    """Scans zips and stored inputs against the database at ``settings.db_url``."""

    def __init__(self, storage: Storage, settings: VulnSettings) -> None:
        self.storage = storage
        self.settings = settings
        self.store = VulnStore(storage.db)
        self.cache = storage.root / "vulndb"
        # the URL in logs and in the registry's database (vuln_db is keyed by it): without
        # its credentials, which the data directory must never hold
        self.shown_url = redacted(settings.db_url)
        self._lock = threading.Lock()
        self._failed_at = -RETRY_AFTER  # monotonic time of the last failure to reach the db

    # -- scanning one version -------------------------------------------------------------

    def scan_accepted(self, owner: str, name: str, zip_path: Path,
                      accepted: AcceptedZip) -> Scan | None:
        """Scan a zip the gate accepted and store the result; never raises (a scan that
        cannot be made is stored as failed, or logged when even that fails)."""
        try:
            inputs = read_inputs(zip_path, accepted)
            return self._scan_and_store(owner, name, accepted.module, accepted.version,
                                        accepted.sum, inputs, retry=False)[0]
        except DiskFull:
            raise  # publishing cannot work either: the package waits for space (server.sync)
        except Exception:  # a scan must never stop a package from being processed
            log.exception("scanning %s@%s for vulnerabilities failed", accepted.module,
                          accepted.version)
            return None

    def _scan_and_store(self, owner: str, name: str, module: str, version: str,
                        zip_sum: str, inputs: ModuleInputs, *, retry: bool,
                        db: vulndb.VulnDb | None = None) -> tuple[Scan, bool]:
        """Match ``inputs`` against the database (``db`` when given, else opened for this
        scan) and store the scan; return it and whether the database answered.

        When it does not, a completed scan of the same bytes is kept, findings and
        quarantine included, with the failure as its reason (a database that breaks or
        hangs must not release what it quarantined; its ``db_modified`` stays, so the next
        refresh tries again); without one, the scan is stored as failed."""
        try:
            findings, modified, notes = self._match(inputs, retry=retry, db=db)
        except Unreachable as err:
            kept = self.store.keep_after_failure(owner, name, module, version, zip_sum,
                                                 f"rescan failed, these findings stand: {err}")
            return kept or self.store.save(owner, name, module, version, zip_sum,
                                           inputs=inputs, findings=None, reason=str(err),
                                           db_modified=None), False
        return self.store.save(owner, name, module, version, zip_sum, inputs=inputs,
                               findings=findings, reason="; ".join(notes) or None,
                               db_modified=modified), True

    def _match(self, inputs: ModuleInputs, *, retry: bool,
               db: vulndb.VulnDb | None) -> tuple[list[Finding], str, list[str]]:
        """Return the findings, the database's ``modified`` and notes on what the scan
        could not check.

        Raises:
            Unreachable: the database cannot be reached and no cache holds it.
        """
        reqs = inputs.requirements
        with self._lock:
            timeout = self.settings.timeout
            if not retry and time.monotonic() - self._failed_at < RETRY_AFTER:
                timeout = min(timeout, QUICK)  # it just failed: do not wait the whole time
            try:
                if db is None:
                    db = vulndb.open_db(self.settings.db_url, self.cache, timeout=timeout)
                entries = db.entries_for(r.module for r in reqs.modules)  # + stdlib, toolchain
            except GopushError as err:
                raise self._unreachable(err.message) from None
            except OSError as err:  # the cache directory itself
                raise self._unreachable(f"vulnerability database cache {self.cache}: "
                                        f"{err.strerror or err}") from None
        if db.offline:
            self._failed_at = time.monotonic()
        findings = vulnscan.scan(reqs, inputs.imports, entries)
        return findings, db.modified, _notes(inputs, db)

    def _unreachable(self, why: str) -> Unreachable:
        self._failed_at = time.monotonic()
        log.warning("%s; packages are published unscanned until the database answers", why)
        return Unreachable(f"not scanned: {why}; it is scanned again when the database "
                           f"answers (checked every {self.settings.refresh_minutes:g} minutes)")

    # -- the refresh ----------------------------------------------------------------------

    def refresh(self, stop: threading.Event | None = None) -> int:
        """Check the database's ``modified``; scan again what it makes stale. Return how
        many versions were scanned (stops early when the database fails, or on ``stop``)."""
        db: vulndb.VulnDb | None  # None once a reopening fails (see _reopen)
        try:
            with self._lock:
                db = vulndb.open_db(self.settings.db_url, self.cache,
                                    timeout=self.settings.timeout)
                db.entries_for(())  # the index, for the scans below (and the connection closed)
        except GopushError as err:
            self.store.set_db_state(self.shown_url, None, err.message)
            self._unreachable(err.message)
            return 0
        previous, _ = self.store.db_state(self.shown_url)
        if db.went_back_from:  # rescanning would release what newer entries quarantine
            why = (f"vulnerability database {self.shown_url}: index/db.json says modified "
                   f"{db.modified}, older than the {db.went_back_from} already seen (a stale "
                   "mirror, or a database rolled back): the scans made with the newer one "
                   "are kept")
            self.store.set_db_state(self.shown_url, None, why)
            log.warning("%s", why)
            return 0
        error = (f"unreachable; using the cache from {db.age_seconds / 60:.0f} minutes ago"
                 if db.offline else None)
        self.store.set_db_state(self.shown_url, db.modified, error)
        if db.offline:  # scans of new packages use the cache; nothing to scan again
            log.warning("vulnerability database %s could not be reached; scanning new "
                        "packages with its cache from %.0f minutes ago", self.shown_url,
                        db.age_seconds / 60)
            return 0
        self._failed_at = -RETRY_AFTER  # it answers again: scans wait for it in full
        self.store.forget_unserved()
        targets = self.store.targets(db.modified)
        if previous != db.modified:
            log.info("vulnerability database %s: modified %s (was %s); scanning %d "
                     "versions", self.shown_url, db.modified, previous or "never seen",
                     len(targets))
        done, opened = 0, time.monotonic()
        for target in targets:
            if stop is not None and stop.is_set():
                break
            if time.monotonic() - opened > self.settings.timeout / 2:  # a fresh deadline
                db = self._reopen()
                opened = time.monotonic()
            answered = self._rescan(target, db)
            done += 1
            if db is None or not answered:
                break  # the database went away: the next refresh goes on
        return done

    def _reopen(self) -> vulndb.VulnDb | None:
        """Open the database again for the rest of a refresh (None: it failed; the scan
        that opens it for itself then says why)."""
        try:
            with self._lock:
                return vulndb.open_db(self.settings.db_url, self.cache,
                                      timeout=self.settings.timeout)
        except GopushError:
            return None

    def _rescan(self, target: ScanTarget, db: vulndb.VulnDb | None) -> bool:
        """Scan one published version again (its stored inputs, else its zip), with ``db``
        (one opened database serves the refresh's scans while its deadline lasts: the
        database's index is asked once, not once per version); return False when the
        database did not answer."""
        try:
            inputs = target.scan.module_inputs() if target.scan else self._read(target)
            return self._scan_and_store(target.owner, target.name, target.module,
                                        target.version, target.sum, inputs, retry=True,
                                        db=db)[1]
        except DiskFull:
            raise  # the rest would fail the same way: the next refresh goes on
        except Exception:  # one version must not stop the others
            log.exception("scanning %s@%s for vulnerabilities failed", target.module,
                          target.version)
            return True

    def _read(self, target: ScanTarget) -> ModuleInputs:
        """Read a version never scanned from its zip, through the gate again (for its go.mod
        as served, synthesized or not)."""
        with self.storage.blobs.local_copy(target.zip_sha256) as path:
            return read_inputs(path, check_upload(path, target.module, target.version))


def read_inputs(zip_path: Path, accepted: AcceptedZip) -> ModuleInputs:
    """Return what a scan needs from a zip the gate accepted (as ``gopush audit`` reads it).

    Raises:
        InvalidModuleZip: a .go file cannot be read back as declared.
    """
    source = zip_source(zip_path, accepted)
    reqs = (vulnscan.requirements(source.gomod) if source.gomod is not None
            else vulnscan.Requirements((), "", False))
    return ModuleInputs(reqs, tuple(sorted(source.imports)), source.note)


def _notes(inputs: ModuleInputs, db: vulndb.VulnDb) -> list[str]:
    """Return what a scan could not check, in words for the scan's status."""
    notes = []
    if inputs.note:
        notes.append(f"{inputs.note}: no requirement was checked")
    elif not inputs.requirements.go:
        notes.append("go.mod has no go line: the standard library was not checked")
    if inputs.requirements.partial:
        notes.append("go.mod is older than go 1.17 and may not list every module the build "
                     "uses: the list checked is partial")
    if db.offline:
        notes.append(f"the database could not be reached: scanned with its cache from "
                     f"{db.age_seconds / 60:.0f} minutes ago")
    return notes


class VulnWatch:
    """One thread: ``Scanner.refresh`` at start and every ``--vuln-refresh`` minutes."""

    def __init__(self, scanner: Scanner) -> None:
        self.scanner = scanner
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start checking (the first check at once)."""
        self._thread = threading.Thread(target=self._run, name="gopush-vulndb", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the scan in progress (each is bounded by the settings' timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        interval = self.scanner.settings.refresh_minutes * 60
        while not self._stop.is_set():
            try:
                self.scanner.refresh(self._stop)
            except Exception:  # a locked database must not end the checks
                log.exception("checking the vulnerability database failed; trying again "
                              "later")
            self._stop.wait(interval)
