"""Fixtures for the server tests: `gopush serve` as a real subprocess, modules built by
`gopush build` from real git repositories, the official cloudsmith-cli in its own venv, and a
test certificate authority for HTTPS."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo
from pgdatabases import Databases, unavailable
from testca import CertAuthority  # noqa: F401 (re-exported for the server tests)

KEY = "serve-test-key-7c41d2"


@dataclass
class Served:
    """A running `gopush serve` subprocess and what it printed at start."""

    proc: subprocess.Popen[bytes]
    data: Path
    url: str
    doc: dict[str, Any]
    argv: list[str] = field(default_factory=list)
    database: str | None = None  # its --database URL when not the SQLite file in data

    def goproxy(self, repo: str) -> str:
        """Return the GOPROXY URL of ``repo`` (OWNER/REPO)."""
        return f"{self.url}/go/{repo}/"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def peak_rss_mib(self, field: str = "VmHWM") -> float:
        """Return the server's peak resident set size (VmHWM) in MiB, or with ``field``
        "VmRSS" its resident set size now."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return next(int(line.split()[1]) for line in status.splitlines()
                    if line.startswith(f"{field}:")) / 1024

    def reset_peak_rss(self) -> None:
        """Start measuring the peak anew: VmHWM := current RSS (Linux >= 4.0)."""
        Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")

    def stderr(self) -> str:
        """Return what the server wrote to stderr (after it stopped)."""
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")


def start_serve(data: Path | None, *args: str, env: dict[str, str] | None = None,
                port: int = 0, new_repos: bool = True, **popen: Any) -> Served:
    """Start `gopush serve --json` on a loopback port; return once it accepts connections.

    ``data`` None starts it without ``--data``. Most tests push to repositories
    they never declare, which `--new-repos` allows; pass
    ``new_repos=False`` to get the default, where only `--repo` declares repositories.
    ``popen`` goes to subprocess.Popen (e.g. ``preexec_fn``, or ``stderr`` to a file).
    """
    argv = [sys.executable, "-m", "gopush", "serve", "--json", "--port", str(port),
            *(["--data", str(data)] if data is not None else []),
            *(["--new-repos"] if new_repos else []), *args]
    full_env = {**os.environ, "GOPUSH_SERVE_API_KEYS": KEY, **(env or {})}
    popen.setdefault("stderr", subprocess.PIPE)
    proc = subprocess.Popen(argv, env=full_env, stdout=subprocess.PIPE, **popen)
    assert proc.stdout is not None
    lines: list[bytes] = []
    while not lines or lines[-1].rstrip() != b"}":
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"gopush serve exited before printing its URL: {err[-2000:]}")
        lines.append(line)
    doc = json.loads(b"".join(lines))
    served = Served(proc, data or Path(doc["data"]), doc["url"], doc, argv)
    _wait_connectable(served)
    return served


def _wait_connectable(served: Served) -> None:
    host, port = served.url.rsplit("//", 1)[1].rsplit(":", 1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("gopush serve did not accept connections within 20 s")


# -- the metadata database the tests run on: SQLite, PostgreSQL, or both ------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run each test that uses ``db_backend`` (``storage_db``, ``serve``) on the backends
    ``--db-backend`` asks for: by default, tests marked ``both_databases`` on SQLite and
    PostgreSQL and the others on SQLite; ``sqlite_only`` tests never on PostgreSQL."""
    if "db_backend" not in metafunc.fixturenames or any(
            "db_backend" in str(mark.args[0]) for mark in metafunc.definition.iter_markers("parametrize")):
        return  # the test names its backend itself
    chosen = metafunc.config.getoption("--db-backend")
    both = chosen == "both" or (chosen == "default" and
                                metafunc.definition.get_closest_marker("both_databases"))
    backends = ["sqlite", "postgresql"] if both else [
        "postgresql" if chosen == "postgresql" else "sqlite"]
    if metafunc.definition.get_closest_marker("sqlite_only"):
        backends = ["sqlite"]
    elif metafunc.config.getoption("--blob-store") == "postgresql":
        backends = ["postgresql"]  # large objects live in the --database database
    metafunc.parametrize("db_backend", backends, indirect=True)


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    """The metadata database of this run of the test: "sqlite" or "postgresql"."""
    backend: str = request.param
    if backend == "postgresql" and (why := unavailable()):
        pytest.skip(why)
    if backend == "sqlite" and blobs_in_postgresql(request.config):
        pytest.skip("--blob-store=postgresql needs a PostgreSQL database")
    return backend


def blobs_in_postgresql(config: pytest.Config) -> bool:
    """Tell whether this run keeps blobs as PostgreSQL large objects (``--blob-store``)."""
    return bool(config.getoption("--blob-store") == "postgresql")


@pytest.fixture(autouse=True)
def blob_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The blob store of this run (``--blob-store``): "directory" or "postgresql". With
    postgresql, ``Storage(root, database)`` opens ``--blobs postgresql`` unless told
    otherwise, and every ``serve`` gets GOPUSH_SERVE_BLOBS=postgresql."""
    if not blobs_in_postgresql(request.config):
        return "directory"
    if request.node.get_closest_marker("directory_blobs"):
        pytest.skip("looks at the directory store's files")
    from gopush.server.storage import Storage

    monkeypatch.setattr(Storage.__init__, "__defaults__", (None, "postgresql"))
    return "postgresql"


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Databases]:
    """One PostgreSQL cluster for the session (started on first use), a database per ask."""
    databases = Databases()
    yield databases
    databases.close()


