"""``gopush push``: check module zips locally, then publish each one idempotently.

For every zip: check it with the same checker as ``gopush check`` (module and version come
from the zip), hashing it in the same read (``gopush.actions.artifact``: h1: for go, MD5 for
the upload, SHA-256 to compare with the registry); ask the registry what it holds for
module@version; identical content is success ("already published, identical") and different
content is refused with the checksum mismatch consumers would meet, unless ``republish`` was
asked; then validate, upload, and wait until consumers can fetch it. Ctrl-C raises
``Interrupted`` saying what state the registry is in.

With ``--audit`` (``request.audit``), every zip is audited against the Go vulnerability
database (``gopush.actions.audit``, the same audit as ``gopush audit``) once all are checked,
and a finding the policy refuses stops the push before anything is sent (exit 7); the
results carry the findings.

Inputs are zips, GOPROXY layout directories (as ``gopush build`` writes), glob patterns of
either, or nothing: then the module of the current checkout is built first, through
``gopush.actions.build``, into a temporary directory removed when the push ends.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from gopush.actions.artifact import load_artifact
from gopush.errors import (
    GopushError,
    Interrupted,
    InvalidModule,
    NotARepository,
    UsageError,
    VersionExists,
)
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.base import Existing, Published, Registry
from gopush.ui.base import Reporter

if TYPE_CHECKING:  # imported by --audit only: a push without it does not load the scanner
    from gopush.actions.audit import AuditPolicy, AuditResult
    from gopush.vuln.scan import Finding


class PushRequest(NamedTuple):
    """What to push and how; fields mirror the ``gopush push`` options."""

    inputs: tuple[Path, ...] = ()
    republish: bool = False
    dry_run: bool = False
    wait: bool = True
    timeout: float = 600.0
    rev: str = "HEAD"  # with no inputs: the revision of the checkout to build
    subdir: str | None = None  # with no inputs: the module's directory in the repository
    audit: AuditPolicy | None = None  # audit every zip before sending any


class PushResult(NamedTuple):
    """The outcome for one module version (the JSON document's fields)."""

    module: str
    version: str
    sum: str
    status: str  # published, republished, identical, uploaded (not yet synced), dry-run
    package: str | None
    goproxy: str
    zip: str | None  # None when built from the checkout for this push only
    size: int
    seconds: float = 0.0
    audit: AuditResult | None = None  # with --audit

    def as_json(self) -> dict[str, Any]:
        """Return the fields for the JSON document (``audit``: the database and the
        findings, as ``gopush audit --json`` gives them, with --audit)."""
        doc: dict[str, Any] = {
            "module": self.module, "version": self.version, "sum": self.sum,
            "status": self.status, "package": self.package, "goproxy": self.goproxy,
            "zip": self.zip, "size": self.size, "seconds": round(self.seconds, 3)}
        if self.audit is not None:
            audited = self.audit.as_json()
            doc["audit"] = {"db": audited["db"], "findings": audited["findings"]}
        return doc


def push(request: PushRequest, registry: Registry, reporter: Reporter) -> list[PushResult]:
    """Publish every module zip ``request`` names to ``registry``, in order.

    Raises:
        InvalidModule: a zip fails the local checks (nothing is sent for any zip then).
        VersionExists: the registry holds different content for a version (no --republish).
        AuthError, RegistryError, RegistryUnavailable: the registry refused or failed.
        Interrupted: Ctrl-C; the message says what was left where.
    """
    stage = _Stage("checking the module zips locally (nothing sent yet)")
    if not request.inputs:  # the zip built from the checkout lives only as long as the push
        import tempfile

        with tempfile.TemporaryDirectory(prefix="gopush-push-") as built_into:
            results = _push(request, registry, reporter, stage, Path(built_into))
        return [r._replace(zip=None) for r in results]  # that zip is gone now
    return _push(request, registry, reporter, stage, None)


def _push(request: PushRequest, registry: Registry, reporter: Reporter, stage: _Stage,
          built_into: Path | None) -> list[PushResult]:
    """Do the work of `push`; with no inputs, build the checkout into ``built_into``."""
    try:
        with stage.during("building the checkout's module (nothing sent yet)"
                          if built_into else "finding the module zips (nothing sent yet)"):
            zips = _zips(request, reporter, built_into)
        with stage.during("checking the module zips locally (nothing sent yet)"):
            artifacts = [load_artifact(path, reporter) for path in zips]
        audited = _audit(artifacts, request.audit, reporter, stage) if request.audit else {}
        # every zip is sent before any wait: the registry processes the packages while the
        # later ones upload, so a release of N modules waits about as long as its slowest
        sent = [_send_one(a, request, registry, reporter, stage) for a in artifacts]
        results = [_settle(item, registry, reporter, stage, request.timeout) for item in sent]
        return [r._replace(audit=audited.get((r.module, r.version))) for r in results]
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while {stage.now}{stage.others_note('; ')}",
                          data=stage.data()) from None
    except GopushError as err:
        if stage.artifact is not None:  # say which module failed, in JSON too
            err.data = {**stage.data("failed"), "sum": stage.artifact.sum, **err.data}
            if note := stage.others_note():
                err.hint = (f"{err.hint}; " if err.hint else "") + note
        raise


