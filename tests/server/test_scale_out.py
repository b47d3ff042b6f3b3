"""Three `gopush serve` instances on one PostgreSQL behind a real round-robin balancer
(HAProxy, tests/balancer.py): every client speaks only to the balancer.

- `gopush push` and the official cloudsmith-cli push through it, the 108 MiB module in parts
  included (its parts reach different instances), and the real go downloads every module
  through it with the h1: `gopush build` printed;
- ten concurrent pushes of one version (ten different zips) store exactly one;
- kill -9 of one instance while uploads go on loses nothing that was acknowledged (a
  completed upload, or a package upload/go answered 201), and the other instances finish
  the queue.

Every test runs once per blob store (``BLOB_STORES``): the instances share one --data
directory, or (``--blobs postgresql``) each runs without --data in a scratch directory of
its own, so nothing but the database is shared and no module byte is on local disk. The
instances are started by the README's commands (README "Deployment: several instances behind
a balancer"), word for word but for the address, port and paths, and HAProxy with the
README's configuration: ``test_the_readme_gives_what_these_tests_run`` holds the two together.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from balancer import Balancer, config
from balancer import unavailable as balancer_unavailable
from conftest import (
    KEY,
    Served,
    cloudsmith,
    create_package,
    gopush_build,
    seeded_bytes,
    start_serve,
    tagged_module,
)
from gotool import GoOracle
from pgdatabases import Databases
from pgdatabases import unavailable as pg_unavailable

from gopush.server.app import JOIN_CHECK
from gopush.server.scratch import OWNER

INSTANCES = 3
REPO = "acme/gomods"
README = Path(__file__).resolve().parents[2] / "README.md"
DEPLOYMENT = "#### Deployment: several instances behind a balancer"

# The README's commands, word for word. The tests run each with `python -m gopush`, on
# 127.0.0.1 and a free port, and a directory of the test in place of /srv/gopush; the
# environment (GOPUSH_SERVE_DATABASE, GOPUSH_SERVE_API_KEYS) is the README's too.
MIGRATE = "gopush serve --migrate-only"
BLOB_STORES: dict[str, str] = {  # blob store -> how each instance is started
    "shared-directory": "gopush serve --host 0.0.0.0 --port 8080 --new-repos --data /srv/gopush "
                        "--trusted-proxy 10.0.0.10",
    "postgresql": "gopush serve --host 0.0.0.0 --port 8080 --new-repos --blobs postgresql "
                  "--trusted-proxy 10.0.0.10",
}
SHARED = "/srv/gopush"
BALANCER = "10.0.0.10"  # the README's balancer address: X-Forwarded-For is believed from it


def serve_args(command: str, shared: Path) -> list[str]:
    """Return the arguments after `gopush serve` of a README command, as a test runs it: on
    127.0.0.1, with no --port (``start_serve`` gives a free one), ``shared`` for /srv/gopush,
    and the balancer on 127.0.0.1 too."""
    words = shlex.split(command)
    assert words[:2] == ["gopush", "serve"], command
    args = [str(shared) if word == SHARED else word for word in words[2:]]
    at = args.index("--port")
    del args[at:at + 2]
    return ["127.0.0.1" if word in ("0.0.0.0", BALANCER) else word for word in args]


@dataclass
class Cluster:
    """Instances on one PostgreSQL database behind HAProxy; clients use ``url`` only."""

    instances: list[Served]
    balancer: Balancer
    database: str
    blobs: str  # the BLOB_STORES key it was started with

    @property
    def url(self) -> str:
        return self.balancer.url

    def goproxy(self, repo: str = REPO) -> str:
        return f"{self.url}/go/{repo}/"

    def requests_per_instance(self) -> list[int]:
        """Return how many requests HAProxy sent to each instance so far."""
        stats = self.balancer.stats()
        return [int(stats[f"gopush{n}"]["stot"]) for n in range(len(self.instances))]

    def scratch_files(self) -> list[str]:
        """Return the files in the instances' scratch directories (DATA/tmp)."""
        return sorted(str(path) for served in self.instances
                      for path in (Path(served.data) / "tmp").rglob("*") if path.is_file())

    def local_files(self) -> list[str]:
        """Return the files in the instances' data directories (with --blobs postgresql,
        their scratch directories): with that store, none once every request is answered
        but the owner file each server holds (``server.scratch``)."""
        return sorted(str(path) for served in self.instances
                      for path in Path(served.data).rglob("*")
                      if path.is_file() and path.name != OWNER)


