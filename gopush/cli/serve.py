"""``gopush serve``: run the embedded Go module registry (Cloudsmith upload API + GOPROXY)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from gopush.cli.app import App, output_options, pass_app
from gopush.server.slugs import split_repo


def _split(values: tuple[str, ...]) -> list[str]:
    """Split repeated option values that may also hold comma/space separated lists (env)."""
    return [part for value in values for part in re.split(r"[,\s]+", value) if part]


def _trusted_proxies(values: tuple[str, ...]) -> tuple[str, ...]:
    """Return the ``--trusted-proxy`` addresses and networks, each checked.

    Raises:
        click.BadParameter: one is not an IP address or network (exit 2): a host name
            would be compared as text with the peer's address and never match.
    """
    proxies = _split(values)
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise click.BadParameter(f"{proxy!r} is not an IP address or network (e.g. "
                                     "10.0.0.5 or 10.0.0.0/24)",
                                     param_hint="--trusted-proxy") from None
    return tuple(proxies)


def _repo_name(text: str, option: str) -> tuple[str, str]:
    named = split_repo(text)
    if named is None:
        raise click.BadParameter(f"{text!r} is not OWNER/REPO (each 1-100 letters, digits, "
                                 "'.', '-' or '_', starting with a letter or digit)",
                                 param_hint=option)
    return named


def _pairs(values: list[str], option: str) -> list[tuple[tuple[str, str], str]]:
    """Parse OWNER/REPO=VALUE option values."""
    found = []
    for spec in values:
        name, sep, value = spec.partition("=")
        if not sep or not value:
            raise click.BadParameter(f"expected OWNER/REPO=VALUE, got {name!r}=…",
                                     param_hint=option)
        found.append((_repo_name(name, option), value))
    return found


def _repo_setups(repos: tuple[str, ...], tokens: tuple[str, ...],
                 upstreams: tuple[str, ...]) -> list[Any]:
    """Turn --repo, --read-token and --upstream values into RepoSetup records."""
    from gopush.server.run import RepoSetup

    found: dict[tuple[str, str], dict[str, Any]] = {}
    for spec in _split(repos):
        name, _, visibility = spec.partition(":")
        if visibility not in ("", "public", "private"):
            raise click.BadParameter(f"{spec!r}: visibility is public or private",
                                     param_hint="--repo")
        found.setdefault(_repo_name(name, "--repo"), {})["private"] = (
            None if not visibility else visibility == "private")
    for repo, token in _pairs(_split(tokens), "--read-token"):
        entry = found.setdefault(repo, {})
        entry["read_tokens"] = (*entry.get("read_tokens", ()), token)
    for repo, url in _pairs(list(upstreams), "--upstream"):
        found.setdefault(repo, {})["upstream"] = url
    return [RepoSetup(owner, name, **fields) for (owner, name), fields in found.items()]


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """Return the per-user data directory: $XDG_DATA_HOME/gopush or ~/.local/share/gopush."""
    xdg = environ.get("XDG_DATA_HOME")
    home = Path(environ.get("HOME") or Path.home())
    return (Path(xdg) if xdg else home / ".local" / "share") / "gopush"


def _limit_options(command: Any) -> Any:
    """Add the connection and request limit options (``server.limits``; README "Limits")."""
    from gopush.server.settings import ConnectionLimits as Default

    options = [
        click.option("--head-timeout", type=click.FloatRange(0, min_open=True), default=Default.head_timeout,
                     show_default=True, metavar="SECONDS",
                     help="Seconds a client has to send a request head (from connect, or from "
                          "the head's first byte on a kept-alive connection)."),
        click.option("--keep-alive-timeout", type=click.FloatRange(0, min_open=True),
                     default=Default.keep_alive_timeout, show_default=True, metavar="SECONDS",
                     help="Seconds an idle connection is kept open between requests."),
        click.option("--keep-alive-requests", type=click.IntRange(1), default=Default.keep_alive_requests,
                     show_default=True, metavar="N",
                     help="Requests served on one connection before it is closed."),
        click.option("--max-connections", type=click.IntRange(1), metavar="N",
                     help="Connections open at once; beyond it the longest-idle one is "
                          "closed, or the new one gets 503 [default: from the file "
                          "descriptor limit: (ulimit -n - 128) / 2, at most 10000]."),
        click.option("--max-header-bytes", type=click.IntRange(1024), show_default=True,
                     default=Default.max_header_bytes, metavar="BYTES",
                     help="Size of a request line and its header fields (431 beyond)."),
        click.option("--max-headers", type=click.IntRange(1), default=Default.max_headers,
                     show_default=True, metavar="N",
                     help="Header fields in one request (431 beyond)."),
        click.option("--min-body-rate", type=click.FloatRange(0), default=Default.min_body_rate,
                     show_default=True, metavar="BYTES/S",
                     help="Average rate a request body must keep once --body-timeout "
                          "seconds have passed (408 below it); 0 turns it off."),
        click.option("--min-send-rate", type=click.FloatRange(0), default=Default.min_send_rate,
                     show_default=True, metavar="BYTES/S",
                     help="Average rate a client must take a response at once --body-timeout "
                          "seconds have passed (connection aborted below it); 0 turns it off. "
                          "A send waits --body-timeout seconds at most for a client reading nothing."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (use 0.0.0.0 to accept other machines).")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on; 0 picks a free port (printed).")
@click.option("--data", "data", type=click.Path(file_okay=False, path_type=Path),
              help="Data directory [default: $XDG_DATA_HOME/gopush or ~/.local/share/gopush].")
@click.option("--database", "database", metavar="URL", envvar="GOPUSH_SERVE_DATABASE",
              help="Metadata database: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/DB "
                   "(env GOPUSH_SERVE_DATABASE keeps the password out of ps) [default: "
                   "sqlite:///DATA/registry.sqlite3].")
@click.option("--blobs", "blobs", metavar="URL", envvar="GOPUSH_SERVE_BLOBS",
              help="Blob store: dir:PATH (or a path), or postgresql (large objects in the "
                   "--database database, which must be postgresql://; then --data is "
                   "optional: scratch files go to a private temporary directory) [default: "
                   "DATA/blobs].")
@click.option("--migrate-only", is_flag=True,
              help="Bring the database's schema up to this gopush's, then exit without "
                   "serving (a start does it too).")
@click.option("--export", "export_dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Write the registry (--data, --database) to the new directory DIR: "
                   "every row as JSON lines, every blob a row needs, a manifest of "
                   "SHA-256 digests; then exit without serving. A running server keeps "
                   "serving meanwhile.")
@click.option("--import", "import_dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Import an export (--export DIR) into the empty registry --data / "
                   "--database, every file verified first; then exit without serving.")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM certificate (chain) to serve HTTPS.")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM private key for --tls-cert.")
@click.option("--api-key", "api_keys", multiple=True, metavar="KEY",
              envvar=["GOPUSH_SERVE_API_KEYS", "GOPUSH_SERVE_API_KEY"],
              help="API key allowed to upload and manage packages (repeatable; env "
                   "GOPUSH_SERVE_API_KEYS, comma or space separated, keeps keys out of ps).")
@click.option("--repo", "repos", multiple=True, metavar="OWNER/REPO[:private|:public]",
              help="Create a repository at start, or set its visibility (repeatable).")
@click.option("--read-token", "read_tokens", multiple=True, metavar="OWNER/REPO=TOKEN",
              envvar="GOPUSH_SERVE_READ_TOKENS",
              help="Seed an entitlement token: TOKEN reads a repository via HTTP Basic "
                   "token:TOKEN (repeatable; env GOPUSH_SERVE_READ_TOKENS). Applied once: "
                   "later changes through the entitlements API stick. Stored as digests.")
@click.option("--upstream", "upstreams", multiple=True, metavar="OWNER/REPO=URL",
              help="GOPROXY URL a repository fetches (verifies and caches) what it lacks.")
@click.option("--new-repos", type=click.Choice(["off", "public", "private"]), default="off",
              is_flag=False, flag_value="public", show_default=True,
              help="Let a push create the repository it names, public (a bare --new-repos) "
                   "or private. Off: only --repo declares repositories and a push to any "
                   "other is refused (404), so a mistyped OWNER/REPO creates nothing.")
@click.option("--body-timeout", type=click.FloatRange(1), default=60.0, show_default=True,
              help="Seconds an upload body may stall before it is given up (400).")
@click.option("--upload-expiry", type=click.FloatRange(0, min_open=True), default=24.0,
              show_default=True, metavar="HOURS",
              help="Hours an upload slot stays open; an upload that has not become a "
                   "package by then (unfinished, or refused) is deleted with its files.")
@click.option("--stop-timeout", type=click.FloatRange(0), default=30.0, show_default=True,
              metavar="SECONDS",
              help="On Ctrl-C or SIGTERM, seconds requests in flight get to finish; then "
                   "they are cut off (a client trickling a body cannot hold the stop).")
@click.option("--vuln-db", "vuln_db", metavar="URL", envvar="GOPUSH_SERVE_VULN_DB",
              help="Scan every package against this Go vulnerability database (vuln.go.dev "
                   "layout: https://vuln.go.dev, another https:// mirror, or file://DIR); "
                   "results at /vulnerabilities/ (cloudsmith vulnerabilities). Off by default.")
@click.option("--vuln-refresh", type=click.FloatRange(0, min_open=True), default=60.0,
              show_default=True, metavar="MINUTES",
              help="Minutes between checks of the database's modified time; when it moved, "
                   "every package is scanned again.")
@click.option("--vuln-timeout", type=click.FloatRange(0, min_open=True), default=20.0,
              show_default=True, metavar="SECONDS",
              help="Seconds a scan may wait for the database; a package is then published "
                   "unscanned (scanned at the next check that reaches the database).")
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path),
              envvar="GOPUSH_SERVE_CONFIG", metavar="FILE",
              help="TOML file declaring trusted publishers: CI identities (OIDC ID tokens of "
                   "an issuer, audience and claims) that may exchange their token at "
                   "/openid/ORG/ for a short-lived push-only token (README \"Trusted "
                   "publishing (serve)\"; env GOPUSH_SERVE_CONFIG).")
@click.option("--quarantine", type=click.Choice(["off", "imported", "any"]), default="off",
              show_default=True,
              help="With --vuln-db: keep versions with a finding in a package they import "
                   "(imported), or with any finding (any), out of list and @latest, and "
                   "answer 403 with the reason for their files. Pushing is still allowed.")
@click.option("--trusted-proxy", "trusted_proxies", multiple=True, metavar="ADDRESS[/BITS]",
              envvar="GOPUSH_SERVE_TRUSTED_PROXIES",
              help="A balancer (address or network) whose X-Forwarded-For header names the "
                   "client: refused credentials then count against each client's address, "
                   "not the balancer's (repeatable; env GOPUSH_SERVE_TRUSTED_PROXIES, comma "
                   "or space separated). None by default: the header is ignored.")
@click.option("--queue-lease", type=click.FloatRange(1), default=30.0, hidden=True,
              metavar="SECONDS",
              help="Seconds a processing claim lasts unless renewed (tests shorten it).")
@click.option("--hold-processing", type=click.Path(file_okay=False, path_type=Path),
              hidden=True, metavar="DIR",
              help="Test-only: hold each claimed package until DIR/release exists.")
@_limit_options
@output_options
@pass_app
def command(app: App, /, host: str, port: int, data: Path | None, database: str | None,
            blobs: str | None, migrate_only: bool, export_dir: Path | None,
            import_dir: Path | None, tls_cert: Path | None,
            tls_key: Path | None, api_keys: tuple[str, ...], repos: tuple[str, ...],
            read_tokens: tuple[str, ...], upstreams: tuple[str, ...], new_repos: str,
            body_timeout: float, upload_expiry: float, stop_timeout: float,
            vuln_db: str | None, vuln_refresh: float, vuln_timeout: float, config: Path | None,
            quarantine: str, trusted_proxies: tuple[str, ...], queue_lease: float,
            hold_processing: Path | None, **limits: Any) -> None:
    """Run the embedded Go module registry until stopped.

    It speaks the Cloudsmith upload API (for `gopush push` and the official
    `cloudsmith push go`; API host = the printed URL) and the GOPROXY protocol per
    repository at URL/go/OWNER/REPO/. Repositories are declared with --repo (or, with
    --new-repos, created by the first push with a valid API key). Private repositories
    need HTTP Basic credentials: token:<TOKEN> (an entitlement token: `gopush tokens`,
    `cloudsmith entitlements`, seeded by --read-token) or gopush:<API key>.

    Ctrl-C (SIGINT) and SIGTERM (systemd, docker stop, CI runners) stop it cleanly: no
    new connections, requests in flight finish (a stalled body is given up after
    --body-timeout; any request still running after --stop-timeout is cut off), the package being processed is finished (queued ones are processed
    at the next start, or by another instance on the same PostgreSQL), the database is closed and the data directory released. Exit
    status: 0 after SIGTERM, 130 after Ctrl-C (as every gopush command), 3 when it cannot
    start (port in use, data directory not writable or used by another server, unusable
    TLS files), and then it has created nothing on disk.

    \b
    Examples:
      GOPUSH_SERVE_API_KEYS=secret gopush serve --port 0 --repo acme/private:private \\
          --read-token acme/private=reader-token
      gopush serve --new-repos private    # any push creates its repository, private
      gopush serve --repo acme/mirror --upstream acme/mirror=https://proxy.golang.org
    """
    from gopush.server.publishers import Publishers, load_publishers
    from gopush.server.run import bind, check_tls, describe_repos, open_storage, run
    from gopush.server.settings import ConnectionLimits, ServeSettings

    if sum((migrate_only, export_dir is not None, import_dir is not None)) > 1:
        raise click.UsageError("--migrate-only, --export and --import each run alone")
    if export_dir is not None or import_dir is not None:
        with _scratch_data(app, data, database, blobs) as data_dir:
            _transfer(app, data_dir, database, blobs, export_dir, import_dir)
        return
    if migrate_only:
        _migrate_only(app, data or default_data_dir(app.environ), database)
        return
    with _scratch_data(app, data, database, blobs) as data_dir:
        if (tls_cert is None) != (tls_key is None):
            raise click.UsageError("--tls-cert and --tls-key go together")
        vuln = _vuln_settings(vuln_db, vuln_refresh, vuln_timeout, quarantine)
        keys = tuple(_split(api_keys))
        proxies = _trusted_proxies(trusted_proxies)
        setups = _repo_setups(repos, read_tokens, upstreams)
        publishers = load_publishers(config) if config is not None else Publishers()
        if tls_cert is not None and tls_key is not None:
            check_tls(tls_cert, tls_key)
        # Everything that can refuse the start is checked before the data directory is made.
        listening = bind(host, port, tls=tls_cert is not None)
        expiry_seconds = upload_expiry * 3600  # --upload-expiry is in hours
        storage = open_storage(data_dir, setups, upload_expiry=expiry_seconds, database=database,
                               blobs=blobs)
        settings = ServeSettings(api_keys=keys, body_timeout=body_timeout,
                                 new_repos=new_repos != "off",
                                 new_repos_private=new_repos == "private",
                                 upload_expiry=expiry_seconds, vuln=vuln, publishers=publishers,
                                 queue_lease=queue_lease, hold_processing=hold_processing,
                                 trusted_proxies=proxies)
        _announce(app, listening.url, storage, describe_repos(storage, listening.url), settings)
        _warn_missing_repos(app, settings, {r.full_name for r in storage.repos()})
        run(storage, settings, listening, tls_cert=tls_cert, tls_key=tls_key,
            access_log=app.verbose, stop_timeout=stop_timeout, limits=ConnectionLimits(**limits))


@contextmanager
def _scratch_data(app: App, data: Path | None, database: str | None,
                  blobs: str | None) -> Iterator[Path]:
    """Give the data directory: ``--data``, else a private temporary one (removed when the
    server stops, or by the next start after a kill: ``server.scratch``) when nothing
    persistent needs one (a PostgreSQL database and blobs outside the local disk: only
    scratch files then touch it), else the per-user default."""
    remote_blobs = blobs == "postgresql" or (blobs or "").startswith("s3://")
    if data is not None or not remote_blobs or not (database or "").startswith(
            ("postgresql:", "postgres:")):
        yield data or default_data_dir(app.environ)
        return
    from gopush.server.scratch import private_scratch

    with private_scratch() as scratch:
        yield scratch


def _migrate_only(app: App, data: Path, database: str | None) -> None:
    """``--migrate-only``: migrate the database, print its schema version, serve nothing."""
    from gopush.server.run import migrate_only

    shown, version = migrate_only(data, database)
    app.reporter.result({"database": shown, "schema_version": version},
                        f"database {shown} is at schema {version}")


def _transfer(app: App, data: Path, database: str | None, blobs: str | None,
              export_dir: Path | None, import_dir: Path | None) -> None:
    """``--export DIR`` / ``--import DIR``: move the registry, print what moved, serve nothing."""
    from gopush.server.run import export_only, import_only

    if export_dir is not None:
        done, verb = export_only(data, database, export_dir, blobs), "exported to"
    else:
        assert import_dir is not None
        done, verb = import_only(data, database, import_dir, blobs), "imported from"
    rows = sum(done.rows.values())
    app.reporter.result({"exported" if export_dir else "imported": done.as_json()},
                        f"{verb} {done.directory}: {rows} rows, {done.blobs} blobs "
                        f"({done.blob_bytes} bytes), schema {done.as_json()['schema_version']}")


def _vuln_settings(url: str | None, refresh: float, timeout: float, quarantine: str) -> Any:
    """Check the scanning options together; return the server's ``VulnSettings``."""
    from gopush.server.settings import VulnSettings

    if not url:
        if quarantine != "off":
            raise click.UsageError("--quarantine needs --vuln-db URL (the database to scan with)")
        return VulnSettings()
    from gopush.vuln.db import source_for

    source_for(url)  # ConfigError (exit 3) unless https://, loopback http:// or file:///DIR
    return VulnSettings(db_url=url.rstrip("/"), refresh_minutes=refresh,
                        quarantine="" if quarantine == "off" else quarantine, timeout=timeout)