def _audit(artifacts: list[ModuleArtifact], policy: AuditPolicy, reporter: Reporter,
           stage: _Stage) -> dict[tuple[str, str], AuditResult]:
    """Audit every zip (``push --audit``) before anything is sent; return the results by
    (module, version).

    Raises:
        Vulnerable: a finding the policy refuses, in any zip (nothing is sent for any zip).
        VulnDbError: the database cannot be read and nothing is cached.
    """
    from gopush.actions.audit import audit_zips, refusal

    with stage.during("auditing the module zips against the vulnerability database "
                      "(nothing sent yet)"):
        results = audit_zips([(a.zip_path, a.accepted) for a in artifacts], policy, reporter)
    refused = refusal(results, policy)
    if refused is not None:
        refused.data = {"status": "refused", **refused.data}
        refused.hint = f"nothing was sent; `gopush audit` lists every finding; {refused.hint}"
        raise refused
    for result in results:
        for finding in result.findings:  # allowed, or not in an imported package
            reporter.warn(f"{result.ref} requires {finding.module}@{finding.version}: "
                          f"{finding.id} ({'imported' if finding.imported else 'not imported'}"
                          f"{', allowed' if _allowed(finding, policy) else ''}"
                          + (f"; fixed in {finding.fixed}" if finding.fixed else "") + ")")
        reporter.step(f"audited {result.ref}: {len(result.findings)} known vulnerabilities, "
                      "none refused")
    return {(r.module, r.version): r for r in results}


def _allowed(finding: Finding, policy: AuditPolicy) -> bool:
    return finding.id in policy.allow or bool(policy.allow.intersection(finding.aliases))


def _zips(request: PushRequest, reporter: Reporter, built_into: Path | None) -> list[Path]:
    """Return the zips to push: the given files, zips under given directories, or a build
    of the checkout written under ``built_into``."""
    if built_into is not None:
        return [_build_checkout(request, reporter, built_into)]
    found: list[Path] = []
    for item in (path for given in request.inputs for path in _expand(given)):
        if item.is_dir():
            from gopush.proxydir import layout_zips  # not at start-up: it needs semver

            inside = layout_zips(item)
            if not inside:
                raise InvalidModule(f"{item} holds no GOPROXY layout (<module>/@v/<version>.zip)",
                                    hint="pass module zips, or the --out directory of "
                                         "`gopush build`")
            found += inside
        elif item.is_file():
            found.append(item)
        elif item.exists():
            raise UsageError(f"{item}: not a regular file or directory",
                             hint="pass module zips, or the --out directory of `gopush build`")
        else:
            raise UsageError(f"{item}: no such file or directory")
    return found


def _expand(given: Path) -> list[Path]:
    """Return the paths a glob pattern such as ``dist/**/*.zip`` matches (sorted), or
    ``[given]`` itself when it exists or holds no pattern.

    A shell leaves a pattern that matches nothing as typed, and bash matches ``**`` like
    ``*`` unless globstar is on (GitHub Actions' default shell): gopush expands the pattern
    itself, as twine does, so ``dist/**/*.zip`` finds a GOPROXY layout's zips either way.
    """
    text = str(given)
    if given.exists() or not any(c in text for c in "*?["):
        return [given]
    import glob

    matched = sorted(glob.glob(text, recursive=True))
    if not matched:
        raise UsageError(f"{text}: no file matches this pattern",
                            hint="check the path; gopush build writes <module>/@v/<version>.zip "
                                 "under its --out directory")
    return [Path(m) for m in matched]


