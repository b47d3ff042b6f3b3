"""API keys: the ``Secret`` type, the one redaction (``redact``), and what follows the
precedence table for credentials.

Precedence (first hit wins), the same for every registry; 1 to 4 are the ``api_key`` row of
``gopush.config.precedence``, 5 to 7 come after it here and in the CLI:

1. ``--api-key`` on the command line;
2. ``GOPUSH_API_KEY``;
3. ``CLOUDSMITH_API_KEY`` (the official Cloudsmith CLI's variable);
4. a config file: gopush's own ``config.toml`` (``api_key`` of the chosen registry or of
   ``[default]``), then the official CLI's ``credentials.ini`` (``[profile:NAME]`` over
   ``[default]``);
5. the system keyring, when the ``keyring`` package is installed (service ``gopush``, user =
   the API host), unless ``GOPUSH_NO_KEYRING`` is set;
6. keyless (OIDC), when an org and a service are set (the ``oidc_org`` and ``oidc_service``
   rows: flags, ``GOPUSH_OIDC_*`` or the official CLI's ``CLOUDSMITH_ORG``/
   ``CLOUDSMITH_SERVICE_SLUG``, config.toml): the CI's ID token (``resolve_id_token``) is exchanged by the CLI, through
   ``gopush.registry.oidc``, for a short-lived key that serves every request of the run;
7. an interactive prompt, decided by the CLI and only when stdin is a terminal and ``CI`` is
   not set. Otherwise a missing key is a ``ConfigError`` naming the variable to set.

The CI's ID token (``resolve_id_token``): the ``oidc_token`` row, ``GOPUSH_OIDC_TOKEN`` >
``CLOUDSMITH_OIDC_TOKEN`` (GitLab's ``id_tokens:``, or any CI that puts one there; no flag
and no file: a token lives minutes) > GitHub Actions' request endpoint
(``ACTIONS_ID_TOKEN_REQUEST_URL`` with the bearer ``ACTIONS_ID_TOKEN_REQUEST_TOKEN``, set
for a job with ``permissions: id-token: write``), asked with ``&audience=`` as the official
CLI asks (the ``oidc_audience`` row; default ``cloudsmith``).

A key is wrapped in ``Secret`` as soon as it is read: ``str()``/``repr()`` give ``***`` and the
value is only available through ``reveal()``, which only ``gopush.registry.http`` (request
headers), ``gopush.registry.oidc`` (the ID token in the exchange's body) and
``gopush.registry.goauth`` (the headers ``gopush goauth`` hands the go command on its stdout)
call, besides the CLI's ``App.hide`` (which masks it in everything printed).

Read token (``read_token``: an entitlement token that reads a repository through GOPROXY,
sent as Basic ``token:<TOKEN>``; used by ``gopush goauth``, and by ``gopush verify`` when no
API key is set): ``GOPUSH_READ_TOKEN`` > the
chosen registry's ``read_token`` in ``config.toml`` > ``[default] read_token``. No flag: a
command line is visible to other users.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from gopush.errors import AuthError, ConfigError
from gopush.redaction import redact


class Secret:
    """A credential that prints as ``***`` everywhere (str, repr, f-strings, JSON)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """Return the real value; only the HTTP layer may call this."""
        return self._value

    def __str__(self) -> str:
        return "***"

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[type, tuple[str]]:  # pragma: no cover - never pickled
        raise TypeError("a Secret is not serializable")


class Credential(NamedTuple):
    """A key and where it came from (shown by ``whoami``; never the value)."""

    key: Secret
    source: str


def make_secret(value: str, source: str, what: str = "API key") -> Secret:
    """Wrap ``value`` as a Secret after checking it can travel in an HTTP header.

    Raises:
        ConfigError: the value is empty or holds whitespace or control characters (the
            message names the source, never the value).
    """
    value = value.strip().strip("'\"")
    if not value:
        raise ConfigError(f"the {what} from {source} is empty", hint="set a non-empty key")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) > 126 for ch in value):
        raise ConfigError(f"the {what} from {source} holds spaces or non-ASCII characters",
                          hint="copy the key again, without quotes or line breaks")
    return Secret(value)


def resolve_api_key(
    candidates: list[tuple[str, Any]],
    environ: Mapping[str, str],
    keyring_lookup: Callable[[], str | None] | None = None,
) -> Credential | None:
    """Return the API key, or None when nothing is set.

    ``candidates`` are ``(source, value)`` pairs, best first, as the precedence table gives
    them (``Places.candidates("api_key")``: flag, variables, config files); after them comes
    the system keyring (unless ``GOPUSH_NO_KEYRING`` is set), and after it the CLI's prompt.

    Raises:
        ConfigError: the key chosen cannot be used (see ``make_secret``).
    """
    if candidates:
        source, value = candidates[0]
        return Credential(make_secret(str(value), source), source)
    if keyring_lookup is not None and not environ.get("GOPUSH_NO_KEYRING"):
        value = keyring_lookup()
        if value:
            return Credential(make_secret(value, "the system keyring"), "the system keyring")
    return None


def resolve_read_token(candidates: list[tuple[str, Any]]) -> Credential | None:
    """Return the read token from the best of ``candidates`` (``(source, value)`` pairs,
    best first, as ``Places.candidates("read_token")`` gives them), or None.

    Raises:
        ConfigError: the token cannot travel in a header (names the source only).
    """
    if not candidates:
        return None
    source, value = candidates[0]
    return Credential(make_secret(str(value), source, "read token"), source)


