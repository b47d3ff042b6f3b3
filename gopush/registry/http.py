"""The one HTTP layer: client factory, retry policy, status mapping, secret scrubbing.

Every registry call goes through ``Session.request``. The policy, visible in one place:

- an overall deadline per request, the connection, the request and the whole reply
  included (``Session.timeout`` seconds, plus one second per 64 KiB of request body or
  download moved; see ``gopush.registry.deadline``), beside httpx's per-operation
  timeouts (``TIMEOUT``). A request that overruns it is not tried again: a registry that
  trickled or sent without end once will do it again;
- a reply is read streaming and at most ``MAX_JSON_BYTES`` of it are kept (zip downloads go
  to a ``sink`` that bounds them itself); compressed replies are not asked for, and refused
  (a few kB of gzip can inflate to gigabytes);
- redirects are followed only within the origin (scheme, host, port) of the request, at
  most ``MAX_REDIRECTS`` times, and never to a URL carrying credentials: a redirect
  elsewhere is refused and named without its credentials;
- retries, through ``stamina``, with exponential backoff and jitter on connection and read
  errors and on 429/500/502/503/504, at most ``ATTEMPTS`` tries, none started after
  ``RETRY_BUDGET`` seconds (a try may then run to its own timeout); a ``Retry-After`` header (seconds or HTTP date) replaces the backoff for that try;
- each try rebuilds its request, so a streamed body is read again from the file (never a
  drained one-shot stream, the official CLI's hang);
- before re-sending a non-idempotent call, ``landed()`` is asked whether the first one already
  took effect (a lost reply is not a failure);
- after each call, ``X-RateLimit-Interval`` (seconds to pause) and an exhausted
  ``X-RateLimit-Remaining`` with ``X-RateLimit-Reset`` are honoured, capped at ``MAX_PAUSE``;
- statuses map to exceptions by cause in ``raise_for_registry_status``, and every text that
  leaves this module passes ``config.credentials.redact`` (the API key, URL user
  information and key-like query parameters masked).
"""

from __future__ import annotations

import email.utils
import json
import platform
import ssl
import time
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from gopush import __version__, boundedjson
from gopush.boundedjson import UnreadableJson
from gopush.config.credentials import Credential, redact_url
from gopush.config.settings import DEFAULT_REQUEST_TIMEOUT
from gopush.errors import AuthError, GopushError, RegistryError, RegistryUnavailable, VersionExists
from gopush.redaction import redact
from gopush.registry import deadline
from gopush.text import one_line

TIMEOUT = httpx.Timeout(connect=15.0, read=120.0, write=120.0, pool=15.0)
ATTEMPTS = 6
RETRY_BUDGET = 300.0  # seconds across all tries of one call
MAX_RETRY_AFTER = 120.0
# A refused connection to this very machine means nothing listens on that port (a wrong
# port, a server not started): no backoff over minutes will change that, but a server that
# is just starting may listen a second later. So: 3 tries within about 3 s.
REFUSED_LOOPBACK_ATTEMPTS = 3
REFUSED_LOOPBACK_BUDGET = 5.0
MAX_PAUSE = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The most of a reply gopush keeps. Its largest reply, a package list, is far below; parsed,
# JSON can take 25 times its size (2 MiB of "{}," is 50 MB of dicts), so the cap stays small.
MAX_JSON_BYTES = 2 * 1024 * 1024
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
Body = Callable[[], tuple[bytes | Iterable[bytes], dict[str, str]]]
Trace = Callable[[str], None]


def user_agent() -> str:
    """Return ``gopush/<version> (python/<x.y>; httpx/<z>)``."""
    py = ".".join(platform.python_version_tuple()[:2])
    return f"gopush/{__version__} (python/{py}; httpx/{httpx.__version__})"


class RetryableStatus(Exception):
    """A reply worth another try (429, 5xx); carries the response and any Retry-After."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code}")
        self.response = response
        self.retry_after = retry_after_seconds(response)


def retry_after_seconds(response: httpx.Response, now: float | None = None) -> float | None:
    """Return the wait a ``Retry-After`` header asks for (seconds or HTTP date), capped."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    now = time.time() if now is None else now
    return min(max(0.0, when.timestamp() - now), MAX_RETRY_AFTER)