def _build_checkout(request: PushRequest, reporter: Reporter, out: Path) -> Path:
    from gopush.actions.build import BuildRequest, build

    try:
        built = build(BuildRequest(rev=request.rev, subdir=request.subdir, out=out), reporter)
    except NotARepository as err:  # the source layer's hint names `gopush build` options
        err.hint = ("with no ZIP, gopush push builds the git checkout it runs in: run it "
                    "there, or pass module zips or the --out directory of `gopush build`")
        raise
    reporter.step(f"built {built.module}@{built.version} from the checkout ({built.sum})")
    return built.zip_path


class _Sent(NamedTuple):
    """A package uploaded and accepted by the registry, not yet processed by it."""

    artifact: ModuleArtifact
    published: Published
    status: str  # what it becomes once processed: published or republished
    goproxy: str
    started: float


def _send_one(artifact: ModuleArtifact, request: PushRequest, registry: Registry,
              reporter: Reporter, stage: _Stage) -> PushResult | _Sent:
    """Decide what to do with one zip and do it, up to the upload: return the final result,
    or what was sent when the registry still has to process it (and --wait is on)."""
    started = time.monotonic()
    setup = registry.consumer_setup()
    stage.artifact = artifact
    with stage.during(f"asking {registry.describe()} whether {artifact.ref} exists "
                      "(nothing sent yet)"):
        existing = registry.lookup(artifact)
    republish = False
    if existing is not None and existing.state == "failed":
        # consumers never got it, so replacing it cannot break a go.sum: no --republish needed
        republish = True
        reporter.warn(f"{artifact.ref} exists as package {existing.package}, which the "
                      "registry failed to process (never served); replacing it")
    elif existing is not None:
        if _identical(existing, artifact) and existing.state == "syncing":
            # an earlier push (--no-wait, or a parallel job) uploaded it: consumers cannot
            # fetch it yet, so wait for it as for a package of our own
            reporter.step(f"{artifact.ref} is already uploaded, identical, and still being "
                          f"processed as package {existing.package}")
            if request.wait and not request.dry_run:
                stage.sent.append(artifact.ref)
                return _Sent(artifact, Published(existing.package, synced=False), "identical",
                             setup.goproxy, started)
            return _result(artifact, "identical", existing.package, setup.goproxy, started)
        if _identical(existing, artifact):
            reporter.step(f"{artifact.ref} is already published, identical ({artifact.sum})")
            return _result(artifact, "identical", existing.package, setup.goproxy, started)
        if not request.republish:
            raise _mismatch(artifact, existing, registry)
        republish = True
        reporter.warn(f"{artifact.ref} exists with other content; replacing it (--republish): "
                      "consumers who fetched the old one will get checksum mismatches")
    with stage.during(f"validating {artifact.ref} with the registry (nothing uploaded)"):
        registry.validate(artifact, republish=republish)
        reporter.step(f"validated {artifact.ref} with {registry.describe()}")
    if request.dry_run:
        return _result(artifact, "dry-run", existing.package if existing else None,
                       setup.goproxy, started)
    published = _upload(artifact, registry, reporter, stage, republish)
    # replacing a package that was never served publishes the version for the first time
    replaced_failed = existing is not None and existing.state == "failed"
    status = "republished" if republish and not replaced_failed else "published"
    if published.synced is not False:
        return _result(artifact, status, published.package, setup.goproxy, started)
    if not request.wait:
        return _result(artifact, "uploaded", published.package, setup.goproxy, started)
    stage.sent.append(artifact.ref)
    return _Sent(artifact, published, status, setup.goproxy, started)


def _settle(item: PushResult | _Sent, registry: Registry, reporter: Reporter, stage: _Stage,
            timeout: float) -> PushResult:
    """Wait, ``timeout`` seconds at most, for a sent package to be processed; return its result.

    Raises:
        RegistryError, RegistryUnavailable: processing failed or outlasted ``timeout``.
    """
    if isinstance(item, PushResult):
        return item
    stage.artifact, stage.package = item.artifact, item.published.package
    published = _wait(item.published, registry, reporter, timeout, stage)
    stage.sent.remove(item.artifact.ref)
    return _result(item.artifact, item.status, published.package, item.goproxy, item.started)


