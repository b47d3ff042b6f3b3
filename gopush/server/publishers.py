"""Trusted publishers: which CI identities may push, declared in ``gopush serve --config FILE``.

A trusted publisher is Cloudsmith's OIDC service account: a CI job presents an ID token from
its platform (GitHub Actions, GitLab, ...) at ``POST /openid/{org}/`` with the publisher's
service slug, and gets back a short-lived push-only token (``server.oidc``,
``server.api_openid``). The file is TOML:

    [[trusted_publishers]]
    service = "ci-publisher"                  # the slug clients send (CLOUDSMITH_SERVICE_SLUG)
    issuer = "https://token.actions.githubusercontent.com"
    audience = "cloudsmith"                   # the token's aud (default: cloudsmith)
    repositories = ["acme/widgets"]           # where its tokens may push; one owner: the org
    token_minutes = 90                        # lifetime of the tokens it gets (1-1440)
    [trusted_publishers.claims]               # exact values (a list: any of them)
    repository = "acme/widgets"
    [trusted_publishers.claim_patterns]       # glob patterns (a list: any of them)
    ref = "refs/tags/v*"

The org of the exchange URL is the owner of the publisher's repositories (all share it).
Several publishers may share a service slug (one per issuer, e.g. GitHub and GitLab); the
token's ``iss`` picks among them. A publisher must require at least one claim: without one,
any workflow anywhere that the issuer signs for could push.

Patterns: ``*`` is any run of characters other than ``/``, ``**`` any run at all, ``?`` one
character other than ``/``; everything else stands for itself (as GitHub's branch filters
read them). A claim is compared only as text: a missing or non-text claim never matches.

This module reads the file and decides whether claims match (no I/O beyond the read).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gopush.errors import ConfigError
from gopush.server.slugs import is_slug, split_repo

DEFAULT_AUDIENCE = "cloudsmith"  # what cloudsmith-cli asks GitHub Actions for
DEFAULT_TOKEN_MINUTES = 90
MAX_TOKEN_MINUTES = 24 * 60
MAX_CONFIG_BYTES = 1 << 20
_KEYS = {"service", "issuer", "audience", "repositories", "token_minutes", "claims",
         "claim_patterns"}


@dataclass(frozen=True)
class ClaimRule:
    """One required claim: its name and the values (exact) or patterns (glob) it may take."""

    name: str
    allowed: tuple[str, ...]
    glob: bool = False
    _compiled: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False,
                                                   compare=False)

    def __post_init__(self) -> None:
        if self.glob:
            object.__setattr__(self, "_compiled", tuple(map(glob_regex, self.allowed)))

    def matches(self, value: object) -> bool:
        """Tell whether the claim's ``value`` is one of the allowed values or patterns."""
        if not isinstance(value, str):
            return False
        if self.glob:
            return any(p.fullmatch(value) for p in self._compiled)
        return value in self.allowed


def glob_regex(pattern: str) -> re.Pattern[str]:
    """Compile a claim pattern (see the module docstring) into an anchored regex."""
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(p, re.escape(p)) for p in parts), re.DOTALL)


@dataclass(frozen=True)
class TrustedPublisher:
    """One ``[[trusted_publishers]]`` entry; ``org`` is its repositories' owner."""

    service: str
    issuer: str
    audience: str
    org: str
    repositories: frozenset[str]  # OWNER/REPO
    token_minutes: int
    rules: tuple[ClaimRule, ...]

    @property
    def name(self) -> str:
        """``org/service``, how logs and messages name the publisher."""
        return f"{self.org}/{self.service}"

    def mismatch(self, claims: Mapping[str, Any]) -> str | None:
        """Return why ``claims`` fail this publisher's rules (the first rule failed, naming
        the claim and the value the token holds), or None when they all match."""
        for rule in self.rules:
            value = claims.get(rule.name)
            if value is None:
                return f"claim {rule.name} is missing from the token"
            if not rule.matches(value):
                kind = "patterns" if rule.glob else "values"
                return (f"claim {rule.name} does not match: the token says "
                        f"{_shown(value)}, the publisher allows the {kind} "
                        f"{', '.join(rule.allowed)}")
        return None