@pytest.fixture
def storage_db(db_backend: str, pg_databases: Databases) -> str | None:
    """The ``database`` to give ``Storage(root, database)``: None (SQLite under the data
    directory) or a new, empty PostgreSQL database's URL; reopening it reopens the same."""
    return pg_databases.new() if db_backend == "postgresql" else None


@pytest.fixture
def serve(tmp_path: Path, db_backend: str, pg_databases: Databases,
          blob_store: str) -> Iterator[Any]:
    """Return a starter of `gopush serve` subprocesses; all are stopped after the test.

    On PostgreSQL each data directory gets its own new database (GOPUSH_SERVE_DATABASE), so
    two servers are two registries as on SQLite, and a restart on the same data directory
    finds its registry again.
    """
    started: list[Served] = []
    databases: dict[Path, str] = {}

    def start(*args: str, data: Path | None = None, env: dict[str, str] | None = None,
              port: int = 0, new_repos: bool = True, **popen: Any) -> Served:
        data = data or tmp_path / f"data{len(started)}"
        if db_backend == "postgresql":
            if data not in databases:
                databases[data] = pg_databases.new()
            env = {"GOPUSH_SERVE_DATABASE": databases[data], **(env or {})}
        if blob_store == "postgresql":
            env = {"GOPUSH_SERVE_BLOBS": "postgresql", **(env or {})}
        served = start_serve(data, *args, env=env, port=port, new_repos=new_repos, **popen)
        served.database = (env or {}).get("GOPUSH_SERVE_DATABASE")
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


# -- modules built by `gopush build` from real git repositories --------------------------------


def gopush_build(repo: Path, rev: str, out: Path) -> dict[str, Any]:
    """Run `gopush build --json` on a git revision; return its JSON document."""
    proc = subprocess.run([sys.executable, "-m", "gopush", "build", "--repo", str(repo),
                           "--rev", rev, "--out", str(out), "--json"],
                          capture_output=True, text=True, check=False)
    doc = json.loads(proc.stdout)
    assert proc.returncode == 0 and doc["ok"], proc.stderr
    return doc


def tagged_module(path: Path, module: str, tags: list[str],
                  extra: dict[str, str | bytes] | None = None) -> GitRepo:
    """Create a git repository of ``module`` with one commit per tag, tagged."""
    repo = GitRepo(path)
    repo.git("config", "core.compression", "0")  # large random files: no point compressing
    for n, tag in enumerate(tags):
        files: dict[str, str | bytes] = {
            "go.mod": f"module {module}\n\ngo 1.21\n",
            "lib.go": f"package lib\n\n// Release is the tag this file was built for.\n"
                      f"const Release = \"{tag}\"\nconst N = {n}\n",
            "LICENSE": "MIT\n"}
        if n == 0 and extra:
            files.update(extra)
        repo.commit(f"release {tag}", files)
        repo.git("tag", tag)
    return repo


def seeded_bytes(seed: int, size: int) -> bytes:
    """Return ``size`` incompressible bytes, the same for the same seed (fast)."""
    import random

    return random.Random(seed).randbytes(size)