def retry_wait(exc: Exception) -> bool | float:
    """Decide whether ``exc`` is worth another try, and how long to wait (stamina hook).

    A TLS failure is not retried: a certificate that does not verify, or a server speaking
    plain http, gives the same answer every time.
    """
    if isinstance(exc, RetryableStatus):
        return exc.retry_after if exc.retry_after is not None else True
    return isinstance(exc, httpx.TransportError) and tls_failure(exc) is None


def refused_at_loopback(exc: BaseException, url: httpx.URL) -> bool:
    """Tell whether ``exc`` is a refused connection to a loopback address (``url``'s host:
    localhost, 127.0.0.0/8 or ::1): nothing listens on that port of this machine."""
    import ipaddress

    host = url.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return loopback and isinstance(exc, httpx.ConnectError) \
        and _in_chain(exc, ConnectionRefusedError) is not None


def _tried(tries: int, seconds: float) -> str:
    """Say how hard gopush tried: the tries made, not the most it would make (the retry
    budget stops new tries, and a try can end by its own read timeout)."""
    return f"tried {tries} time{'s' if tries != 1 else ''} over {seconds:.0f} s"


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """Return the TLS error behind a transport error (httpx chains httpcore's, which chains
    the ssl module's), or None when the failure was not TLS."""
    found = _in_chain(exc, ssl.SSLError)
    return found if isinstance(found, ssl.SSLError) else None


def _in_chain(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """Return the first exception of ``kind`` among ``exc`` and its causes, or None."""
    seen: BaseException | None = exc
    for _ in range(5):  # a short chain; never loop on a cycle
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _tls_hint(err: ssl.SSLError) -> str:
    reason = err.reason or ""
    if reason == "CERTIFICATE_VERIFY_FAILED":
        return ("the server's certificate does not verify; if a private CA signed it, set "
                "SSL_CERT_FILE to that CA's certificate (PEM)")
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                  "HTTP_REQUEST"):
        return ("the server does not speak TLS here: if it serves plain http (as "
                "`gopush serve` without --tls-cert does), write the API host as "
                "http://HOST:PORT (a host without a scheme means https)")
    return "the TLS handshake failed (not retried); check the API host's scheme and port"


class KeyAuth(httpx.Auth):
    """Adds the key at send time (never stored in client headers, so never in a repr)."""

    def __init__(self, credential: Credential, style: str, username: str | None = None) -> None:
        self._credential, self._style, self._username = credential, style, username

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        key = self._credential.key.reveal()
        if self._style == "x-api-key":
            request.headers["X-Api-Key"] = key
        elif self._style == "basic" and self._username:
            request.headers["Authorization"] = httpx.BasicAuth(self._username, key)._auth_header
        else:
            request.headers["Authorization"] = f"Bearer {key}"
        yield request


def _stamina() -> Any:
    """Import stamina (with tenacity, about 10 ms of a push's start-up: only at a call's first
    failure) with its retry hooks off: its default hook logs each retry through ``logging``,
    which prints bare ``stamina.retry_scheduled`` lines on stderr, past ``-q`` and ``--json``;
    gopush reports retries itself (``retry 1/5: ...`` with ``-v``)."""
    import stamina
    import stamina.instrumentation

    stamina.instrumentation.set_on_retry_hooks([])
    return stamina