class IdTokenSource(NamedTuple):
    """Where the CI's OIDC ID token comes from: a variable that holds it (``token``), or
    GitHub Actions' request endpoint (``request_url``, asked with ``request_token``)."""

    provider: str  # who issued it, for whoami: "GitHub Actions", "GitLab CI (VAR)", "VAR"
    token: Secret | None = None
    request_url: str = ""
    request_token: Secret | None = None
    variable: str = ""  # the variable that holds ``token`` (GOPUSH_OIDC_TOKEN, ...)

    @property
    def fresh(self) -> bool:
        """Tell whether each exchange gets a new ID token (a new ``jti``): GitHub Actions'
        endpoint mints one per request, while a variable's token is one fixed token, single
        use at the exchange (``gopush serve`` refuses a ``jti`` it has seen), so the push of
        the job spends it and nothing after may exchange it again."""
        return self.token is None


class Keyless(NamedTuple):
    """A keyless push: exchange ``id_token`` for a key of ``service`` in ``org``.

    ``id_token`` is None when this CI offers none (the CLI then names what to set).
    """

    org: str
    service: str
    audience: str  # asked of GitHub Actions; a variable's token carries its own
    id_token: IdTokenSource | None

    def describe(self) -> str:
        """Return where a key made by this exchange comes from, e.g.
        ``OIDC (GitHub Actions → acme/ci-publisher)``."""
        provider = self.id_token.provider if self.id_token else "no ID token"
        return f"OIDC ({provider} → {self.org}/{self.service})"


def resolve_id_token(candidates: list[tuple[str, Any]],
                     environ: Mapping[str, str]) -> IdTokenSource | None:
    """Return where this CI's ID token comes from, or None: the best of ``candidates``
    (``Places.candidates("oidc_token")``: GOPUSH_OIDC_TOKEN, CLOUDSMITH_OIDC_TOKEN), else
    GitHub Actions' request endpoint when ``environ`` names it.

    Raises:
        ConfigError: a token or request token is set but cannot travel in a header or
            body (names the variable, never the value).
    """
    for name, value in candidates:
        if str(value).strip():
            provider = f"GitLab CI, {name}" if environ.get("GITLAB_CI") == "true" else name
            return IdTokenSource(provider, token=make_secret(str(value), name, "ID token"),
                                 variable=name)
    url = environ.get("ACTIONS_ID_TOKEN_REQUEST_URL", "").strip()
    bearer = environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if url and bearer.strip():
        return IdTokenSource("GitHub Actions", request_url=url, request_token=make_secret(
            bearer, "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ID token request token"))
    return None


_GITHUB_PAIR = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")


def missing_id_token_error(keyless: Keyless,
                           environ: Mapping[str, str] | None = None) -> ConfigError:
    """Return the error for a keyless push in a CI that offers no ID token; when ``environ``
    holds one of GitHub's two variables only, it names the missing one."""
    present = [name for name in _GITHUB_PAIR if (environ or {}).get(name, "").strip()]
    if len(present) == 1:
        missing = next(name for name in _GITHUB_PAIR if name not in present)
        why = (f"{present[0]} is set but {missing} is not: GitHub Actions sets both in a job "
               "with `permissions: id-token: write`; a container step must pass both through")
    else:
        why = ("none of GOPUSH_OIDC_TOKEN, CLOUDSMITH_OIDC_TOKEN, or GitHub Actions' "
               "ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN is set")
    return ConfigError(
        f"keyless push as {keyless.org}/{keyless.service}: no ID token available in this CI "
        f"({why})",
        hint="GitHub Actions: give the job `permissions: id-token: write`; GitLab: declare "
             "`id_tokens:` with GOPUSH_OIDC_TOKEN; elsewhere put the CI's ID token in "
             "GOPUSH_OIDC_TOKEN. Or set an API key (GOPUSH_API_KEY)")


def spent_id_token_error(keyless: Keyless, status: int | None) -> AuthError:
    """Return the error for a read refused anonymously (``status``: 401/403) where the only
    way to a key would be exchanging a fixed ID token (``IdTokenSource.fresh`` false): that
    token is single use and the job's push spends it, so reading commands never exchange it."""
    source = keyless.id_token
    assert source is not None and not source.fresh
    return AuthError(
        f"the registry wants a credential to read this (a private repository), and the ID "
        f"token in {source.variable} is single use: the push of this job spends it, so "
        f"verify does not exchange it again",
        status=status,
        hint="verify a private repository with a read token (GOPUSH_READ_TOKEN: an "
             "entitlement token of the repository) or an API key, or in GitHub Actions "
             "(`permissions: id-token: write`: each exchange gets a fresh ID token); a "
             "public repository is verified anonymously, with no token")


def missing_key_error() -> ConfigError:
    """Return the error for a run that needs a key and may not prompt for one."""
    return ConfigError(
        "no API key: set GOPUSH_API_KEY (or CLOUDSMITH_API_KEY), or pass --api-key",
        hint="in CI, push keyless instead (no stored secret: set GOPUSH_OIDC_ORG and "
             "GOPUSH_OIDC_SERVICE, see the README's \"Keyless push from CI\"), or store the "
             "key in the CI's secret store and expose it as GOPUSH_API_KEY")


def keyring_lookup(service: str, username: str) -> Callable[[], str | None]:
    """Return a lookup in the system keyring; it answers None when keyring is unusable."""

    def lookup() -> str | None:
        try:
            import keyring  # optional, never a dependency (see [tool.mypy] in pyproject.toml)

            value: str | None = keyring.get_password(service, username)
            return value
        except Exception:  # noqa: BLE001 - no keyring backend is not an error
            return None

    return lookup


# Query parameters whose values are secrets in the URLs registries hand out (presigned
# uploads, tokens in redirects): any name holding one of these words, case-insensitively.
def redact_url(url: str) -> str:
    """Return ``url`` without its credentials (see ``redact``), for logs and errors."""
    return redact(url)