@pytest.fixture(scope="session")
def big_module(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build (once) a >= 100 MiB module zip with `gopush build`; return its JSON document."""
    root = tmp_path_factory.mktemp("big")
    extra: dict[str, str | bytes] = {f"assets/blob{n}.bin": seeded_bytes(n, 27 << 20)
                                     for n in range(4)}
    repo = tagged_module(root / "repo", "example.com/big", ["v1.0.0"], extra)
    doc = gopush_build(repo.path, "v1.0.0", root / "dist")
    assert Path(doc["zip"]).stat().st_size >= 100 * 1024 * 1024
    return doc


# -- the official cloudsmith-cli -------------------------------------------------------------


@pytest.fixture(scope="session")
def cloudsmith_cli(request: pytest.FixtureRequest) -> Path:
    """Install the official cloudsmith-cli from PyPI into its own venv (cached); return it."""
    venv = Path(request.config.cache.mkdir("cloudsmith-cli-venv"))
    exe = venv / "bin" / "cloudsmith"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        proc = subprocess.run([str(venv / "bin" / "pip"), "install", "-q",
                               "--disable-pip-version-check", "cloudsmith-cli"],
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.fail(f"pip install cloudsmith-cli failed: {proc.stderr[-2000:]}")
    return exe


def cloudsmith(exe: Path, served: Served, *args: str, key: str | None = KEY,
               timeout: float = 600,
               env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the official CLI against ``served`` (API host and key via the environment, and
    ``env_extra`` over them)."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ["HOME"],
           "NO_PROXY": "127.0.0.1,localhost", "CLOUDSMITH_API_HOST": served.url,
           "CLOUDSMITH_NO_UPDATE_CHECK": "1", "CLOUDSMITH_NO_TELEMETRY": "1",
           "DO_NOT_TRACK": "1", "CLOUDSMITH_NO_KEYRING": "1", "CI": "1", "LC_ALL": "C.UTF-8"}
    if key is not None:
        env["CLOUDSMITH_API_KEY"] = key
    env.update(env_extra or {})
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


# -- a minimal client of the upload API (the official CLI's calls, in-process) ----------------


def api_upload(url: str, repo: str, zip_path: str | Path, *, key: str = KEY,
               verify: Any = True) -> str:
    """Upload a zip through files create + the presigned form POST; return its identifier."""
    import hashlib

    import httpx

    data = Path(zip_path).read_bytes()
    with httpx.Client(base_url=url, headers={"X-Api-Key": key}, verify=verify,
                      timeout=120) as client:
        slot = client.post(f"/files/{repo}/", json={
            "filename": Path(zip_path).name, "md5_checksum": hashlib.md5(data).hexdigest(),
            "method": "post"})
        assert slot.status_code == 202, slot.text
        body = slot.json()
        sent = httpx.post(body["upload_url"], data=body["upload_fields"],  # no key: presigned
                          files={"file": (Path(zip_path).name, data)}, verify=verify)
        assert sent.status_code == 204, sent.text
        return str(body["identifier"])


@dataclass
class Settled:
    """An upload/go reply, with the package as it stands once the server processed it."""

    status_code: int
    package: dict[str, Any]
    text: str

    def json(self) -> dict[str, Any]:
        """Return the settled package (or the error body of a refused upload/go)."""
        return self.package


def settle(reply: Any, url: str, *, key: str = KEY, verify: Any = True,
           timeout: float = 60) -> Settled:
    """Wait until the package an upload/go reply created is completed or failed.

    A refused upload/go (not 201) is returned as it is.
    """
    import httpx

    body = reply.json()
    if reply.status_code != 201:
        return Settled(reply.status_code, body, reply.text)
    deadline = time.monotonic() + timeout
    path = f"{url}/packages/{body['namespace']}/{body['repository']}/{body['slug']}/"
    while body["is_sync_in_flight"] and time.monotonic() < deadline:
        time.sleep(0.02)
        body = httpx.get(path, headers={"X-Api-Key": key}, verify=verify, timeout=30).json()
    assert not body["is_sync_in_flight"], f"package still processing after {timeout}s: {body}"
    return Settled(reply.status_code, body, reply.text)


def create_package(url: str, repo: str, identifier: str, *, key: str = KEY,
                   republish: bool = False, verify: Any = True) -> Settled:
    """Call upload/go for an uploaded file; return the reply once the package settled."""
    import httpx

    reply = httpx.post(f"{url}/packages/{repo}/upload/go/", headers={"X-Api-Key": key},
                       json={"package_file": identifier, "republish": republish},
                       verify=verify, timeout=120)
    return settle(reply, url, key=key, verify=verify)


def api_push(url: str, repo: str, zip_path: str | Path, *, key: str = KEY,
             republish: bool = False, verify: Any = True) -> Settled:
    """Upload a zip and create its package; return the reply once the package settled."""
    identifier = api_upload(url, repo, zip_path, key=key, verify=verify)
    return create_package(url, repo, identifier, key=key, republish=republish, verify=verify)


def stored_upload(storage: Any, data: bytes) -> Any:
    """Store ``data`` as a finished form upload to acme/mods in ``storage``; return its slot."""
    repo = storage.ensure_repo("acme", "mods")
    slot, _ = storage.new_file(repo, "v1.0.0.zip", "0" * 32, "post")
    incoming = storage.blobs.incoming()
    incoming.write(data)
    return storage.complete_file(slot, incoming)