def _shown(value: object) -> str:
    """Show a claim's value in a message: quoted, one line, at most 200 characters."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii")
    return repr(text if len(text) <= 200 else text[:200] + "...")


@dataclass(frozen=True)
class Publishers:
    """The trusted publishers of a server (none: the exchange endpoint refuses everything)."""

    entries: tuple[TrustedPublisher, ...] = ()

    def for_service(self, org: str, service: str) -> list[TrustedPublisher]:
        """Return the publishers of ``org`` with service slug ``service``."""
        return [p for p in self.entries if (p.org, p.service) == (org, service)]

    def find(self, org: str, service: str, issuer: str) -> TrustedPublisher | None:
        """Return the publisher of ``org``/``service`` trusting ``issuer``, or None."""
        return next((p for p in self.for_service(org, service) if p.issuer == issuer), None)

    def issuers(self) -> set[str]:
        """Return every trusted issuer URL."""
        return {p.issuer for p in self.entries}


def load_publishers(path: Path) -> Publishers:
    """Read the trusted publishers of a ``--config`` file.

    Raises:
        ConfigError: the file cannot be read, is not TOML, or an entry is wrong (the
            message names the entry and the key).
    """
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_CONFIG_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"cannot read the serve config {path}: {err.strerror or err}") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path} is larger than {MAX_CONFIG_BYTES} bytes")
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path} is not TOML: {err}") from None
    unknown = set(doc) - {"trusted_publishers"}
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}",
                          hint="the serve config holds [[trusted_publishers]] entries")
    entries = doc.get("trusted_publishers", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: trusted_publishers must be an array of tables "
                          "([[trusted_publishers]])")
    publishers = tuple(_publisher(entry, f"{path}: trusted_publishers[{n}]")
                       for n, entry in enumerate(entries))
    _check_unique(publishers, path)
    return Publishers(publishers)


def _publisher(entry: object, where: str) -> TrustedPublisher:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} is not a table")
    unknown = set(entry) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}",
                          hint=f"the keys are {', '.join(sorted(_KEYS))}")
    service = _text(entry, "service", where)
    if not is_slug(service):
        raise ConfigError(f"{where}.service: {service!r} is not a slug (letters, digits, "
                          "'.', '-', '_')")
    repos = _repositories(entry.get("repositories"), where)
    rules = (*_rules(entry.get("claims", {}), where, "claims", glob=False),
             *_rules(entry.get("claim_patterns", {}), where, "claim_patterns", glob=True))
    if not rules:
        raise ConfigError(f"{where}: no required claim",
                          hint="add [trusted_publishers.claims] (e.g. repository = "
                               "\"OWNER/NAME\"): without one, any workflow the issuer signs "
                               "for could push")
    return TrustedPublisher(service=service, issuer=_issuer(entry, where),
                            audience=_text(entry, "audience", where, DEFAULT_AUDIENCE),
                            org=next(iter(repos)).split("/")[0], repositories=repos,
                            token_minutes=_minutes(entry.get("token_minutes"), where),
                            rules=rules)


def _text(entry: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = entry.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key} must be a non-empty string")
    return value


def _issuer(entry: dict[str, Any], where: str) -> str:
    """The issuer URL, exactly as tokens carry it in ``iss`` (https, no query or user)."""
    issuer = _text(entry, "issuer", where)
    parts = urlsplit(issuer)
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment \
            or "@" in parts.netloc:
        raise ConfigError(f"{where}.issuer: {issuer!r} is not an https:// issuer URL",
                          hint="e.g. https://token.actions.githubusercontent.com or "
                               "https://gitlab.com")
    return issuer


def _repositories(value: object, where: str) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where}.repositories must list at least one OWNER/REPO")
    names = set()
    for item in value:
        split = split_repo(item) if isinstance(item, str) else None
        if split is None:
            raise ConfigError(f"{where}.repositories: {item!r} is not OWNER/REPO")
        names.add("/".join(split))
    owners = {name.split("/")[0] for name in names}
    if len(owners) > 1:
        raise ConfigError(f"{where}.repositories: all must have one owner (the org of the "
                          f"exchange URL), not {', '.join(sorted(owners))}",
                          hint="declare one publisher per owner")
    return frozenset(names)


def _minutes(value: object, where: str) -> int:
    if value is None:
        return DEFAULT_TOKEN_MINUTES
    if isinstance(value, bool) or not isinstance(value, int) \
            or not 1 <= value <= MAX_TOKEN_MINUTES:
        raise ConfigError(f"{where}.token_minutes must be a whole number from 1 to "
                          f"{MAX_TOKEN_MINUTES}")
    return value


def _rules(table: object, where: str, key: str, *, glob: bool) -> list[ClaimRule]:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}.{key} must be a table of claim = value")
    rules = []
    for name, value in table.items():
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v for v in values):
            raise ConfigError(f"{where}.{key}.{name} must be a string or a list of strings")
        rules.append(ClaimRule(name, tuple(values), glob=glob))
    return rules


def _check_unique(publishers: tuple[TrustedPublisher, ...], path: Path) -> None:
    seen = set()
    for p in publishers:
        key = (p.org, p.service, p.issuer)
        if key in seen:
            raise ConfigError(f"{path}: two trusted publishers {p.name} for issuer {p.issuer}",
                              hint="one entry per org, service and issuer")
        seen.add(key)
