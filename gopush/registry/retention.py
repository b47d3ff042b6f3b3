"""Client of a repository's retention rules (``gopush retention``).

``GET`` and ``PATCH /repos/{owner}/{repo}/retention/`` are Cloudsmith's API (the fields
``retention_enabled``, ``retention_count_limit``, ...); ``POST .../retention/dry-run/`` and
``.../retention/apply/`` are ``gopush serve``'s (Cloudsmith has no dry run: there they
answer 404, which is reported as such). All calls go through the repository's ``Session``.
"""

from __future__ import annotations

from typing import Any

from gopush.errors import RegistryUnavailable
from gopush.registry.base import Registry
from gopush.registry.http import Session


class RetentionClient:
    """The retention rules of one repository ``owner/repo``."""

    def __init__(self, api: Session, owner: str, repo: str) -> None:
        self.api, self.owner, self.repo = api, owner, repo

    def _call(self, method: str, rest: str, what: str,
              body: dict[str, Any] | None = None) -> dict[str, Any]:
        path = f"repos/{self.owner}/{self.repo}/retention/" + (f"{rest}/" if rest else "")
        value = self.api.decode(self.api.request(method, path, what=what, json_body=body), what)
        if not isinstance(value, dict):
            raise RegistryUnavailable(f"{what}: the registry's reply is not a JSON object")
        return value

    def read(self) -> dict[str, Any]:
        """Return the rules (``retention_*`` fields)."""
        return self._call("GET", "", "read the retention rules")

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change the fields given; return the rules."""
        return self._call("PATCH", "", "change the retention rules", changes)

    def dry_run(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Return what the rules, with ``changes`` (not saved), would remove now."""
        return self._call("POST", "dry-run", "list what the retention rules would remove",
                          changes)

    def apply(self) -> dict[str, Any]:
        """Apply the stored rules to every group now; return what they removed."""
        return self._call("POST", "apply", "apply the retention rules", {})


def retention_of(registry: Registry) -> RetentionClient:
    """Return the retention client of a Cloudsmith-style registry.

    Raises:
        RegistryError: the target is not one (a directory, Gitea, Artifactory).
    """
    from gopush.registry.cloudsmith import cloudsmith_repository

    repository = cloudsmith_repository(registry, "retention rules")
    return RetentionClient(repository.api, repository.owner, repository.repo)