@pytest.fixture(params=sorted(BLOB_STORES))
def cluster(request: pytest.FixtureRequest, tmp_path: Path,
            pg_databases: Databases) -> Iterator[Cluster]:
    """Start INSTANCES `gopush serve` on one new PostgreSQL database and HAProxy before them,
    by the README's commands for the blob store of the parameter."""
    for why in (pg_unavailable(), balancer_unavailable()):
        if why:
            pytest.skip(why)
    database = pg_databases.new()
    migrated = subprocess.run([sys.executable, "-m", *shlex.split(MIGRATE)],
                              env={**os.environ, "GOPUSH_SERVE_DATABASE": database},
                              capture_output=True, text=True, timeout=120, check=False)
    assert migrated.returncode == 0, migrated.stderr
    args = serve_args(BLOB_STORES[request.param], tmp_path / "shared")
    instances: list[Served] = []
    balancer = None
    try:
        for n in range(INSTANCES):
            # each its own temporary directory: where an instance without --data keeps its
            # scratch files, inside the test's (a killed one cannot remove its own)
            scratch = tmp_path / f"tmp{n}"
            scratch.mkdir()
            instances.append(start_serve(None, *args, new_repos=False, env={
                "GOPUSH_SERVE_DATABASE": database, "TMPDIR": str(scratch)}))
        balancer = Balancer.start([served.url for served in instances])
        yield Cluster(instances, balancer, database, request.param)
    finally:
        if balancer is not None:
            balancer.stop()
        for served in instances:
            served.stop()


def gopush_push(url: str, zip_path: str | Path) -> subprocess.CompletedProcess[str]:
    """Run `gopush push go acme/gomods ZIP --json` against ``url``."""
    env = {**os.environ, "GOPUSH_API_HOST": url, "GOPUSH_API_KEY": KEY, "CI": "1",
           "NO_PROXY": "127.0.0.1"}
    return subprocess.run([sys.executable, "-m", "gopush", "push", "go", REPO, str(zip_path),
                           "--json"], env=env, capture_output=True, text=True, timeout=600,
                          check=False)


def official_push(exe: Path, cluster: Cluster, zip_path: str | Path) -> str:
    """Run `cloudsmith push go` through the balancer; return its output (exit 0 asserted)."""
    # `cloudsmith` reads only the URL of what it is given: the balancer's
    balanced = Served(cluster.instances[0].proc, cluster.instances[0].data, cluster.url, {})
    proc = cloudsmith(exe, balanced, "push", "go", REPO, str(zip_path), "--wait-interval", "0.2")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Package synchronised successfully" in out
    return out


def built_modules(root: Path, count: int, prefix: str) -> list[dict[str, Any]]:
    """Build ``count`` small modules example.com/PREFIX0… v1.0.0 with `gopush build`."""
    return [gopush_build(tagged_module(root / f"{prefix}{n}", f"example.com/{prefix}{n}",
                                       ["v1.0.0"]).path, "v1.0.0", root / f"dist-{prefix}{n}")
            for n in range(count)]


# The modules are built once for the file and pushed to each parameter's new cluster.

