"""``gopush push``: options in, settings and registry resolved, one call to ``actions.push``.

Also home of the registry options and ``connect`` shared by ``verify`` and ``whoami``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.cli.audit import audit_policy, check_allowed
from gopush.config.vulndb import FAIL_ON

if TYPE_CHECKING:  # imported where used at run time: a command loads only what it needs
    from gopush.actions.push import PushResult
    from gopush.config.settings import Settings, SettingsInput
    from gopush.errors import AuthError, GopushError
    from gopush.registry.base import ConsumerSetup, Registry

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class _Seconds(click.FloatRange):
    """A FloatRange that refuses NaN as out of range, as it does inf (NaN compares false
    with both bounds, so FloatRange lets it through)."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        import math

        number = super().convert(value, param, ctx)
        if math.isnan(number):
            self.fail(f"{value} is not in the range {self._describe_range()}.", param, ctx)
        return number


def registry_options(f: F) -> F:
    """Add the options that choose the registry and its credentials."""
    opts = [
        click.option("--to", metavar="KIND:LOCATION",
                     help="Target other than a Cloudsmith repository: dir:PATH (or file:///PATH), "
                          "gitea:https://HOST/OWNER, artifactory:https://HOST/artifactory/REPO, "
                          "cloudsmith:OWNER/REPO."),
        click.option("--registry", "registry_name", metavar="NAME",
                     help="A [registries.NAME] table of the config file."),
        click.option("--api-host", metavar="URL",
                     help="Cloudsmith-style API host, with or without /v1 "
                          "[env: GOPUSH_API_HOST, CLOUDSMITH_API_HOST; "
                          "default: https://api.cloudsmith.io]."),
        click.option("--api-key", metavar="KEY",
                     help="API key (prefer GOPUSH_API_KEY / CLOUDSMITH_API_KEY: command lines "
                          "are visible to other users)."),
        click.option("--oidc-org", metavar="ORG",
                     help="Keyless push from CI (no API key set): the org whose trusted "
                          "publisher exchanges the CI's OIDC ID token for a short-lived key "
                          "[env: GOPUSH_OIDC_ORG, CLOUDSMITH_ORG]."),
        click.option("--oidc-service", metavar="SLUG",
                     help="Keyless push from CI: the service account the key is minted for "
                          "[env: GOPUSH_OIDC_SERVICE, CLOUDSMITH_SERVICE_SLUG]."),
        click.option("--profile", metavar="NAME",
                     help="Profile of the Cloudsmith CLI's config.ini/credentials.ini "
                          "[env: GOPUSH_PROFILE, CLOUDSMITH_PROFILE]."),
        click.option("--username", metavar="USER",
                     help="User for Basic auth (Gitea, Artifactory); the key is the password."),
        click.option("--goproxy", "goproxy_url", metavar="URL",
                     help="GOPROXY URL consumers use (default: derived from the target) "
                          "[env: GOPUSH_GOPROXY]."),
        click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
                     help="gopush config file [env: GOPUSH_CONFIG; default: "
                          "~/.config/gopush/config.toml]."),
        click.option("--request-timeout", type=_Seconds(min=0.1, max=86400),
                     metavar="SECONDS",
                     help="Deadline of each HTTP request, reply included, plus 1 s per 64 KiB "
                          "uploaded or downloaded; not retried once overrun "
                          "[env: GOPUSH_REQUEST_TIMEOUT; default: 300]."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def connect(app: App, options: dict[str, Any], repository: str | None = None,
            *, need_key: bool = True, require_repository: bool = True) -> Registry:
    """Resolve settings (prompting for a key only on a terminal) and open the registry.

    Raises:
        ConfigError: settings are invalid, or no key is set where gopush may not prompt.
    """
    return _connect(app, options, repository, need_key=need_key,
                    require_repository=require_repository, ask_key=True, keyless=True)[0]


def connect_to_read(app: App, options: dict[str, Any], repository: str | None = None,
                    *, require_repository: bool = True,
                    keyless: bool = False) -> tuple[Registry, str]:
    """Open the registry for reading (``whoami``; ``verify`` reads through
    ``read_as_consumer``): with the configured key if
    there is one, else anonymously, never prompting; a public repository needs no key.
    With ``keyless`` (``whoami``), a keyless setup is exchanged for a key as ``push`` does.

    Returns the registry and where its credentials come from: the key's source, "none
    needed" for a ``dir:`` target, "" when it is read anonymously.

    Raises:
        ConfigError: settings are invalid.
        AuthError: with ``keyless``, the exchange was refused.
    """
    registry, settings = _connect(app, options, repository, need_key=True,
                                  require_repository=require_repository, ask_key=False,
                                  keyless=keyless)
    if settings.credential is not None:
        return registry, str(settings.credential.source)
    return registry, "none needed" if settings.target.kind == "dir" else ""


def read_settings(app: App, options: dict[str, Any], repository: str | None = None
                  ) -> tuple[Registry, Settings]:
    """Return the registry opened for reading and the resolved ``Settings``, as
    ``connect_to_read`` does (never prompting; no repository required): ``gopush goauth``
    needs the settings' credentials, not only the registry.

    Raises:
        ConfigError: settings are invalid.
    """
    return _connect(app, options, repository, need_key=True, require_repository=False,
                    ask_key=False, keyless=False)


def anonymous_refusal_hint(err: GopushError) -> None:
    """Point an AuthError met while reading anonymously at the missing key."""
    err.hint = ("no API key was given, and the registry wants one to read this (a private "
                "repository): set GOPUSH_API_KEY (or CLOUDSMITH_API_KEY), or pass --api-key; "
                "a read token (GOPUSH_READ_TOKEN) reads it too")


def _connect(app: App, options: dict[str, Any], repository: str | None, *, need_key: bool,
             require_repository: bool, ask_key: bool, keyless: bool
             ) -> tuple[Registry, Settings]:
    """Resolve the settings and open the registry. A key missing is asked for, in the
    credentials order: a keyless exchange (``keyless``, when an OIDC org and service are
    set), then the prompt (``ask_key``, on a terminal only)."""
    from gopush.config.credentials import Credential, make_secret, missing_key_error
    from gopush.config.settings import load_settings

    given = _settings_input(app, options, repository, require_repository)
    settings = load_settings(given, need_key=need_key, keyless=keyless)
    if settings.keyless is not None:  # no key set, an OIDC org and service are
        settings = _exchange_keyless(app, settings)
    if need_key and ask_key and settings.credential is None and settings.target.kind != "dir":
        if not app.interactive:
            raise missing_key_error()
        value = click.prompt("API key", hide_input=True, err=True)
        # _replace: the request deadline, part size and read token stay as resolved
        settings = settings._replace(
            credential=Credential(make_secret(value, "the prompt"), "the prompt"),
            sources={**settings.sources, "api_key": "the prompt"})
    return _open(app, settings), settings


def _settings_input(app: App, options: dict[str, Any], repository: str | None,
                    require_repository: bool) -> SettingsInput:
    """Return the raw settings of this command line: the registry options and the
    environment."""
    from gopush.config.settings import SettingsInput

    named = [what for what, given_ in (("OWNER/REPO", repository), ("--to", options["to"]),
                                       ("--registry", options["registry_name"])) if given_]
    if len(named) > 1:  # one would silently win: the push could land somewhere unmeant
        raise click.UsageError(f"{' and '.join(named)} each name a target: give one")
    return SettingsInput(
        environ=app.environ, cwd=Path.cwd(), api_host=options["api_host"],
        api_key=options["api_key"], profile=options["profile"],
        registry=options["registry_name"], to=options["to"], repository=repository,
        goproxy=options["goproxy_url"], username=options["username"],
        config_file=options["config_file"], request_timeout=options["request_timeout"],
        part_size=options.get("part_size"), oidc_org=options["oidc_org"],
        oidc_service=options["oidc_service"], require_repository=require_repository)


def _open(app: App, settings: Settings) -> Registry:
    """Open the registry ``settings`` name, its key hidden from everything printed."""
    from gopush.registry.factory import open_registry

    if settings.credential is not None:
        app.hide(settings.credential.key.reveal())
    if settings.read_token is not None:
        app.hide(settings.read_token.key.reveal())
    _warn_plain_http(app, settings.target.location)
    key_from = settings.credential.source if settings.credential is not None else "nowhere"
    app.reporter.detail(f"registry: {settings.target.describe()} "
                        f"(host from {settings.sources.get('api_host', 'the target')}, key from "
                        f"{key_from})")
    return open_registry(settings, trace=_tracer(app), debug=app.debug,
                         announce=app.reporter.retry)


def read_as_consumer(app: App, options: dict[str, Any], repository: str | None,
                     read: Callable[[Registry], T]) -> T:
    """Return ``read(registry)``, the registry opened for reading as consumers read
    (``verify``): with the configured key, else the read token (``GOPUSH_READ_TOKEN``), else
    anonymously, never prompting, so that a public repository needs no key and no ID token.

    Only when an anonymous read is refused (401/403: a private repository) are the keyless
    settings read, and an ID token exchanged for a key to ``read`` with once more; and only
    a fresh one (``IdTokenSource.fresh``: GitHub Actions mints one per request). A fixed
    token in a variable (GitLab's ``id_tokens:``) is single use and the job's push spends
    it: exchanging it again would be refused, so the refusal says that instead.

    Raises:
        AuthError: refused, with the hint naming what would read (a key, a read token, an
            ID token minted fresh); or the exchange was refused.
        ConfigError: settings are invalid (the keyless ones only once they are needed).
    """
    from gopush.errors import AuthError

    registry, settings = _connect(app, options, repository, need_key=True,
                                  require_repository=True, ask_key=False, keyless=False)
    try:
        return read(registry)
    except AuthError as err:
        if settings.credential is not None or settings.read_token is not None:
            raise  # a credential was sent: the registry's reason is the whole story
        refused = err
    finally:
        registry.close()
    keyed = _exchange_after_refusal(app, options, repository, refused)
    registry = _open(app, keyed)
    try:
        return read(registry)
    finally:
        registry.close()


def _exchange_after_refusal(app: App, options: dict[str, Any], repository: str | None,
                            refused: AuthError) -> Settings:
    """Return the settings with a key a keyless exchange got, after an anonymous read was
    ``refused``; raise ``refused`` (hinted) when there is no keyless setup.

    Raises:
        AuthError: no keyless setup, a fixed (spent) ID token, or the exchange was refused.
        ConfigError: the keyless settings are incomplete, or this CI offers no ID token.
    """
    from gopush.config.credentials import spent_id_token_error
    from gopush.config.settings import load_settings

    given = _settings_input(app, options, repository, True)
    settings = load_settings(given, need_key=True, keyless=True)
    if settings.keyless is None:
        anonymous_refusal_hint(refused)
        raise refused
    source = settings.keyless.id_token
    if source is not None and not source.fresh:
        raise spent_id_token_error(settings.keyless, refused.status)
    app.reporter.detail(f"read anonymously: {refused.message}")
    return _exchange_keyless(app, settings)


def _exchange_keyless(app: App, settings: Settings) -> Settings:
    """Return ``settings`` with the key a keyless exchange gets for this CI's identity
    (``registry.oidc``); both tokens are hidden from everything printed before any is sent.

    Raises:
        ConfigError: this CI offers no ID token.
        AuthError: the CI or the registry refused (the registry's reason in the message).
    """
    from gopush.config.credentials import missing_id_token_error
    from gopush.registry.factory import exchange_keyless

    keyless = settings.keyless
    assert keyless is not None, "only a keyless setup is exchanged"
    if keyless.id_token is None:
        raise missing_id_token_error(keyless, app.environ)
    for secret in (keyless.id_token.token, keyless.id_token.request_token):
        if secret is not None:
            app.hide(secret.reveal())
    app.reporter.detail(f"keyless: exchanging the {keyless.id_token.provider} ID token for a "
                        f"key of {keyless.org}/{keyless.service}")
    return exchange_keyless(settings, trace=_tracer(app), debug=app.debug,
                            announce=app.reporter.retry)


def _tracer(app: App) -> Callable[[str], None]:
    if app.debug:  # traces print past the reporter: guarded all the same
        guard: Any = app.reporter  # ui.guard.Guarded
        return lambda line: click.echo(guard.message(line), err=True)
    return app.reporter.detail


def _warn_plain_http(app: App, location: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(location)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and not loopback:
        app.reporter.warn(f"{location} is plain http: the API key travels unencrypted")


def without_format_word(args: tuple[str, ...], *, before: int) -> tuple[str, ...]:
    """Drop the ``go`` of ``go OWNER/REPO``, the form ``push`` requires, where ``verify`` and
    ``whoami`` take OWNER/REPO alone: ``before`` is how many arguments follow OWNER/REPO."""
    if len(args) == before + 2 and args[0] == "go":
        return args[1:]
    return args


def _split_target(args: tuple[str, ...], options: dict[str, Any]) -> tuple[str | None,
                                                                           tuple[Path, ...]]:
    """Return OWNER/REPO (for ``push go OWNER/REPO ...``) and the inputs."""
    from gopush.config.settings import check_repository
    from gopush.errors import ConfigError

    if args[:1] == ("go",):
        if len(args) < 2:
            raise click.UsageError("missing OWNER/REPO after `go`")
        try:
            check_repository(args[1])
        except ConfigError as err:  # typed on the command line: a usage error, not config
            raise click.UsageError(err.message) from None
        return args[1], tuple(Path(a) for a in args[2:])
    if options["to"] or options["registry_name"]:
        return None, tuple(Path(a) for a in args)
    if args and "/" in args[0] and not Path(args[0]).exists():
        raise click.UsageError(f"unknown package format {args[0]!r}: write "
                               f"`gopush push go {args[0]} ...`")
    if len(args) >= 2 and args[0].isidentifier() and "/" in args[1] \
            and not any(Path(a).exists() for a in args[:2]):
        raise click.UsageError(f"unknown package format {args[0]!r}: gopush pushes Go "
                               f"modules, `gopush push go {args[1]} ...`")
    return None, tuple(Path(a) for a in args)  # a default registry from the config file


def _check_tags(ctx: click.Context, param: click.Parameter,
                value: tuple[str, ...]) -> tuple[str, ...]:
    """Refuse a tag the registry would refuse anyway, before any work: empty, holding a
    comma (the list separator of ``tags``) or a control character."""
    for tag in value:
        if not tag.strip() or "," in tag or not tag.isprintable():
            raise click.BadParameter(f"{tag!r}: a tag is a non-empty name without commas "
                                     "or control characters (repeat --tag for more)")
    return tuple(dict.fromkeys(t.strip() for t in value))


@click.command("push")
@click.argument("args", nargs=-1, metavar="[go OWNER/REPO] [ZIP|DIR]...")
@registry_options
@click.option("--republish", is_flag=True,
              help="Replace a version that exists with different content (consumers who "
                   "fetched it will see checksum mismatches).")
@click.option("--tag", "tags", multiple=True, metavar="NAME", callback=_check_tags,
              help="Tag the new package (repeatable; Cloudsmith's `tags`; `gopush ls -q "
                   "tag:NAME` finds it). A version already published, identical, keeps its "
                   "tags.")
@click.option("--dry-run", is_flag=True,
              help="Check locally, check credentials, ask the registry to validate and "
                   "whether the version exists; upload nothing.")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until the registry has processed the package.")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True,
              metavar="SECONDS", help="Give up waiting for processing after this long.")
@click.option("--part-size", type=click.IntRange(min=5, max=100), metavar="MIB",
              help="Upload zips of at least this size in parts of this size (Cloudsmith "
                   "API) [env: GOPUSH_PART_SIZE; default: 100].")
@click.option("--rev", default="HEAD", show_default=True,
              help="With no ZIP: the git revision of the checkout to build and push.")
@click.option("--subdir", help="With no ZIP: the module directory inside the repository.")
@click.option("--audit", is_flag=True,
              help="Audit every zip against the Go vulnerability database before anything "
                   "is sent, as `gopush audit` does; refuse (exit 7) by --fail-on "
                   "[database: GOVULNDB, vuln_db in config.toml, or https://vuln.go.dev].")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None,
              help="With --audit: refuse on a finding in an imported package, on any, or "
                   "never [default: imported].")