def make_client(base_url: str, *, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """Return an httpx client with the house defaults (timeouts, UA, no redirects)."""
    return httpx.Client(base_url=base_url, timeout=TIMEOUT, follow_redirects=False,
                        headers={"User-Agent": user_agent(), "Accept": "application/json",
                                 "Accept-Encoding": "identity"},
                        transport=transport or LazyTlsTransport(retries=2))


def _with_deadlines(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """Give ``transport``'s connection pool the deadline-bound network backend.

    httpx builds the pool itself and offers no way to pass httpcore's public
    ``network_backend``, so it is set on the pool it built (tests/registry/
    test_http_deadline.py fails if a new httpx moves it).
    """
    pool = transport._pool
    pool._network_backend = deadline.DeadlineBackend(pool._network_backend)
    return transport


class LazyTlsTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` behaviour, with TLS set up only when an https URL is asked for.

    ``HTTPTransport`` builds its SSL context (loading the CA bundle: about 20 ms, twice per
    push since the API and GOPROXY sessions each have one) when it is created, even for a
    plain-http registry such as ``gopush serve`` on 127.0.0.1. Here the https transport is
    made at its first request, verifying as httpx does by default (``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` honoured); the plain-http one holds a context with no trusted
    certificates, which it never uses and which could verify nothing if it did.
    """

    def __init__(self, *, retries: int) -> None:
        self._retries = retries
        self._plain = _with_deadlines(httpx.HTTPTransport(
            verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT), retries=retries))
        self._tls: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through the transport for its scheme."""
        if request.url.scheme != "https":
            return self._plain.handle_request(request)
        if self._tls is None:
            self._tls = _with_deadlines(httpx.HTTPTransport(verify=True, retries=self._retries))
        return self._tls.handle_request(request)

    def close(self) -> None:
        """Close the transports made so far."""
        self._plain.close()
        if self._tls is not None:
            self._tls.close()


@dataclass
class Session:
    """An httpx client plus the retry policy, auth and a trace hook for -v/--debug."""

    client: httpx.Client
    credential: Credential | None = None
    auth_style: str = "x-api-key"
    username: str | None = None
    trace: Trace | None = None
    debug: bool = False
    announce: Trace | None = None  # each retry, why and when: shown without -v
    sleep: Callable[[float], None] = time.sleep
    attempts: int = ATTEMPTS
    timeout: float = DEFAULT_REQUEST_TIMEOUT  # the base of each request's deadline

    def request(self, method: str, url: str, *, what: str, json_body: Any = None,
                body: Body | None = None, params: dict[str, str] | None = None,
                send_key: bool = True, landed: Callable[[], httpx.Response | None] | None = None,
                rewind: Callable[[], None] | None = None,
                sink: Callable[[Iterator[bytes]], None] | None = None) -> httpx.Response:
        """Send one call with the retry policy and return its 2xx response.

        ``what`` names the step in messages ("request an upload slot"). ``body`` builds the
        content and extra headers afresh for every try; ``rewind`` undoes progress of a failed
        try; ``landed`` is asked before re-sending a non-idempotent call.

        Raises:
            AuthError, VersionExists, RegistryError: the registry refused (4xx), or
                redirected elsewhere.
            RegistryUnavailable: no 2xx after the retries, the network failed, the request
                overran its deadline, or the reply is larger than ``MAX_JSON_BYTES``.
        """
        started, tries = time.monotonic(), 1
        try:
            try:  # the first try: most calls need no other, and stamina need not be loaded
                return self._send_once(method, url, what, json_body, body, params, send_key,
                                       sink, rewind)
            except (RetryableStatus, httpx.TransportError) as exc:
                first = exc
            budget = RETRY_BUDGET - (time.monotonic() - started)
            if budget <= 0 or retry_wait(first) is False:  # budget spent, or not retryable
                raise first
            attempts, waits = self.attempts, {"wait_initial": 1.0, "wait_jitter": 1.0}
            if refused_at_loopback(first, self._full_url(url)):
                attempts = min(attempts, REFUSED_LOOPBACK_ATTEMPTS)
                budget = min(budget, REFUSED_LOOPBACK_BUDGET)
                waits = {"wait_initial": 0.5, "wait_jitter": 0.5}
            stamina = _stamina()
            for attempt in stamina.retry_context(on=retry_wait, attempts=attempts,
                                                 timeout=budget, wait_max=30.0, **waits):
                with attempt:
                    try:
                        if attempt.num == 1:
                            # stamina's first try replays the real one's failure, so its policy
                            # (give up, or back off / honour Retry-After) starts from it
                            raise first
                        tries = attempt.num
                        self.note(f"retry {attempt.num - 1}/{attempts - 1}: {what}")
                        if rewind is not None:
                            rewind()
                        if landed is not None and (done := landed()) is not None:
                            self.note(f"{what}: the earlier try had landed")
                            return done
                        return self._send_once(method, url, what, json_body, body, params,
                                               send_key, sink, rewind)
                    except (RetryableStatus, httpx.TransportError) as exc:
                        self._announce_retry(exc, attempt, attempts, url, what)
                        raise
        except RetryableStatus as exc:
            raise_for_registry_status(exc.response, what, self.scrub, retried=True)
        except httpx.TransportError as exc:
            tls = tls_failure(exc)
            tried = _tried(tries, time.monotonic() - started)
            if tls is not None:
                hint = _tls_hint(tls)
            elif refused_at_loopback(exc, self._full_url(url)):
                hint = (f"{tried}; nothing listens at {_origin(url, self.client)} on this "
                        "machine: check the port (`gopush serve` prints its URL) and that "
                        "the server runs")
            else:
                hint = f"{tried}; check the network and the API host"
            raise RegistryUnavailable(
                f"{what}: cannot reach {_origin(url, self.client)}: "
                f"{self.scrub(type(exc).__name__ + ': ' + str(exc))}", hint=hint) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _full_url(self, url: str) -> httpx.URL:
        return httpx.URL(str(self.client.base_url.join(url)))

    def _announce_retry(self, exc: Exception, attempt: Any, attempts: int, url: str,
                        what: str) -> None:
        """Say, before the wait, that a failed try will be retried: why, and in how long
        (stamina's next wait without its jitter, or the Retry-After the registry asked)."""
        wait = retry_wait(exc)
        if self.announce is None or attempt.num >= attempts or wait is False:
            return
        seconds = wait if not isinstance(wait, bool) else attempt.next_wait
        if isinstance(exc, RetryableStatus):
            why = f"the registry answered {exc.response.status_code}"
        else:
            why = (f"cannot reach {_origin(url, self.client)} "
                   f"({type(exc).__name__}: {one_line(str(exc))})")
        self.announce(self.scrub(f"{what}: {why}; try {attempt.num + 1} of {attempts} in "
                                 f"{seconds:.1f} s or more"))

    def _send_once(self, method: str, url: str, what: str, json_body: Any, body: Body | None,
                   params: dict[str, str] | None, send_key: bool,
                   sink: Callable[[Iterator[bytes]], None] | None,
                   rewind: Callable[[], None] | None = None) -> httpx.Response:
        """Send one try, following redirects within the origin, under one deadline.

        A 307/308 sends the body again: ``rewind`` first undoes the progress counted for
        the body sent to the redirecting URL, so progress counts the final request only.
        """
        with deadline.running(self.timeout, downloads=sink is not None) as limit:
            try:
                request = self._build(method, url, json_body, body, params)
                for _ in range(MAX_REDIRECTS):
                    response = self._exchange(request, what, send_key, sink)
                    target = self._redirect_target(response, what)
                    if target is None:
                        break
                    if rewind is not None:
                        rewind()
                    request = self._build(method, target, json_body, body, None)
                else:
                    response = self._exchange(request, what, send_key, sink)
                    if self._redirect_target(response, what, following=False) is not None:
                        raise self._redirect_loop(response, what)
            except httpx.TimeoutException:
                if limit.expired:
                    raise self._overran(url, what, limit) from None
                raise
        if response.status_code in RETRY_STATUSES:
            raise RetryableStatus(response)
        self._honour_rate_limit(response)
        if not 200 <= response.status_code < 300:
            raise_for_registry_status(response, what, self.scrub)
        return response

    def _build(self, method: str, url: str, json_body: Any, body: Body | None,
               params: dict[str, str] | None) -> httpx.Request:
        headers: dict[str, str] = {}
        content: Any = None
        if body is not None:
            content, headers = body()
        elif json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        return self.client.build_request(method, url, content=content, headers=headers,
                                         params=params)

    def _exchange(self, request: httpx.Request, what: str, send_key: bool,
                  sink: Callable[[Iterator[bytes]], None] | None) -> httpx.Response:
        """Send ``request`` and read its reply: into ``sink`` (a 2xx), else kept, capped."""
        auth = self._auth() if send_key else None
        started = time.monotonic()
        response = self.client.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT,
                                    stream=True)
        try:
            self._refuse_encoded(response, what)
            if sink is not None and 200 <= response.status_code < 300:
                sink(response.iter_raw(1 << 20))
            else:
                response = self._read_capped(response, what)
        finally:
            response.close()
        self._trace_request(request)  # after auth ran, so the trace shows it hidden
        self.note(f"{request.method} {redact_url(str(request.url))} -> "
                  f"{response.status_code} ({time.monotonic() - started:.2f}s)")
        return response

    def _refuse_encoded(self, response: httpx.Response, what: str) -> None:
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise RegistryUnavailable(
                f"{what}: {self._origin(response)} sent a {encoding}-compressed reply, which "
                "gopush did not ask for (it reads replies uncompressed, to bound them)",
                hint="a proxy in between may be compressing replies; check the API host")

    def _read_capped(self, response: httpx.Response, what: str) -> httpx.Response:
        """Return a copy of ``response`` holding its body, read up to ``MAX_JSON_BYTES``.

        Raises:
            RegistryUnavailable: the reply declares or sends more (reading stops there).
        """
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_JSON_BYTES:
            raise self._too_large(response, what, f"{int(declared):,} bytes (declared)")
        kept: list[bytes] = []
        size = 0
        for chunk in response.iter_raw(1 << 16):
            size += len(chunk)
            if size > MAX_JSON_BYTES:
                raise self._too_large(response, what, f"more than {size:,} bytes")
            kept.append(chunk)
        reason = {k: v for k, v in response.extensions.items() if k == "reason_phrase"}
        return httpx.Response(response.status_code, headers=response.headers,
                              content=b"".join(kept), request=response.request,
                              extensions=reason)

    def _too_large(self, response: httpx.Response, what: str, size: str) -> RegistryUnavailable:
        return RegistryUnavailable(
            f"{what}: {self._origin(response)} sent a reply ({response.status_code}) of {size}; "
            f"gopush reads at most {MAX_JSON_BYTES:,} bytes of a reply and stopped there",
            data={"http_status": response.status_code},
            hint="a registry's replies are far smaller: a proxy or a wrong API host may be "
                 "answering; check the API host")

    def _redirect_target(self, response: httpx.Response, what: str,
                         *, following: bool = True) -> str | None:
        """Return where a redirect within the origin leads, None for any other reply
        (``following``: gopush will follow it, and says so with -v).

        A 301/302/303 is followed for GET and HEAD only (others would turn into a GET);
        307/308 for any method, with the body built afresh.

        Raises:
            RegistryError: the redirect leads to another origin or carries credentials.
        """
        location = response.headers.get("location")
        if response.status_code not in REDIRECTS or not location:
            return None
        if response.status_code < 307 and response.request.method not in ("GET", "HEAD"):
            return None  # refused by raise_for_registry_status as any other redirect
        source = response.request.url
        try:
            target = source.join(location)
        except httpx.InvalidURL:
            target = None
        shown = redact_url(str(target) if target is not None else location)
        if target is None or target.userinfo or _origin_of(target) != _origin_of(source):
            why = ("it carries credentials" if target is not None and target.userinfo
                   and _origin_of(target) == _origin_of(source) else
                   f"it leaves {_origin_of(source)}")
            raise RegistryError(
                f"{what}: the registry redirected ({response.status_code}) to {shown}; "
                f"gopush did not follow: {why}", status=response.status_code,
                data={"http_status": response.status_code, "location": shown},
                hint=_REDIRECT_HINT)
        if following:
            self.note(f"{what}: following a redirect ({response.status_code}) to {shown}")
        return str(target)

    def _redirect_loop(self, response: httpx.Response, what: str) -> RegistryError:
        shown = redact_url(str(response.request.url.join(response.headers["location"])))
        return RegistryError(
            f"{what}: too many redirects (a loop?): {MAX_REDIRECTS} followed within "
            f"{self._origin(response)}, and the last reply redirects again "
            f"({response.status_code}) to {shown}", status=response.status_code,
            data={"http_status": response.status_code, "location": shown},
            hint="the registry (or a proxy in between) redirects without end; point "
                 "--api-host at the final address")

    def _overran(self, url: str, what: str, limit: deadline.Deadline) -> RegistryUnavailable:
        return RegistryUnavailable(
            f"{what}: {_origin(url, self.client)} did not finish within the request deadline "
            f"({limit.allowed():.1f} s: {self.timeout:g} s, plus 1 s per "
            f"{deadline.MIN_RATE // 1024} KiB of upload or download moved)",
            hint="the registry (or a proxy in between) answered too slowly or without end; "
                 "the deadline is --request-timeout (GOPUSH_REQUEST_TIMEOUT); a request that "
                 "overran it is not tried again")

    def _origin(self, response: httpx.Response) -> str:
        return _origin_of(response.request.url)

    def _auth(self) -> httpx.Auth | None:
        if self.credential is None:
            return None
        return KeyAuth(self.credential, self.auth_style, self.username)

    def _honour_rate_limit(self, response: httpx.Response) -> None:
        pause = _float(response.headers.get("x-ratelimit-interval"))
        if response.headers.get("x-ratelimit-remaining", "").strip() == "0":
            reset = _float(response.headers.get("x-ratelimit-reset"))
            if reset:
                pause = max(pause, reset - datetime.now(UTC).timestamp())
        if pause > 0:
            pause = min(pause, MAX_PAUSE)
            self.note(f"rate limit: pausing {pause:.1f}s as the registry asks")
            self.sleep(pause)

    def _trace_request(self, request: httpx.Request) -> None:
        if self.debug and self.trace is not None:
            self.trace(f"> {request.method} {redact_url(str(request.url))}")
            for name, value in request.headers.items():
                hidden = name.lower() in ("x-api-key", "authorization", "cookie")
                self.trace(f"> {name}: {'***' if hidden else value}")

    def note(self, message: str) -> None:
        """Pass ``message``, redacted, to the trace hook (shown with -v)."""
        if self.trace is not None:
            self.trace(self.scrub(message))

    def scrub(self, text: str) -> str:
        """Return ``text`` redacted (``config.credentials.redact``), the API key included."""
        key = self.credential.key.reveal() if self.credential is not None else ""
        return redact(text, (key,))

    def decode(self, response: httpx.Response, what: str) -> Any:
        """Return the JSON value of a reply (any JSON: object, list, string...).

        Raises:
            RegistryUnavailable: the reply cannot be read (``decode_json``), exit 6.
        """
        try:
            return decode_json(response)
        except UnreadableJson as exc:
            snippet = self.scrub(one_line(response.text[:200]))
            raise RegistryUnavailable(
                f"{what}: the registry sent a reply gopush cannot read "
                f"({response.status_code}, {exc.why}): {snippet!r}",
                data={"http_status": response.status_code}, hint=_UNREADABLE_HINT) from None

    def parse_json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        """Return the JSON object of a reply.

        Raises:
            RegistryUnavailable: the body cannot be read, or is not a JSON object (a broken
                registry or proxy), exit 6.
        """
        data = self.decode(response, what)
        if not isinstance(data, dict):
            snippet = self.scrub(one_line(response.text[:200]))
            raise RegistryUnavailable(
                f"{what}: the registry sent a reply gopush cannot read "
                f"({response.status_code}, not a JSON object): {snippet!r}",
                data={"http_status": response.status_code}, hint=_UNREADABLE_HINT)
        return data

    def close(self) -> None:
        """Close the underlying client."""
        self.client.close()


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _origin(url: str, client: httpx.Client) -> str:
    full = client.base_url.join(url) if not url.startswith(("http://", "https://")) else url
    return _origin_of(httpx.URL(str(full)))