def _upload(artifact: ModuleArtifact, registry: Registry, reporter: Reporter, stage: _Stage,
            republish: bool) -> Published:
    progress = reporter.progress(f"upload {artifact.filename}", artifact.size)
    try:
        with stage.during(f"uploading {artifact.ref}: the registry has no new package (an "
                          "unfinished upload is discarded); run the same command again"):
            published = registry.publish(artifact, republish=republish,
                                         on_progress=progress.advance)
    finally:
        progress.close()
    where = f" as package {published.package}" if published.package else ""
    reporter.step(f"uploaded {artifact.ref} ({artifact.size} bytes){where}")
    stage.package = published.package
    return published


def _wait(published: Published, registry: Registry, reporter: Reporter, timeout: float,
          stage: _Stage) -> Published:
    progress = reporter.progress(f"sync {published.package}", 100, unit="percent")
    seen = [0]

    def on_status(message: str, percent: int | None) -> None:
        reporter.detail(f"sync {published.package}: {message}"
                        + (f" ({percent}%)" if percent is not None else ""))
        if percent is not None and percent > seen[0]:
            progress.advance(percent - seen[0])
            seen[0] = percent

    try:
        with stage.during(f"waiting for the registry to process package {published.package}: "
                          "the upload is complete and processing continues without us"):
            done = registry.wait(published, timeout=timeout, on_status=on_status)
    finally:
        progress.close()
    reporter.step(f"package {published.package} is synchronised")
    return done


def _identical(existing: Existing, artifact: ModuleArtifact) -> bool:
    if existing.sum is not None:
        return existing.sum == artifact.sum
    return existing.sha256 == artifact.sha256


def _mismatch(artifact: ModuleArtifact, existing: Existing, registry: Registry) -> VersionExists:
    if existing.sum is not None:
        what = f"the registry serves {existing.sum}, this zip is {artifact.sum}"
    else:
        what = (f"the stored zip has SHA-256 {existing.sha256} ({existing.state}), this zip "
                f"has {artifact.sha256}")
    return VersionExists(
        f"{artifact.ref} is already published in {registry.describe()} with different "
        f"content: {what}",
        hint=(f"anyone whose go.sum (or checksum database) recorded the published hash would "
              f"get `verifying {artifact.ref}: checksum mismatch` (SECURITY ERROR) if it "
              "changed; publish a new version instead, or pass --republish only if no one "
              f"can have fetched it. `gopush verify` shows which files differ"),
        data={"module": artifact.module, "version": artifact.version, "sum": artifact.sum,
              "published_sum": existing.sum, "package": existing.package,
              "status": "refused"})


def _result(artifact: ModuleArtifact, status: str, package: str | None, goproxy: str,
            started: float) -> PushResult:
    return PushResult(module=artifact.module, version=artifact.version, sum=artifact.sum,
                      status=status, package=package, goproxy=goproxy,
                      zip=str(artifact.zip_path), size=artifact.size,
                      seconds=time.monotonic() - started)


class _Stage:
    """Remembers what push is doing, so an interruption can say what state things are in."""

    def __init__(self, now: str) -> None:
        self.now = now
        self.artifact: ModuleArtifact | None = None
        self.package: str | None = None
        self.sent: list[str] = []  # module@version uploaded, not yet seen processed

    @contextmanager
    def during(self, description: str) -> Iterator[None]:
        self.now = description
        yield

    def data(self, status: str = "interrupted") -> dict[str, Any]:
        art = self.artifact
        data: dict[str, Any] = {"module": art.module if art else None,
                                "version": art.version if art else None,
                                "package": self.package, "status": status}
        if others := self.others():
            data["also_sent"] = others
        return data

    def others(self) -> list[str]:
        """Return the other module versions of this run uploaded and still in processing."""
        return [ref for ref in self.sent if self.artifact is None or ref != self.artifact.ref]

    def others_note(self, prefix: str = "") -> str:
        """Return a sentence naming ``others()``, after ``prefix``; "" when there are none."""
        others = self.others()
        if not others:
            return ""
        return (f"{prefix}also uploaded in this run, and processed by the registry without "
                f"us: {', '.join(others)}")