@click.option("--allow", multiple=True, metavar="GO-ID", callback=check_allowed,
              help="With --audit: accept this known finding (repeatable).")
@output_options
@pass_app
def command(app: App, /, args: tuple[str, ...], republish: bool, tags: tuple[str, ...],
            dry_run: bool, wait: bool, timeout: float, rev: str, subdir: str | None,
            audit: bool, fail_on: str | None, allow: tuple[str, ...], **options: Any) -> None:
    """Check module zips and publish them, skipping versions already there, identical.

    \b
    gopush push go OWNER/REPO dist/**/*.zip     Cloudsmith (or `gopush serve`)
    gopush push go OWNER/REPO dist/             every zip of a `gopush build` layout
    gopush push go OWNER/REPO                   build the checkout at --rev, push it
    gopush push --to dir:/srv/goproxy FILE.zip  other targets: see --to, --registry
    """
    from gopush.actions.push import PushRequest, push

    repository, inputs = _split_target(args, options)
    if (fail_on or allow) and not audit:
        raise click.UsageError("--fail-on and --allow apply to --audit: add --audit")
    policy = audit_policy(app, None, fail_on or "imported", allow,
                          options["config_file"]) if audit else None
    request = PushRequest(inputs=inputs, republish=republish, dry_run=dry_run, wait=wait,
                          timeout=timeout, rev=rev, subdir=subdir, audit=policy)
    registry = connect(app, options, repository)
    if tags:
        from gopush.cli.packages import cloudsmith_registry

        cloudsmith_registry(registry, "push --tag").tags = tags
    try:
        results = push(request, registry, app.reporter)
    finally:
        registry.close()
    _show(app, results, registry.consumer_setup())


def _show(app: App, results: list[PushResult], setup: ConsumerSetup) -> None:
    from gopush.registry.base import consumer_guide

    guide = consumer_guide(setup, [(r.module, r.version) for r in results])
    docs = [{**r.as_json(), "setup": guide.as_json()} for r in results]
    data = docs[0] if len(docs) == 1 else {"modules": docs}
    lines = [f"{_VERBS[r.status]} {r.module}@{r.version} {r.sum}"
             + (f" (package {r.package})" if r.package else "") for r in results]
    if not app.quiet and any(r.status != "dry-run" for r in results):
        lines += ["", *guide.lines()]
    app.reporter.result(data, "\n".join(lines))


_VERBS = {"published": "published", "republished": "republished", "dry-run": "would publish",
          "identical": "already published, identical:", "uploaded": "uploaded (processing):"}
