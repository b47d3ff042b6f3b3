"""Client of Cloudsmith's entitlements API (``gopush tokens``), as the official CLI calls it.

All calls are relative to the API host and go through the repository's ``Session`` (its
retries, deadline, key and redaction): ``GET /entitlements/{owner}/{repo}/`` (paged by
``page``/``page_size``, ``X-Pagination-PageTotal`` tells when to stop), ``POST`` there to
create (``name``, optional ``token``), ``PATCH {id}/`` to restrict, ``DELETE {id}/``, ``POST
{id}/refresh/``, ``{id}/enable/`` and ``{id}/disable/``. ``{id}`` is the entitlement's
``slug_perm``; ``find`` also takes its name.
"""

from __future__ import annotations

from typing import Any

from gopush.errors import RegistryError, RegistryUnavailable
from gopush.registry.base import Registry
from gopush.registry.http import Session

PAGE_SIZE = 100
MAX_PAGES = 100  # 10,000 entitlements: far above what a repository holds


class EntitlementsClient:
    """The entitlements of one repository ``owner/repo``."""

    def __init__(self, api: Session, owner: str, repo: str) -> None:
        self.api, self.owner, self.repo = api, owner, repo

    def _path(self, rest: str = "") -> str:
        return f"entitlements/{self.owner}/{self.repo}/" + (f"{rest}/" if rest else "")

    def _object(self, response: Any, what: str) -> dict[str, Any]:
        value = self.api.decode(response, what)
        if not isinstance(value, dict):
            raise RegistryUnavailable(f"{what}: the registry's reply is not a JSON object")
        return value

    def list(self) -> list[dict[str, Any]]:
        """Return every entitlement (all pages)."""
        found: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            what = "list the entitlement tokens"
            response = self.api.request("GET", self._path(), what=what,
                                        params={"page": str(page), "page_size": str(PAGE_SIZE)})
            items = self.api.decode(response, what)
            if not isinstance(items, list):
                raise RegistryUnavailable(f"{what}: the registry's reply is not a JSON list")
            found.extend(i for i in items if isinstance(i, dict))
            total = response.headers.get("x-pagination-pagetotal", "1")
            if not total.isdigit() or page >= int(total):
                break
        return found

    def find(self, wanted: str) -> dict[str, Any]:
        """Return the entitlement whose identifier (``slug_perm``) or name is ``wanted``.

        Raises:
            RegistryError: none is (exit 5), naming the ones there are.
        """
        listed = self.list()
        for key in ("slug_perm", "name"):
            for item in listed:
                if item.get(key) == wanted:
                    return item
        names = ", ".join(str(i.get("name")) for i in listed[:20]) or "none"
        raise RegistryError(f"{self.owner}/{self.repo} has no entitlement token named or "
                            f"identified {wanted!r}", status=404,
                            hint=f"its tokens: {names} (gopush tokens list "
                                 f"{self.owner}/{self.repo})")

    def create(self, name: str, token: str | None = None) -> dict[str, Any]:
        """Create an entitlement; the reply holds its token (shown this once)."""
        body = {"name": name, **({"token": token} if token else {})}
        what = f"create the entitlement token {name!r}"
        return self._object(self.api.request("POST", self._path(), what=what, json_body=body),
                            what)

    def restrict(self, ident: str, limits: dict[str, Any]) -> dict[str, Any]:
        """Set restrictions (``limit_*`` fields; None lifts one); return the entitlement."""
        what = "restrict the entitlement token"
        return self._object(self.api.request("PATCH", self._path(ident), what=what,
                                             json_body=limits), what)

    def refresh(self, ident: str) -> dict[str, Any]:
        """Give the entitlement a new token; the reply holds it (shown this once)."""
        what = "refresh the entitlement token"
        return self._object(self.api.request("POST", self._path(f"{ident}/refresh"),
                                             what=what), what)

    def delete(self, ident: str) -> None:
        """Delete the entitlement (its token stops working)."""
        self.api.request("DELETE", self._path(ident), what="delete the entitlement token")

    def set_active(self, ident: str, active: bool) -> None:
        """Enable or disable the entitlement."""
        action = "enable" if active else "disable"
        self.api.request("POST", self._path(f"{ident}/{action}"),
                         what=f"{action} the entitlement token")


def entitlements_of(registry: Registry) -> EntitlementsClient:
    """Return the entitlements client of a Cloudsmith-style registry.

    Raises:
        RegistryError: the target is not one (a directory, Gitea, Artifactory).
    """
    from gopush.registry.cloudsmith import cloudsmith_repository

    repository = cloudsmith_repository(registry, "entitlement tokens")
    return EntitlementsClient(repository.api, repository.owner, repository.repo)
