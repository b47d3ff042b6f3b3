"""``gopush audit`` and ``push --audit``: a module's requirements against the Go vulnerability database.

Three targets, named as ``gopush check`` and ``push`` name them: the module of a checkout at
a revision (``sources.module.locate``, the one place a revision becomes a module; its files
as the zip would hold them, ``modzip.rules.check_files``), a module zip (through the gate
every zip passes, ``modzip.accept.accept_zip``), or a GOPROXY layout from ``gopush build``
(``proxydir.layout_zips``: each of its zips). For each module: the requirements of its go.mod
(``vuln.scan.requirements``), the imports of its own non-test Go files (``vuln.ownfiles``),
the database's entries for those modules only (``vuln.db``), then ``vuln.scan.scan``.

The policy (``--fail-on imported|any|never``, ``--allow GO-ID``) decides which findings
refuse the module; ``refusal`` builds the one error both commands raise (exit 7), which says
what to upgrade each module to.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gopush.errors import InvalidModuleZip, NotARepository, Vulnerable
from gopush.gosem import semver
from gopush.modzip.accept import AcceptedZip
from gopush.ui.base import Reporter
from gopush.vuln.scan import Finding, Requirements
from gopush.vuln.source import ModuleSource, zip_source

if TYPE_CHECKING:
    from gopush.vuln.db import VulnDb

STDLIB = ("stdlib", "toolchain")  # the database's names for Go itself (entries_for adds them)


class AuditPolicy(NamedTuple):
    """Which database, and which findings refuse a module."""

    db_url: str
    cache_dir: Path
    fail_on: str = "imported"  # one of config.vulndb.FAIL_ON
    allow: frozenset[str] = frozenset()  # GO ids (or their CVE/GHSA aliases) accepted

    def refuses(self, finding: Finding) -> bool:
        """Tell whether ``finding`` refuses the module under this policy."""
        if finding.id in self.allow or self.allow.intersection(finding.aliases):
            return False
        return self.fail_on == "any" or (self.fail_on == "imported" and finding.imported)


class AuditRequest(NamedTuple):
    """What to audit; fields mirror the ``gopush audit`` options."""

    policy: AuditPolicy
    target: Path | None = None  # a zip, a GOPROXY layout, or a checkout (None: this one)
    rev: str = "HEAD"  # for a checkout
    subdir: str | None = None  # for a checkout: the module's directory in the repository


class AuditResult(NamedTuple):
    """The findings for one module version (the JSON document's fields)."""

    module: str
    version: str
    db_url: str
    db_modified: str
    findings: tuple[Finding, ...]
    go: str = ""  # the go line the standard library was checked against ("" = not checked)
    partial: bool = False  # go < 1.17: go.mod need not list the whole build list

    @property
    def ref(self) -> str:
        """Return ``module@version``."""
        return f"{self.module}@{self.version}"

    def as_json(self) -> dict[str, Any]:
        """Return the document ``gopush audit --json`` prints for this module."""
        return {"module": self.module, "version": self.version,
                "db": {"url": self.db_url, "modified": self.db_modified},
                "findings": [finding_json(f) for f in self.findings]}


def finding_json(finding: Finding) -> dict[str, Any]:
    """Return one finding as the JSON documents carry it."""
    return {"id": finding.id, "aliases": list(finding.aliases), "module": finding.module,
            "version": finding.version, "fixed": finding.fixed or None,
            "summary": finding.summary, "imported": finding.imported,
            "packages": list(finding.packages)}


def audit(request: AuditRequest, reporter: Reporter) -> list[AuditResult]:
    """Audit every module ``request`` names; the policy is applied by ``refusal``.

    Raises:
        SourceError, InvalidModule: the checkout or zip cannot be read as a module.
        VulnDbError: the database cannot be read and nothing is cached (exit 6).
    """
    opening = _Opening(request.policy)
    sources = _sources(request, reporter)
    return scan_modules(sources, opening.result(reporter), reporter)


def audit_zips(zips: Iterable[tuple[Path, AcceptedZip]], policy: AuditPolicy,
               reporter: Reporter) -> list[AuditResult]:
    """Audit zips the gate already accepted (``push --audit``): no second check.

    Raises:
        InvalidModuleZip, VulnDbError: as ``audit``.
    """
    opening = _Opening(policy)
    sources = [zip_source(path, accepted) for path, accepted in zips]
    return scan_modules(sources, opening.result(reporter), reporter)


class _Opening:
    """The database, opened by a thread of its own while the module is read: its round trip
    (``index/db.json``, a TLS handshake first for vuln.go.dev) then overlaps git's work.

    The thread is a daemon: when reading the module fails, nobody waits for the database.
    """

    def __init__(self, policy: AuditPolicy) -> None:
        self._db: VulnDb | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._open, args=(policy,), daemon=True,
                                        name="gopush-vulndb-open")
        self._thread.start()

    def _open(self, policy: AuditPolicy) -> None:
        try:
            import gopush.registry  # noqa: F401 - before httpx: keeps httpx's CLI (rich) out
            from gopush.vuln.db import open_db

            self._db = open_db(policy.db_url, policy.cache_dir)
        except BaseException as err:  # noqa: BLE001 - raised again by result(), in the caller
            self._error = err

    def result(self, reporter: Reporter) -> VulnDb:
        """Return the opened database; warn, with the cache's age, when it was not reached.

        Raises:
            VulnDbError: unreachable or unreadable, and nothing cached; ConfigError: the URL.
        """
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._db is not None
        if self._db.offline:
            reporter.warn(f"the vulnerability database at {self._db.url} cannot be reached: "
                          f"using the copy cached {_age(self._db.age_seconds)} ago "
                          f"(modified {self._db.modified})")
        if self._db.went_back_from:
            reporter.warn(f"the vulnerability database at {self._db.url} says modified "
                          f"{self._db.modified}, older than the {self._db.went_back_from} "
                          "it said before: a stale mirror or a rollback may lack entries "
                          "published since")
        return self._db