def _origin_of(url: httpx.URL) -> str:
    """Return ``scheme://host[:port]`` (the port only when not the scheme's default)."""
    return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")


def decode_json(response: httpx.Response) -> Any:
    """Return the JSON value of ``response``'s body (at most ``MAX_JSON_BYTES``): the one
    place registry JSON is decoded, by ``boundedjson.loads``.

    Raises:
        UnreadableJson: not UTF-8 JSON, nested too deeply, or a number too long to read.
    """
    return boundedjson.loads(response.content)


def error_detail(response: httpx.Response) -> tuple[str, list[str], dict[str, Any]]:
    """Return the server's ``detail``, its ``fields`` as lines, and the raw fields."""
    try:
        body = decode_json(response)
    except UnreadableJson:
        body = None
    if not isinstance(body, dict):
        text = response.text.strip()[:500]
        return (text or response.reason_phrase), [], {}
    errors = body.get("errors")  # Artifactory: {"errors": [{"status", "message"}]}
    listed = "; ".join(str(e.get("message", e)) for e in errors if isinstance(e, dict)) if (
        isinstance(errors, list)) else ""
    detail = str(body.get("detail") or body.get("message") or body.get("error") or listed
                 or response.reason_phrase)[:500]
    raw_fields = body.get("fields")
    fields: dict[str, Any] = raw_fields if isinstance(raw_fields, dict) else {}
    lines = []
    for name, messages in fields.items():
        if isinstance(messages, dict):
            messages = [messages.get("detail", "")]
        if not isinstance(messages, list):
            messages = [messages]
        lines.append(f"{name}: {' '.join(str(m) for m in messages)}")
    return detail, lines, fields


