"""The Registry protocol every destination implements, and the records it returns.

``gopush.actions.push`` drives any registry the same way: ``lookup`` (is this module@version
already there, and with which ``h1:``?), ``validate`` (server-side checks, for --dry-run),
``publish`` (send it), ``wait`` (until consumers can fetch it). Registries never print; they
report through the callbacks they are given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from gopush.errors import RegistryError, RegistryUnavailable
from gopush.registry.artifact import ModuleArtifact

Progress = Callable[[int], None]
Status = Callable[[str, int | None], None]  # (message, percent or None)


class Existing(NamedTuple):
    """What a registry already holds for a module version."""

    sum: str | None  # h1: served to consumers; None when it cannot be read back yet
    package: str | None = None  # registry's package name (Cloudsmith slug)
    sha256: str | None = None  # of the stored zip, when the registry says
    state: str = "available"  # "available", or e.g. "syncing", "failed"


class Published(NamedTuple):
    """The outcome of ``publish`` (and of ``wait``)."""

    package: str | None = None  # Cloudsmith slug, or None where registries have none
    package_id: str | None = None  # Cloudsmith slug_perm
    synced: bool = True  # consumers can fetch it now


class ConsumerSetup(NamedTuple):
    """How consumers reach the registry: GOPROXY URL and, if private, the .netrc machine."""

    goproxy: str
    netrc_machine: str | None = None
    netrc_login: str = "token"


class ConsumerGuide(NamedTuple):
    """What a consumer sets to fetch the pushed modules."""

    goproxy: str
    gonosumdb: str
    netrc: str | None
    go_get: list[str]
    goauth: str | None = None  # the GOAUTH value (go 1.24+), beside the .netrc line

    def lines(self) -> list[str]:
        """Return the guide as shell lines with comments."""
        out = ["# consumers:", f"export GOPROXY={self.goproxy}",
               f"export GONOSUMDB={self.gonosumdb}  # private modules are not in sum.golang.org"]
        if self.netrc:
            out += ["# if the repository is private: add to ~/.netrc (never commit it)",
                    "# (or, with an API key: login USERNAME password KEY, the key's user)",
                    self.netrc]
        if self.goauth:
            out += ["# or, go 1.24+, no .netrc: gopush answers go's GOAUTH with GOPUSH_READ_TOKEN",
                    "# (or read_token in config.toml; else the API key)",
                    f"export GOAUTH='{self.goauth}'"]
        return out + self.go_get

    def as_json(self) -> dict[str, Any]:
        """Return the guide for the JSON document."""
        return {"GOPROXY": self.goproxy, "GONOSUMDB": self.gonosumdb, "netrc": self.netrc,
                "GOAUTH": self.goauth, "go_get": self.go_get}


def consumer_guide(setup: ConsumerSetup, modules: list[tuple[str, str]]) -> ConsumerGuide:
    """Return what consumers set to fetch ``modules`` ((path, version) pairs) from ``setup``."""
    goproxy = f"{setup.goproxy.rstrip('/')}/,https://proxy.golang.org,direct"
    if setup.goproxy.startswith("file://"):
        goproxy = f"{setup.goproxy},https://proxy.golang.org,direct"
    paths = sorted({module for module, _ in modules})
    netrc = None
    if setup.netrc_machine:
        secret = "<read token>" if setup.netrc_login == "token" else "<API key or password>"
        netrc = f"machine {setup.netrc_machine} login {setup.netrc_login} password {secret}"
    goauth = None
    if netrc and setup.goproxy.startswith("https://"):  # go sends GOAUTH headers over HTTPS only
        goauth = f"gopush goauth --goproxy {setup.goproxy}"
    return ConsumerGuide(goproxy=goproxy, gonosumdb=",".join(paths), netrc=netrc, goauth=goauth,
                         go_get=[f"go get {m}@{v}" for m, v in modules])


class Registry(Protocol):
    """A place module versions are published to."""

    def describe(self) -> str:
        """Return a short human name for messages ("acme/gomods at https://...")."""

    def consumer_setup(self) -> ConsumerSetup:
        """Return how consumers reach published modules."""

    def lookup(self, artifact: ModuleArtifact) -> Existing | None:
        """Return what the registry holds for artifact's module@version, or None."""

    def validate(self, artifact: ModuleArtifact, *, republish: bool) -> None:
        """Ask the registry whether it would accept ``artifact`` (no upload)."""

    def publish(self, artifact: ModuleArtifact, *, republish: bool,
                on_progress: Progress) -> Published:
        """Send ``artifact``; return as soon as the registry has accepted it."""

    def wait(self, published: Published, *, timeout: float, on_status: Status) -> Published:
        """Wait until consumers can fetch the published version, at most ``timeout`` s."""

    def download(self, module: str, version: str, dest: Path) -> str | None:
        """Save the published zip of module@version to ``dest``; return its h1: or None."""

    def whoami(self) -> dict[str, Any]:
        """Return who the credentials belong to (``authenticated``, ``name``...)."""

    def close(self) -> None:
        """Release network resources."""


def netrc_machine(url: str) -> str:
    """Return the .netrc ``machine`` name go matches for ``url``: host, with its port if any.

    go 1.27 compares the machine with the URL's host *including* a non-default port, so
    ``machine 127.0.0.1`` sends nothing to http://127.0.0.1:8080 (seen in tests/server).
    """
    from urllib.parse import urlsplit

    return urlsplit(url).netloc.rpartition("@")[2]


@contextmanager
def status_meanings(meanings: Mapping[int, tuple[type[RegistryError], str]]) -> Iterator[None]:
    """Re-raise a refusal whose status means something else on this server.

    ``gopush.registry.http`` maps statuses as most registries use them (401: key refused,
    403: not allowed, 409: version exists); a target whose server says otherwise (Gitea's
    403 is a quota, Artifactory's 409 a checksum mismatch) names, per status, the exception
    class (hence the exit code) and the hint to use instead. The message, with the server's
    own words, is kept; failures to reach the server (``RegistryUnavailable``) pass as they are.
    """
    try:
        yield
    except RegistryError as err:
        meaning = meanings.get(err.status or 0)
        if meaning is None or isinstance(err, RegistryUnavailable):
            raise
        cls, hint = meaning
        raise cls(err.message, hint=hint, status=err.status, data=err.data) from None