def _announce(app: App, url: str, storage: Any, repos: list[dict[str, object]],
              settings: Any) -> None:
    """Print the base URL, each repository's GOPROXY URL, the scanning settings and the
    trusted publishers (stdout), warnings (stderr)."""
    from gopush.server.redaction import redacted

    vuln = settings.vuln
    if not settings.api_keys and not settings.publishers.entries:
        app.reporter.warn("no API key given (--api-key or GOPUSH_SERVE_API_KEYS): "
                          "uploads will be refused")
    lines = [f"serving {url} (API host for gopush push / cloudsmith --api-host)",
             f"data: {storage.root}", f"database: {storage.db.shown}",
             f"blobs: {storage.blobs.describe()}"]
    lines += [f"GOPROXY {r['repository']} ({'private' if r['private'] else 'public'}): "
              f"{r['goproxy']}" for r in repos]
    scanning = None
    if vuln.enabled:
        scanning = {"url": redacted(vuln.db_url), "refresh_minutes": vuln.refresh_minutes,
                    "quarantine": vuln.quarantine or None}
        lines.append(f"vulnerability scanning: {scanning['url']} (checked every "
                     f"{vuln.refresh_minutes:g} min; quarantine: {vuln.quarantine or 'off'})")
    publishers = [{"org": p.org, "service": p.service, "issuer": p.issuer,
                   "audience": p.audience, "repositories": sorted(p.repositories),
                   "token_minutes": p.token_minutes} for p in settings.publishers.entries]
    lines += [f"trusted publisher {p['org']}/{p['service']}: {p['issuer']} (aud "
              f"{p['audience']}) may push to {', '.join(p['repositories'])}"
              for p in publishers]
    app.reporter.result({"url": url, "data": str(storage.root), "database": storage.db.shown,
                         "blobs": storage.blobs.describe(),
                         "repositories": repos,
                         "vuln_db": scanning, "trusted_publishers": publishers},
                        "\n".join(lines))


def _warn_missing_repos(app: App, settings: Any, existing: set[str]) -> None:
    """Warn about a trusted publisher's repository that does not exist and that its push
    cannot create (no --new-repos): its pushes would get 404."""
    if settings.new_repos:
        return
    for publisher in settings.publishers.entries:
        for name in sorted(publisher.repositories - existing):
            app.reporter.warn(f"trusted publisher {publisher.name} may push to {name}, which "
                              "does not exist: declare it with --repo (or start with "
                              "--new-repos)")