def _scrubbed(value: Any, scrub: Callable[[str], str]) -> Any:
    """Return a field's JSON value with the same shape (lists stay lists), strings scrubbed."""
    if isinstance(value, list):
        return [_scrubbed(item, scrub) for item in value]
    if isinstance(value, dict):
        return {str(k): _scrubbed(v, scrub) for k, v in value.items()}
    return scrub(str(value))


def raise_for_registry_status(response: httpx.Response, what: str,
                              scrub: Callable[[str], str] = lambda s: s,
                              *, retried: bool = False) -> None:
    """Raise the exception that names why the registry answered ``response``.

    Raises:
        AuthError: 401 or 403.
        VersionExists: 409.
        RegistryUnavailable: 429 or 5xx (after the retries); 507, the registry's disk is
            full, at once (not retried).
        RegistryError: any other non-2xx (400, 404, 413, 422, redirects...).
    """
    status = response.status_code
    detail, lines, fields = error_detail(response)
    # the registry's words, each one line (gopush.text): they may not start lines of their own
    detail, lines = scrub(one_line(detail)), [scrub(one_line(line)) for line in lines]
    head = f"{what}: the registry answered {status} {response.reason_phrase}: {detail}"
    message = "\n".join([head, *(f"  {line}" for line in lines)])
    data = {"http_status": status, "detail": detail,
            "fields": {str(k): _scrubbed(v, scrub) for k, v in fields.items()},
            "url": redact_url(str(response.request.url)) if _has_request(response) else None}
    if 300 <= status < 400:
        where = scrub(redact_url(response.headers.get("location", "?")))
        message = f"{what}: unexpected redirect ({status}) to {where}"
    cls, hint = _BY_STATUS.get(status, (None, ""))
    if cls is None:
        retryable = status == 429 or status >= 500
        cls = RegistryUnavailable if retryable else RegistryError
        hint = ((f"the registry is overloaded or down{' after retries' if retried else ''}; "
                 "run the same command again later (it resumes safely)") if retryable else
                "the registry refused the request; the lines above are its reasons")
    error: GopushError = cls(message, status=status, data=data, hint=hint)
    raise error


