"""Vulnerability scans kept in the registry's database (tables of ``server.db`` migration 1).

One scan per published zip: ``vuln_scans`` is keyed by repository, module, version and the
zip's ``h1:`` (a republished version is another zip, so another scan), and joined with the
``versions`` table on all five, so a scan counts only for the bytes a version serves now.
A scan is ``scanned`` (its findings hold) or ``failed`` (``reason`` says why: the database
could not be reached, or the module's go.mod could not be read); a failed scan quarantines
nothing, so it never replaces a completed one: a rescan that fails keeps the scan it would
have replaced, findings and all, and only its ``reason`` says the rescan failed. ``vuln_db`` remembers, per database URL (without credentials: ``Scanner.shown_url``), the ``modified`` time last seen and why the
last check failed, so a restart knows whether the database moved while it was down.

Quarantine is decided here, at read time, from the stored counts and the policy the server
runs with (``--quarantine``): restarting without it makes every version available again,
and a rescan that finds an entry withdrawn lifts it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gopush.server.db import Database
from gopush.server.records import Repo
from gopush.server.storage import now, rfc3339
from gopush.vuln.scan import Finding, Requirement, Requirements

_LIVE = ("JOIN versions v ON v.owner = s.owner AND v.name = s.name AND v.module = s.module "
         "AND v.version = s.version AND v.sum = s.sum")
# which scans quarantine a version under each policy (--quarantine)
_POLICY = {"imported": "s.imported > 0", "any": "s.total > 0"}


@dataclass(frozen=True)
class ModuleInputs:
    """What a scan reads from a zip: the go.mod requirements and the imports of the module's
    own non-test .go files (``vuln.source.zip_source``). ``note``: why no requirement is
    known (no go.mod, or one even a lax reading refuses); "" otherwise."""

    requirements: Requirements
    imports: tuple[str, ...]
    note: str = ""


@dataclass(frozen=True)
class Scan:
    """One stored scan of one published zip (a row of ``vuln_scans``)."""

    owner: str
    name: str
    module: str
    version: str
    sum: str
    scan_id: int
    state: str
    scanned_at: str
    inputs: str
    findings: str
    imported: int
    total: int
    reason: str | None = None
    db_modified: str | None = None

    @property
    def identifier(self) -> str:
        """Return the scan's identifier in the API (new with every scan)."""
        return f"scan-{self.scan_id}"

    def finding_list(self) -> list[Finding]:
        """Return the findings as the scan stored them."""
        return [Finding(**{**f, "aliases": tuple(f["aliases"]), "packages": tuple(f["packages"])})
                for f in json.loads(self.findings)]

    def module_inputs(self) -> ModuleInputs:
        """Return what the scan read from the zip (to scan it again without the zip)."""
        doc = json.loads(self.inputs)
        reqs = Requirements(tuple(Requirement(m, v) for m, v in doc["requirements"]),
                            doc["go"], doc["partial"])
        return ModuleInputs(reqs, tuple(doc["imports"]), doc["note"])


@dataclass(frozen=True)
class ScanTarget:
    """A published version to scan: where it is, and its zip and go.mod blobs."""

    owner: str
    name: str
    module: str
    version: str
    sum: str
    zip_sha256: str
    mod_sha256: str
    scan: Scan | None  # the stored scan of these bytes, if any


def inputs_json(inputs: ModuleInputs) -> str:
    """Return ``inputs`` as stored in ``vuln_scans.inputs``."""
    reqs = inputs.requirements
    return json.dumps({"requirements": [[r.module, r.version] for r in reqs.modules],
                       "go": reqs.go, "partial": reqs.partial, "imports": list(inputs.imports),
                       "note": inputs.note})


def _finding_json(finding: Finding) -> dict[str, Any]:
    return {"id": finding.id, "aliases": list(finding.aliases), "module": finding.module,
            "version": finding.version, "fixed": finding.fixed, "summary": finding.summary,
            "imported": finding.imported, "packages": list(finding.packages)}


# a new scan of the same zip replaces the old one's every column (``VulnStore.save``)
_SCAN_UPDATES = ", ".join(f"{column} = excluded.{column}" for column in (
    "scan_id", "state", "reason", "db_modified", "scanned_at", "inputs", "findings",
    "imported", "total"))