def scan_modules(sources: list[ModuleSource], db: VulnDb,
                 reporter: Reporter) -> list[AuditResult]:
    """Match each module's requirements and imports against ``db``'s entries for them (read
    once for all the modules: a layout's versions share most requirements)."""
    from gopush.vuln.scan import scan

    reqs = [_requirements(source, reporter) for source in sources]
    entries = db.entries_for({r.module for rs in reqs for r in rs.modules})
    results = []
    for source, needs in zip(sources, reqs, strict=True):
        findings = tuple(scan(needs, source.imports, entries))
        reporter.detail(f"{source.module}@{source.version}: {len(needs.modules)} "
                        f"requirements, {len(source.imports)} imports, {len(findings)} "
                        f"findings ({len(entries)} entries read)")
        results.append(AuditResult(source.module, source.version, db.url, db.modified,
                                   findings, needs.go, needs.partial))
    return results


def _requirements(source: ModuleSource, reporter: Reporter) -> Requirements:
    from gopush.vuln.scan import requirements

    ref = f"{source.module}@{source.version}"
    if source.gomod is None:
        reporter.warn(f"{ref}: {source.note or 'no go.mod'}: no requirement is checked, "
                      "nor the standard library")
        return Requirements((), "", False)
    reqs = requirements(source.gomod)
    if not reqs.go:
        reporter.warn(f"{ref}: go.mod has no go line: the standard library is not checked")
    if reqs.partial:
        reporter.warn(f"{ref}: go.mod says go {reqs.go}: before go 1.17 go.mod need not list "
                      "every module the build uses, so the findings may be partial (`go mod "
                      "tidy -go=1.17` lists them all)")
    return reqs


# -- where the module comes from ------------------------------------------------------------


def _sources(request: AuditRequest, reporter: Reporter) -> list[ModuleSource]:
    target = request.target
    if target is not None and target.is_file():
        return [_zip_file_source(target)]
    if target is not None:
        from gopush.proxydir import layout_zips

        if zips := layout_zips(target):
            return [_zip_file_source(path) for path in zips]
    return [_checkout_source(request, reporter)]


def _zip_file_source(path: Path) -> ModuleSource:
    """Check a zip through the gate, then read its module's imports."""
    from gopush.modzip.accept import accept_zip

    try:
        accepted = accept_zip(path)
    except InvalidModuleZip as err:  # say which of the inputs
        err.message = f"{path}: {err.message}"
        raise
    return zip_source(path, accepted)


