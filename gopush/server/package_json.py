"""JSON shapes of packages and their sync status, as cloudsmith-api.md §5.5 and §5.6 give them.

A package is queued by ``upload/go``, syncing while ``server.sync`` checks its zip, then
completed (its module version is served) or failed (``status_reason`` says why; a failure
resyncing cannot fix contains "package should be deleted", so the official CLI stops retrying).
"""

from __future__ import annotations

from typing import Any

from gopush.server.records import Package
from gopush.server.tags import tags_json

_STATES: dict[str, dict[str, Any]] = {
    "queued": {"status": 1, "status_str": "Awaiting Synchronisation", "stage": 0,
               "stage_str": "Unknown", "sync_progress": 0, "is_sync_awaiting": True,
               "is_sync_in_flight": True, "is_sync_completed": False, "is_sync_failed": False},
    "syncing": {"status": 2, "status_str": "Sync In Progress", "stage": 3,
                "stage_str": "Processing Package", "sync_progress": 50,
                "is_sync_in_progress": True, "is_sync_in_flight": True,
                "is_sync_completed": False, "is_sync_failed": False},
    "completed": {"status": 4, "status_str": "Completed", "stage": 9,
                  "stage_str": "Fully Synchronised", "sync_progress": 100,
                  "is_sync_completed": True, "is_sync_failed": False},
    "failed": {"status": 5, "status_str": "Sync Failed", "stage": 3,
               "stage_str": "Validating Package", "sync_progress": 0,
               "is_sync_completed": False, "is_sync_failed": True},
}
_FLAGS = {"is_sync_awaiting": False, "is_sync_in_progress": False, "is_sync_in_flight": False}


def _state(package: Package) -> dict[str, Any]:
    return _STATES.get(package.state, _STATES["failed"])


def status_json(package: Package, base: str) -> dict[str, Any]:
    """Return the ``/status/`` object of a package."""
    state = _state(package)
    return {**_FLAGS, **state, "status_reason": package.reason,
            "status_updated_at": package.updated_at, "stage_updated_at": package.updated_at,
            "sync_finished_at": package.updated_at if package.state in ("completed", "failed")
            else None,
            "self_url": _package_url(package, base) + "status/",
            "is_deleteable": True, "is_resyncable": package.state == "failed",
            "is_copyable": False, "is_moveable": False, "is_quarantinable": False}


def search_fields(package: Package) -> dict[str, Any]:
    """Return the fields of the package object a query can test (``server.query``), as the
    object has them, without building the object: a list builds only the page it answers."""
    return {"name": package.module, "version": package.version, "format": "go",
            "filename": package.filename, "checksum_sha256": package.blob_sha256,
            "tags": tags_json(package.tags), "status_str": _state(package)["status_str"],
            "uploaded_at": package.uploaded_at, "size": package.size}


def version_search_fields(module: str, version: str) -> dict[str, Any]:
    """Return the search fields of a version no package published (fetched from an
    upstream): what ``search_fields`` would give for it, without tags."""
    return {"name": module, "version": version, "format": "go",
            "filename": f"{version}.zip", "checksum_sha256": None, "tags": {},
            "status_str": _STATES["completed"]["status_str"]}


def package_json(package: Package, base: str) -> dict[str, Any]:
    """Return the package object (``upload/go`` reply, ``list`` items, ``read``)."""
    url = _package_url(package, base)
    return {
        "slug": package.slug, "slug_perm": package.slug_perm,
        "identifier_perm": package.slug_perm, **search_fields(package),
        "tags_immutable": tags_json(package.tags_immutable),
        "package_type": 1,
        "checksum_md5": package.md5,
        "summary": package.sum, "description": None,
        "namespace": package.owner, "repository": package.name,
        "self_url": url, "status_url": url + "status/",
        **{k: v for k, v in status_json(package, base).items()
           if k in ("status", "status_str", "stage", "stage_str", "sync_progress",
                    "status_reason", "is_sync_awaiting", "is_sync_in_progress",
                    "is_sync_in_flight", "is_sync_completed", "is_sync_failed")},
    }


def _package_url(package: Package, base: str) -> str:
    return f"{base}/packages/{package.owner}/{package.name}/{package.slug}/"