@pytest.fixture(scope="module")
def two_clients_modules(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Six small modules: three for `gopush push`, three for the official CLI."""
    root = tmp_path_factory.mktemp("clients")
    return built_modules(root, 3, "ours") + built_modules(root, 3, "theirs")


@pytest.fixture(scope="module")
def race_zips(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Ten different zips of example.com/race v1.0.0."""
    root = tmp_path_factory.mktemp("race")
    return [gopush_build(tagged_module(root / f"race{n}", "example.com/race", ["v1.0.0"],
                                       {"which.txt": f"contender {n}\n"}).path,
                         "v1.0.0", root / f"dist{n}") for n in range(10)]


def test_gopush_and_official_cli_push_through_balancer_and_go_downloads(
        cluster: Cluster, cloudsmith_cli: Path, go: GoOracle,
        two_clients_modules: list[dict[str, Any]]) -> None:
    """Pushes by both clients through HAProxy reach every instance; go downloads each
    module through HAProxy with the h1: gopush build printed. With --blobs postgresql no
    instance holds a file on local disk meanwhile."""
    ours, theirs = two_clients_modules[:3], two_clients_modules[3:]
    for built in ours:
        proc = gopush_push(cluster.url, built["zip"])
        assert proc.returncode == 0, proc.stderr
    for built in theirs:
        official_push(cloudsmith_cli, cluster, built["zip"])
    assert all(count > 0 for count in cluster.requests_per_instance()), \
        cluster.requests_per_instance()
    for built in ours + theirs:
        info = go.download(built["module"], "v1.0.0", GOPROXY=cluster.goproxy())
        assert info["Sum"] == built["sum"]
        assert info["GoModSum"] == built["gomod_sum"]
    if cluster.blobs == "postgresql":
        assert cluster.local_files() == []


def test_web_page_sign_in_stays_on_one_instance(cluster: Cluster, tmp_path: Path) -> None:
    """The web page's session lives in one instance's memory: through HAProxy a signed-in
    browser keeps seeing the signed-in page (the upload form), request after request."""
    import re

    built = built_modules(tmp_path, 1, "web")[0]
    assert gopush_push(cluster.url, built["zip"]).returncode == 0
    with httpx.Client(base_url=cluster.url, headers={"Origin": cluster.url}, timeout=30) as web:
        form = web.get("/web/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf, form
        signed = web.post("/web/login", data={"csrf": csrf.group(1), "api_key": KEY})
        assert signed.status_code == 303, signed.text
        for _ in range(2 * INSTANCES):
            page = web.get(f"/web/{REPO}")
            assert page.status_code == 200 and "Upload a module zip" in page.text, page.text[-2000:]


@pytest.mark.slow
def test_108_mib_form_post_through_balancer(
        cluster: Cluster, go: GoOracle, big_module: dict[str, Any]) -> None:
    """HAProxy passes a 108 MiB request body whole (no buffering, no size limit of its own):
    the zip in one presigned form POST, then go downloads it through HAProxy."""
    identifier = _upload(cluster.url, big_module["zip"])
    package = create_package(cluster.url, REPO, identifier)
    assert package.json()["status_str"] == "Completed", package.json()
    info = go.download("example.com/big", "v1.0.0", GOPROXY=cluster.goproxy())
    assert info["Sum"] == big_module["sum"]


@pytest.mark.slow
def test_108_mib_module_in_parts_through_balancer(
        cluster: Cluster, cloudsmith_cli: Path, go: GoOracle, big_module: dict[str, Any]) -> None:
    """The official CLI sends the 108 MiB zip in parts; round robin gives them to different
    instances, and go downloads the zip through HAProxy with the pushed h1:."""
    before = cluster.requests_per_instance()
    official_push(cloudsmith_cli, cluster, big_module["zip"])
    after = cluster.requests_per_instance()
    assert sum(1 for b, a in zip(before, after) if a > b) >= 2, (before, after)
    info = go.download("example.com/big", "v1.0.0", GOPROXY=cluster.goproxy())
    assert info["Sum"] == big_module["sum"]
    assert Path(info["Zip"]).stat().st_size == Path(big_module["zip"]).stat().st_size
    # The instance that joined the first parts in order, but did not get the complete,
    # drops its join (100 MiB) once it sees the upload finished (JOIN_CHECK, 10 s).
    deadline = time.monotonic() + 4 * JOIN_CHECK
    while (left := cluster.scratch_files()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert left == []
    if cluster.blobs == "postgresql":
        assert cluster.local_files() == []


def test_ten_concurrent_pushes_of_one_version_store_one(
        cluster: Cluster, go: GoOracle, race_zips: list[dict[str, Any]]) -> None:
    """Ten different zips of example.com/race v1.0.0, pushed at once through HAProxy (so
    through every instance): one is published, the nine others are refused as on one server,
    and go downloads the one published."""
    zips = race_zips
    assert len({built["sum"] for built in zips}) == 10
    identifiers = [_upload(cluster.url, built["zip"]) for built in zips]
    barrier = threading.Barrier(len(identifiers))

    def create(identifier: str) -> Any:
        barrier.wait()
        return create_package(cluster.url, REPO, identifier)

    before = cluster.requests_per_instance()
    with ThreadPoolExecutor(len(identifiers)) as pool:
        replies = list(pool.map(create, identifiers))
    after = cluster.requests_per_instance()
    assert all(a > b for b, a in zip(before, after)), (before, after)  # every instance took some
    won = [n for n, reply in enumerate(replies)
           if reply.status_code == 201 and reply.json()["status_str"] == "Completed"]
    assert len(won) == 1, [(r.status_code, r.json().get("status_str")) for r in replies]
    for reply in (r for n, r in enumerate(replies) if n != won[0]):
        assert reply.status_code in (201, 409, 422), reply.text
        if reply.status_code == 201:
            assert reply.json()["status_str"] == "Failed", reply.json()
    with httpx.Client(base_url=cluster.url, headers={"X-Api-Key": KEY}, timeout=30) as api:
        listed = api.get(f"/go/{REPO}/example.com/race/@v/list")
    assert listed.text.split() == ["v1.0.0"]
    info = go.download("example.com/race", "v1.0.0", GOPROXY=cluster.goproxy())
    assert info["Sum"] == zips[won[0]]["sum"]


# -- kill -9 of one instance during uploads ---------------------------------------------------

KILL_MODULES = 18
KILL_MODULE_BYTES = 6 << 20  # large enough that the queues are not empty at the kill
FINISH_AFTER_KILL = 60.0  # seconds for the others to finish the queue: more than a claim's lease


class Retry(Exception):
    """The balancer answered 502/503 or dropped the connection: the instance died mid-call."""


def _call(method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        reply = httpx.request(method, url, timeout=120, **kwargs)
    except httpx.TransportError as err:
        raise Retry(str(err)) from None
    if reply.status_code in (502, 503, 504):
        raise Retry(f"{reply.status_code}")
    return reply


def _upload(url: str, zip_path: str | Path) -> str:
    """Upload a zip (files create + presigned form POST); return the identifier once the
    server acknowledged the bytes (204). Raises Retry if an instance died mid-way."""
    import hashlib

    data = Path(zip_path).read_bytes()
    slot = _call("POST", f"{url}/files/{REPO}/", headers={"X-Api-Key": KEY}, json={
        "filename": Path(zip_path).name, "md5_checksum": hashlib.md5(data).hexdigest(),
        "method": "post"})
    assert slot.status_code == 202, slot.text
    body = slot.json()
    sent = _call("POST", body["upload_url"], data=body["upload_fields"],
                 files={"file": (Path(zip_path).name, data)})
    assert sent.status_code == 204, sent.text
    return str(body["identifier"])


@dataclass
class Pushed:
    """What the server acknowledged for one module: the upload, then the package."""

    built: dict[str, Any]
    identifier: str | None = None  # the upload was acknowledged (204)
    package: dict[str, Any] | None = None  # upload/go was acknowledged (201)
    instance: str = ""  # the instance that answered upload/go (it queued the package)


def _push_acknowledged(url: str, pushed: Pushed, deadline: float) -> None:
    """Push as a careful client does: retry a call the balancer lost (502, dropped); a new
    upload if the bytes were not acknowledged, the same identifier for upload/go if they
    were (upload/go is idempotent per upload)."""
    while time.monotonic() < deadline:
        try:
            if pushed.identifier is None:
                pushed.identifier = _upload(url, pushed.built["zip"])
            reply = _call("POST", f"{url}/packages/{REPO}/upload/go/",
                          headers={"X-Api-Key": KEY}, json={"package_file": pushed.identifier})
            assert reply.status_code == 201, reply.text
            pushed.instance = reply.headers.get("x-gopush-instance", "")
            pushed.package = reply.json()
            return
        except Retry:
            time.sleep(0.2)


@pytest.fixture(scope="module")
def kill_modules(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """KILL_MODULES modules of KILL_MODULE_BYTES incompressible bytes each."""
    root = tmp_path_factory.mktemp("kill")
    return [gopush_build(tagged_module(root / f"kill{n}", f"example.com/kill{n}", ["v1.0.0"],
                                       {"data.bin": seeded_bytes(1000 + n, KILL_MODULE_BYTES)}
                                       ).path, "v1.0.0", root / f"dist-kill{n}")
            for n in range(KILL_MODULES)]


def test_kill_9_of_one_instance_during_uploads_loses_nothing_acknowledged(
        cluster: Cluster, go: GoOracle, kill_modules: list[dict[str, Any]]) -> None:
    """Uploads go on through HAProxy while one instance is killed with SIGKILL: every upload
    and package acknowledged before or after the kill ends published (the two other instances
    finish the queue, the dead one's share included) and go downloads it with its h1:."""
    pushes = [Pushed(built) for built in kill_modules]
    victim = cluster.instances[0]
    deadline = time.monotonic() + 180
    with ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(_push_acknowledged, cluster.url, pushed, deadline)
                   for pushed in pushes]
        # kill while the victim's queue holds a package it acknowledged and has not processed
        while not (held := _pending(cluster.database, [
                p.package["slug_perm"] for p in pushes
                if p.package is not None and p.instance == "gopush0"])):
            assert time.monotonic() < deadline and not all(f.done() for f in futures), \
                "the victim never held an unprocessed package: nothing to show"
            time.sleep(0.01)
        victim.proc.send_signal(signal.SIGKILL)
        victim.proc.wait(10)
        killed_at = time.monotonic()
        for future in futures:
            future.result()
    if cluster.blobs == "postgresql":  # its private scratch directory outlives it: say what
        left = [path.stat().st_size for path in Path(victim.data).rglob("*")
                if path.is_file() and path.name != OWNER]
        print(f"\nthe killed instance left {len(left)} scratch files ({sum(left)} bytes) "
              f"in {victim.data}")
    cluster.balancer.wait_up(INSTANCES - 1)
    acknowledged = [p for p in pushes if p.package is not None]
    assert len(acknowledged) == KILL_MODULES, "a push was never acknowledged within 180 s"
    unfinished = _wait_completed(cluster.url, acknowledged, until=killed_at + FINISH_AFTER_KILL)
    assert not unfinished, (f"{len(unfinished)} of {len(acknowledged)} acknowledged packages "
                            f"never completed ({held} queued by the killed instance were "
                            f"unprocessed at the kill): {unfinished}")
    for pushed in acknowledged:
        info = go.download(pushed.built["module"], "v1.0.0", GOPROXY=cluster.goproxy())
        assert info["Sum"] == pushed.built["sum"]


def _wait_completed(url: str, pushes: list[Pushed], *, until: float) -> dict[str, str]:
    """Wait (until the monotonic time ``until``) for every package to be processed; return
    the module and state of those that are not completed."""
    left: dict[str, str] = {}
    with httpx.Client(base_url=url, headers={"X-Api-Key": KEY}, timeout=30) as api:
        while True:
            left = {}
            for pushed in pushes:
                assert pushed.package is not None
                package = api.get(f"/packages/{REPO}/{pushed.package['slug_perm']}/").json()
                if package["status_str"] != "Completed":
                    left[pushed.built["module"]] = package["status_str"]
            if not left or time.monotonic() > until:
                return left
            time.sleep(0.2)


def _pending(database: str, perms: list[str]) -> int:
    """Return how many of the packages ``perms`` are queued or syncing in the database now."""
    import psycopg

    if not perms:
        return 0
    with psycopg.connect(database) as conn:
        row = conn.execute("SELECT count(*) FROM packages WHERE state IN ('queued', 'syncing') "
                           "AND slug_perm = ANY(%s)", (perms,)).fetchone()
    assert row is not None
    return int(row[0])


def test_the_readme_gives_what_these_tests_run() -> None:
    """README "Deployment: several instances behind a balancer" gives exactly the commands
    the cluster fixture runs (the `gopush serve` lines of its shell block are MIGRATE and
    BLOB_STORES, word for word) and the HAProxy configuration tests/balancer.py writes,
    with the README's addresses, port and socket in place of the test's."""
    section = README.read_text().split(DEPLOYMENT, 1)[1].split("\n#### ", 1)[0]
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    shell, haproxy_cfg = blocks[0][1], blocks[1][1]
    commands = [shlex.join(shlex.split(line, comments=True))
                for line in shell.splitlines() if line.startswith("gopush serve")]
    assert commands == [MIGRATE, *BLOB_STORES.values()]
    addresses = re.findall(r"^    server gopush\d (\S+) check$", haproxy_cfg, re.MULTILINE)
    socket_path = re.findall(r"^    stats socket (\S+) ", haproxy_cfg, re.MULTILINE)
    assert len(addresses) == INSTANCES and len(socket_path) == 1, haproxy_cfg
    ours = config(80, Path(socket_path[0]), [f"http://{address}" for address in addresses])
    assert haproxy_cfg == ours.replace("    bind 127.0.0.1:80\n", "    bind :80\n")
