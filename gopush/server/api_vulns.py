"""A package's vulnerability scan, where Cloudsmith serves it, for ``cloudsmith vulnerabilities``.

The official CLI (cloudsmith-cli 1.30, through cloudsmith-api 2.0's ``VulnerabilitiesApi``)
makes two calls for ``cloudsmith vulnerabilities OWNER/REPO/PACKAGE``:

1. ``GET /vulnerabilities/{owner}/{repo}/{package}/?page=&page_size=``: a JSON list of
   ``VulnerabilityScanResultsList`` (``identifier``, ``scan_id``, ``created_at``,
   ``package`` {``identifier``, ``name``, ``version``, ``url``}, ``has_vulnerabilities``,
   ``num_vulnerabilities``, ``max_severity``); it reads the first item's ``identifier``
   (an empty list is an IndexError in the CLI, so "no scan" is a 404 with the reason);
2. ``GET /vulnerabilities/{owner}/{repo}/{package}/{identifier}/``: one
   ``VulnerabilityScanResults``: the same fields plus ``scans``, a list of {``target``,
   ``type``, ``results``}, each result a ``Vulnerability``.

The client validates what it reads (``client_side_validation``), so these bounds are kept:
``vulnerability_id`` 1-13 characters (a GO id is 12), ``package_name`` 1-128, ``title``
1-512, ``description`` 1-1028, ``severity_source`` 1-128; ``severity`` and ``max_severity``
one of Unknown, Low, Medium, High, Critical (``severity`` must be present: the CLI lowercases
it); ``affected_version`` and ``fixed_version`` objects with integer ``major``, ``minor``,
``patch`` (plus ``version``, ``operator``). The Go vulnerability database publishes no
severity, so every result is "Unknown" and ``severity_source`` says so; whether the module
imports an affected package is in the title ("imported" / "required only") and in the
extra fields ``imported``, ``packages``, ``aliases`` and ``fixed`` (the CLI ignores fields
its models do not name; ``-F json`` prints only what the models hold).

Who may read: an API key or a push token of the repository, as for every API call
(``state.api_repo``: 401 without one,
whether the repository is public, private or unknown; 404 for an unknown repository or
package). Each request reads one package and one scan; a list page is at most one item.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gopush.gosem import semver
from gopush.server.api_packages import paging
from gopush.server.auth import Action
from gopush.server.records import Package
from gopush.server.redaction import redacted
from gopush.server.responses import ApiError, not_found
from gopush.server.state import api_repo, base_url, state
from gopush.server.vulnstore import Scan
from gopush.vuln.scan import Finding

SEVERITY = "Unknown"  # the Go vulnerability database publishes no severity
SEVERITY_SOURCE = "Go vulnerability database (it publishes no severity)"
TARGET, TYPE = "go.mod", "gomod"


async def list_scans(request: Request) -> Response:
    """``GET /vulnerabilities/{owner}/{repo}/{package}/``: the package's scans (one)."""
    package, scan = _package_scan(request)
    page, size = paging(request)
    if page > 1:
        raise ApiError(404, "Invalid page.")
    headers = {"X-Pagination-Count": "1", "X-Pagination-Page": "1",
               "X-Pagination-PageSize": str(size), "X-Pagination-PageTotal": "1"}
    return JSONResponse([_summary(request, package, scan)], headers=headers)


async def read_scan(request: Request) -> Response:
    """``GET /vulnerabilities/{owner}/{repo}/{package}/{identifier}/``: one scan's results."""
    package, scan = _package_scan(request)
    if request.path_params["identifier"] != scan.identifier:
        raise ApiError(404, f"Not found: this package's scan is now {scan.identifier}.")
    findings = scan.finding_list()
    doc = {**_summary(request, package, scan),
           "scans": [{"target": TARGET, "type": TYPE,
                      "results": [_result(f) for f in findings]}]}
    return JSONResponse(doc)