def _checkout_source(request: AuditRequest, reporter: Reporter) -> ModuleSource:
    """Locate the module at ``request.rev`` and read its own files as the zip holds them;
    warn when the working tree differs from HEAD (a `go get` not committed yet)."""
    from gopush.modzip.rules import check_files
    from gopush.sources.git import GitRepository
    from gopush.sources.module import locate
    from gopush.vuln.ownfiles import imports_of_files

    where = request.target or Path(".")
    try:
        repo = GitRepository.open(where)
    except NotARepository as err:  # the source layer's hint names `gopush build` options
        err.hint = ("run it in a git checkout of the module, or pass a module zip or the "
                    "--out directory of `gopush build`")
        raise
    located = locate(repo, request.rev, subdir=request.subdir, cwd=where)
    if request.rev == "HEAD" and (changed := repo.changed_paths(located.layout.dir)):
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5
                                           else "")
        reporter.warn(f"audited commit {located.commit.short}: uncommitted changes are not "
                      f"audited ({shown}); commit them, or audit a zip built with "
                      "`gopush build --worktree`")
    files = located.code.files(located.commit)
    kept = set(check_files(files).valid)
    imports = imports_of_files(f for f in files if f.path in kept)
    note = ("no go.mod" if located.go_mod is None else
            "" if located.parsed else f"go.mod cannot be read ({located.parse_error})")
    return ModuleSource(located.path, located.version, located.parsed, imports, note)


# -- the policy -----------------------------------------------------------------------------


def refusal(results: list[AuditResult], policy: AuditPolicy) -> Vulnerable | None:
    """Return the error that refuses ``results`` under ``policy`` (None when none is refused).

    The message names each refused finding and, per required module, the version that fixes
    all of them (``upgrade golang.org/x/net to v0.7.0 or later``); the error's data is the
    audit document, for ``--json``.
    """
    refused = [(r, f) for r in results for f in r.findings if policy.refuses(f)]
    if not refused:
        return None
    which = "in a package it imports" if policy.fail_on == "imported" else "in a requirement"
    refs = sorted({r.ref for r, _ in refused})
    ids = ", ".join(sorted({f"{f.id} ({f.module}@{f.version})" for _, f in refused}))
    advice = "; ".join(upgrade_advice([f for _, f in refused]))
    message = (f"{', '.join(refs)}: {len(refused)} known "
               f"{'vulnerability' if len(refused) == 1 else 'vulnerabilities'} {which}: "
               f"{ids}; {advice}")
    docs = [r.as_json() for r in results]
    data = docs[0] if len(docs) == 1 else {"modules": docs}
    return Vulnerable(message, data=data, hint=(
        "raise the requirement (`go get MODULE@VERSION`, then `go mod tidy`), commit and "
        "release a new version; `--allow GO-ID` accepts a finding you have judged harmless, "
        "`--fail-on any|never` changes which findings refuse"))


def upgrade_advice(findings: Iterable[Finding]) -> list[str]:
    """Return, per required module, what to upgrade it to so none of ``findings`` affects it:
    the highest of their first fixed versions, or that no release fixes one."""
    fixes: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        fixes.setdefault((finding.module, finding.version), []).append(finding)
    advice = []
    for (module, _), found in sorted(fixes.items()):
        unfixed = sorted(f.id for f in found if not f.fixed)
        if unfixed:
            advice.append(f"no release of {module} fixes {', '.join(unfixed)} yet: stop "
                          f"importing {', '.join(sorted({p for f in found for p in f.packages}))}"
                          " or --allow it")
            continue
        target = semver.max_version(f.fixed for f in found)
        if module in STDLIB:  # matched at the go line: the oldest Go that may build it
            advice.append(f"use Go {target.removeprefix('v')} or a later fixed release "
                          f"({module} is matched at the go line, {found[0].version})")
        else:
            advice.append(f"upgrade {module} to {target} or later")
    return advice


def _age(seconds: float) -> str:
    """Return a duration the way people say it: 40 s, 12 min, 5 h, 3 days."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"