_UNREADABLE_HINT = ("a proxy or load balancer may be answering instead of the registry; "
                    "check the API host")
_REDIRECT_HINT = ("point --api-host at the final address (redirects are followed only "
                  "within the same scheme, host and port, so the key never leaves the host)")
_HINT_401 = "the API key was refused; check GOPUSH_API_KEY / --api-key (`gopush whoami` tests it)"
_HINT_403 = ("the key is valid but may not do this; the reason above says what it lacks: a push "
             "needs write access to the repository; deleting, tagging and tokens need a key "
             "that may manage it (a CI's push-only token from keyless push may not)")
_HINT_404 = ("the owner or repository does not exist or is not visible to this key; check "
             "OWNER/REPO and the API host")
_HINT_409 = "the version exists; pass --republish to overwrite it"
_HINT_413 = "the registry's size limit is below this file (go accepts module zips up to 500 MiB)"
_HINT_507 = ("the registry has no room to store this (nothing of it was kept); once its "
             "operators free disk space, run the same command again")
_BY_STATUS: dict[int, tuple[type[RegistryError], str]] = {
    301: (RegistryError, _REDIRECT_HINT), 302: (RegistryError, _REDIRECT_HINT),
    307: (RegistryError, _REDIRECT_HINT), 308: (RegistryError, _REDIRECT_HINT),
    401: (AuthError, _HINT_401), 403: (AuthError, _HINT_403), 404: (RegistryError, _HINT_404),
    409: (VersionExists, _HINT_409), 413: (RegistryError, _HINT_413),
    507: (RegistryUnavailable, _HINT_507),
}


def _has_request(response: httpx.Response) -> bool:
    try:
        return response.request is not None
    except RuntimeError:
        return False