def _package_scan(request: Request) -> tuple[Package, Scan]:
    """Return the package the path names and its scan.

    Raises:
        ApiError: 401 without a key; 404 for an unknown repository or package, and, with
            the reason, for a package that has no scan.
    """
    repo = api_repo(request, Action.READ)
    st = state(request)
    package = st.storage.package(repo, request.path_params["pkg"])
    if package is None:
        raise not_found()
    if not st.settings.vuln.enabled:
        raise ApiError(404, "This server does not scan packages for vulnerabilities (start "
                            "gopush serve with --vuln-db URL).")
    if package.state != "completed" or not (package.module and package.version and package.sum):
        raise ApiError(404, f"This package is not published (it is {package.state}): only "
                            "published packages are scanned.")
    scan = st.vulns.scan(repo.owner, repo.name, package.module, package.version, package.sum)
    if scan is None:
        raise ApiError(404, "This package has not been scanned yet: it is scanned at the "
                            "next check of the vulnerability database (--vuln-refresh).")
    return package, scan


def _summary(request: Request, package: Package, scan: Scan) -> dict[str, Any]:
    """Return the fields of a scan the list and the read share (plus our status fields)."""
    url = f"{base_url(request)}/packages/{package.owner}/{package.name}/{package.slug}/"
    doc: dict[str, Any] = {
        "identifier": scan.identifier, "scan_id": scan.scan_id, "created_at": scan.scanned_at,
        "package": {"identifier": package.slug_perm, "name": package.module,
                    "version": package.version, "url": url},
        "has_vulnerabilities": scan.total > 0, "num_vulnerabilities": scan.total,
        # ours (the CLI's models ignore them): whether it was scanned, and against what
        "status": scan.state, "status_reason": scan.reason,
        "num_imported": scan.imported,
        "database": {"url": redacted(state(request).settings.vuln.db_url),
                     "modified": scan.db_modified},
    }
    if scan.total:
        doc["max_severity"] = SEVERITY
    return doc


def _result(finding: Finding) -> dict[str, Any]:
    """Return one finding as a ``Vulnerability``, within the client's bounds."""
    how = "imported" if finding.imported else "required only"
    packages = ", ".join(finding.packages) or finding.module
    aliases = f" ({', '.join(finding.aliases)})" if finding.aliases else ""
    fixed = f"fixed in {finding.fixed}" if finding.fixed else "no fixed version"
    description = (f"{finding.id}{aliases}: {finding.summary} Affected packages: {packages}; "
                   f"{'imported by' if finding.imported else 'not imported by'} this "
                   f"module; {finding.module}@{finding.version}, {fixed}.")
    return {
        "vulnerability_id": finding.id[:13],
        "package_name": _clip(finding.module, 128),
        "title": _clip(f"({how}) {finding.summary or finding.id}", 512),  # [..] is markup
        "description": _clip(description, 1028),
        "severity": SEVERITY, "severity_source": SEVERITY_SOURCE,
        "references": [f"https://pkg.go.dev/vuln/{finding.id}"],
        "affected_version": _version(finding.version, "="),
        "fixed_version": _version(finding.fixed, ">="),
        # ours: what the Go database says and the scan found, unabridged
        "aliases": list(finding.aliases), "imported": finding.imported,
        "packages": list(finding.packages), "fixed": finding.fixed,
    }


def _version(version: str, operator: str) -> dict[str, Any]:
    """Return a ``VulnerabilityScanVersion`` (integers from the semver; "none" for none)."""
    if not version:
        return {"version": "none", "operator": "", "major": 0, "minor": 0, "patch": 0,
                "raw_version": ""}
    core = semver.canonical(version).lstrip("v").split("-")[0].split("+")[0].split(".")
    numbers = [int(part) if part.isdigit() else 0 for part in (core + ["0", "0", "0"])[:3]]
    return {"version": version, "operator": operator, "major": numbers[0],
            "minor": numbers[1], "patch": numbers[2], "raw_version": version}


def _clip(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters (with an ellipsis), never empty."""
    text = text or "-"
    return text if len(text) <= limit else text[:limit - 1] + "…"