class VulnStore:
    """Reads and writes of scans and of the database's last known state."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, owner: str, name: str, module: str, version: str, zip_sum: str, *,
             inputs: ModuleInputs, findings: list[Finding] | None, reason: str | None,
             db_modified: str | None) -> Scan:
        """Store a scan of one zip (``findings`` None: not scanned, ``reason`` says why),
        replacing the previous scan of the same bytes; return it with its new scan id."""
        found = findings or []
        state = "failed" if findings is None else "scanned"
        with self.db.tx() as conn:
            scan_id = conn.execute("SELECT COALESCE(MAX(scan_id), 0) + 1 FROM vuln_scans"
                                   ).fetchone()[0]
            conn.execute("INSERT INTO vuln_scans (owner, name, module, version, sum, "
                         "scan_id, state, reason, db_modified, scanned_at, inputs, findings, "
                         "imported, total) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
                         f"ON CONFLICT (owner, name, module, version, sum) DO UPDATE SET "
                         f"{_SCAN_UPDATES}",
                         (owner, name, module, version, zip_sum, scan_id, state, reason,
                          db_modified, now(), inputs_json(inputs),
                          json.dumps([_finding_json(f) for f in found]),
                          sum(1 for f in found if f.imported), len(found)))
        scan = self.scan(owner, name, module, version, zip_sum)
        assert scan is not None
        return scan

    def keep_after_failure(self, owner: str, name: str, module: str, version: str,
                           zip_sum: str, reason: str) -> Scan | None:
        """Keep the completed scan of one zip, with ``reason`` (why it could not be made
        again) as its reason; return it, or None when there is no completed scan."""
        with self.db.tx() as conn:
            changed = conn.execute("UPDATE vuln_scans SET reason = ? WHERE owner = ? AND "
                                   "name = ? AND module = ? AND version = ? AND sum = ? AND "
                                   "state = 'scanned'",
                                   (reason, owner, name, module, version, zip_sum)).rowcount
        return self.scan(owner, name, module, version, zip_sum) if changed else None

    def scan(self, owner: str, name: str, module: str, version: str, zip_sum: str) -> Scan | None:
        """Return the stored scan of one zip, or None."""
        row = self.db.one("SELECT * FROM vuln_scans WHERE owner = ? AND name = ? AND module = ? "
                          "AND version = ? AND sum = ?", owner, name, module, version, zip_sum)
        return Scan(**{k: row[k] for k in row.keys()}) if row else None  # noqa: SIM118

    def targets(self, db_modified: str) -> list[ScanTarget]:
        """Return the uploaded versions whose scan is missing, failed, or made with another
        ``modified`` of the database than ``db_modified``: what a refresh scans again."""
        rows = self.db.all(
            "SELECT v.owner, v.name, v.module, v.version, v.sum, v.zip_sha256, v.mod_sha256, "
            "s.scan_id FROM versions v LEFT JOIN vuln_scans s ON v.owner = s.owner AND "
            "v.name = s.name AND v.module = s.module AND v.version = s.version AND "
            "v.sum = s.sum WHERE v.origin = 'upload' AND (s.scan_id IS NULL OR "
            "s.state != 'scanned' OR s.db_modified IS DISTINCT FROM ?) ORDER BY v.owner, v.name, "
            "v.module, v.version", db_modified)
        return [ScanTarget(row[0], row[1], row[2], row[3], row[4], row[5], row[6],
                           self.scan(*row[:5]) if row[7] is not None else None)
                for row in rows]

    def forget_unserved(self, older_than: float = 24 * 3600.0) -> int:
        """Delete the scans, older than ``older_than`` seconds, of zips no version serves
        (deleted or republished packages; a zip scanned whose publishing failed); return
        how many. Younger ones are kept: a zip is scanned before its version is published."""
        with self.db.tx() as conn:
            return int(conn.execute(
                "DELETE FROM vuln_scans AS s WHERE scanned_at < ? AND NOT EXISTS (SELECT 1 "
                "FROM versions v WHERE v.owner = s.owner AND v.name = s.name AND "
                "v.module = s.module AND v.version = s.version AND v.sum = s.sum)",
                (rfc3339(time.time() - older_than),)).rowcount)

    def quarantined(self, repo: Repo, module: str, policy: str) -> set[str]:
        """Return the versions of ``module`` that ``policy`` keeps out of ``repo``'s
        ``list`` and ``@latest`` (none when the policy is "")."""
        if policy not in _POLICY:
            return set()
        rows = self.db.all(f"SELECT s.version FROM vuln_scans s {_LIVE} WHERE s.owner = ? AND "
                           f"s.name = ? AND s.module = ? AND s.state = 'scanned' AND "
                           f"{_POLICY[policy]}", repo.owner, repo.name, module)
        return {row[0] for row in rows}

    def quarantining(self, repo: Repo, module: str, version: str, policy: str) -> Scan | None:
        """Return the scan that makes ``policy`` quarantine ``module@version`` as ``repo``
        serves it now, or None when it is available."""
        if policy not in _POLICY:
            return None
        row = self.db.one(f"SELECT s.* FROM vuln_scans s {_LIVE} WHERE s.owner = ? AND "
                          f"s.name = ? AND s.module = ? AND s.version = ? AND "
                          f"s.state = 'scanned' AND {_POLICY[policy]}",
                          repo.owner, repo.name, module, version)
        return Scan(**{k: row[k] for k in row.keys()}) if row else None  # noqa: SIM118

    def db_state(self, url: str) -> tuple[str | None, str | None]:
        """Return the database's ``modified`` last seen and the last check's error."""
        row = self.db.one("SELECT modified, error FROM vuln_db WHERE url = ?", url)
        return (row[0], row[1] or None) if row else (None, None)

    def set_db_state(self, url: str, modified: str | None, error: str | None) -> None:
        """Record a check of the database: ``modified`` when it answered (else the last
        one seen is kept), and the error when it did not."""
        with self.db.tx() as conn:
            conn.execute("INSERT INTO vuln_db (url, modified, checked_at, error) VALUES "
                         "(?, ?, ?, ?) ON CONFLICT (url) DO UPDATE SET modified = "
                         "COALESCE(excluded.modified, vuln_db.modified), checked_at = "
                         "excluded.checked_at, error = excluded.error",
                         (url, modified, now(), error or ""))
