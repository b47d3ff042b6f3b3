"""Benchmark: 20 modules downloaded in parallel from three instances behind HAProxy vs from
one instance on SQLite, in the same run.

Usage:
    python benchmarks/scale_out.py [--modules 20] [--size-mb 5] [--rounds 5] [--pg-blobs]

Builds N modules of incompressible data and pushes them to the registries on 127.0.0.1:
one `gopush serve` on SQLite (the default), and three `gopush serve` on one throwaway
PostgreSQL cluster (tests/pgserver.py) sharing one --data directory behind HAProxy
(tests/balancer.py, the README's configuration); with ``--pg-blobs`` also three more on a
database of their own with ``--blobs postgresql`` (blobs as large objects, no shared disk:
each instance its own --data, for scratch files only) behind a second HAProxy. All run for
the whole measurement, and the registries take turns round by round (the order alternating),
so load from elsewhere on the machine falls on all alike. For each registry:

- ``--rounds`` rounds of N GOPROXY GETs of the N zips at once (N threads, one request each,
  fresh connections): the latency of every request (to the last byte), so p50 and p95 are
  measured, and each round's throughput. Direct GETs rather than `go mod download`, because
  go reports no per-request time, so no p95 could come from it; the zip GET is the request
  that carries go's download.
- one `go mod download -json` of the N modules with an empty module cache (the real go,
  fetching in parallel), as the check that every Sum is the h1: gopush computed, and its
  wall time.

Prints each setup and its ratios to the one on SQLite (three behind HAProxy / one). Bounded:
a fixed number of requests, each with a timeout; every server is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from server_common import KEY, gopush_serve, make_module, push

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from balancer import Balancer  # the tests' helpers, reused
from pgdatabases import Databases

REPO = "bench/mods"
INSTANCES = 3


@dataclass
class Measured:
    """One setup's figures: request latencies (s), round throughputs (MB/s), go's run."""

    latencies: list[float]
    throughputs: list[float]
    go_seconds: float
    go_errors: int

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.latencies, n=20, method="inclusive")[-1]

    @property
    def throughput(self) -> float:
        return statistics.median(self.throughputs)


@contextmanager
def one_on_sqlite(root: Path) -> Iterator[str]:
    """One instance on SQLite; yield its URL."""
    with gopush_serve(root / "sqlite-data") as (_, url):
        yield url


@contextmanager
def three_behind_haproxy(root: Path, databases: Databases, pg_blobs: bool = False
                         ) -> Iterator[str]:
    """INSTANCES instances on a new database of ``databases`` behind HAProxy, sharing one
    --data directory, or with ``pg_blobs`` each its own --data and ``--blobs postgresql``;
    yield the balancer's URL."""
    database = databases.new()
    args = ["--blobs", "postgresql"] if pg_blobs else []
    with ExitStack() as stack:
        urls = [stack.enter_context(gopush_serve(
            root / (f"pgblobs-data{n}" if pg_blobs else "shared-data"), *args,
            env={"GOPUSH_SERVE_DATABASE": database}))[1] for n in range(INSTANCES)]
        balancer = Balancer.start(urls)
        try:
            yield balancer.url
        finally:
            balancer.stop()


def wait_published(url: str, packages: list[dict[str, object]], timeout: float = 300) -> None:
    """Wait until every package pushed is published: upload/go may answer while the package
    is still queued (another instance may process it), and a GET before then is a 404."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, headers={"X-Api-Key": KEY}, timeout=30) as api:
        for package in packages:
            while (status := api.get(f"/packages/{REPO}/{package['slug_perm']}/").json()[
                    "status_str"]) != "Completed":
                if status == "Failed" or time.monotonic() > deadline:
                    raise SystemExit(f"package {package['slug_perm']} was not published: "
                                     f"{status}")
                time.sleep(0.1)


def fetch_all(url: str, modules: list[str]) -> tuple[list[float], float]:
    """GET every module's zip at once; return each request's seconds and the MB/s."""
    def get(module: str) -> tuple[float, int]:
        started = time.perf_counter()
        reply = httpx.get(f"{url}/go/{REPO}/{module}/@v/v1.0.0.zip", timeout=120)
        reply.raise_for_status()
        return time.perf_counter() - started, len(reply.content)

    started = time.perf_counter()
    with ThreadPoolExecutor(len(modules)) as pool:
        done = list(pool.map(get, modules))
    elapsed = time.perf_counter() - started
    return [seconds for seconds, _ in done], sum(size for _, size in done) / 1e6 / elapsed


def go_download(url: str, root: Path, sums: dict[str, str]) -> tuple[float, int]:
    """Run one `go mod download -json` of every module; return seconds and how many failed
    or reported another Sum."""
    beside = Path(sys.executable).parent / "go"
    cache = Path(tempfile.mkdtemp(dir=root))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(cache), "GOPATH": str(cache / "gp"),
           "GOMODCACHE": str(cache / "mc"), "GOCACHE": str(cache / "gc"),
           "GOFLAGS": "-modcacherw", "GOPROXY": f"{url}/go/{REPO}/", "GOSUMDB": "off",
           "GOENV": "off", "GOTOOLCHAIN": "local"}
    started = time.perf_counter()
    proc = subprocess.run([str(beside) if beside.exists() else "go", "mod", "download", "-json",
                           *(f"{m}@v1.0.0" for m in sums)], env=env, cwd=cache,
                          capture_output=True, text=True, check=False, timeout=600)
    elapsed = time.perf_counter() - started
    docs = json.loads("[" + proc.stdout.replace("}\n{", "},\n{") + "]")
    bad = [d for d in docs if d.get("Error") or d.get("Sum") != sums[d["Path"]]]
    return elapsed, len(bad) + len(sums) - len(docs)


def measure(urls: dict[str, str], root: Path, zips: dict[str, tuple[Path, str]],
            rounds: int) -> dict[str, Measured]:
    """Push the zips to every registry of ``urls`` (name -> URL), then time ``rounds``
    parallel fetches of each, the registries in turn (the order alternating each round, so
    load from elsewhere falls on all alike), and one go run of each."""
    for url in urls.values():
        wait_published(url, [push(url, REPO, zip_path) for zip_path, _ in zips.values()])
        fetch_all(url, list(zips))  # one warm-up round, not counted (first reads from disk)
    latencies: dict[str, list[float]] = {name: [] for name in urls}
    throughputs: dict[str, list[float]] = {name: [] for name in urls}
    for n in range(rounds):
        for name in (list(urls) if n % 2 == 0 else list(reversed(urls))):
            seconds, mbps = fetch_all(urls[name], list(zips))
            latencies[name] += seconds
            throughputs[name].append(mbps)
    sums = {m: s for m, (_, s) in zips.items()}
    measured = {}
    for name, url in urls.items():
        go_seconds, go_errors = go_download(url, root, sums)
        measured[name] = Measured(latencies[name], throughputs[name], go_seconds, go_errors)
    return measured


def report(name: str, m: Measured) -> None:
    print(f"{name}: {m.throughput:.1f} MB/s (median of rounds), p50 {m.p50 * 1000:.0f} ms, "
          f"p95 {m.p95 * 1000:.0f} ms over {len(m.latencies)} requests; go mod download "
          f"{m.go_seconds:.2f} s, errors or sum mismatches: {m.go_errors}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument("--size-mb", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg-blobs", action="store_true",
                        help="also three instances with --blobs postgresql (no shared disk)")
    args = parser.parse_args()
    setups = {"one": "one instance, SQLite",
              "three": f"{INSTANCES} instances, PostgreSQL, shared --data, HAProxy"}
    if args.pg_blobs:
        setups["three-pg"] = f"{INSTANCES} instances, PostgreSQL, --blobs postgresql, HAProxy"
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        size = int(args.size_mb * (1 << 20))
        zips = {f"example.com/bench/m{n:02d}": make_module(root, f"example.com/bench/m{n:02d}",
                                                           "v1.0.0", [size], seed=n)
                for n in range(args.modules)}
        print(f"{args.modules} modules of {args.size_mb} MB, {args.rounds} rounds of "
              f"{args.modules} parallel zip GETs each; load average {os.getloadavg()[0]:.1f}")
        databases = Databases()
        try:
            with ExitStack() as stack:
                urls = {"one": stack.enter_context(one_on_sqlite(root)),
                        "three": stack.enter_context(three_behind_haproxy(root, databases))}
                if args.pg_blobs:
                    urls["three-pg"] = stack.enter_context(
                        three_behind_haproxy(root, databases, pg_blobs=True))
                measured = measure(urls, root, zips, args.rounds)
        finally:
            databases.close()
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    one = measured["one"]
    for name, title in setups.items():
        report(title, measured[name])
    for name in list(setups)[1:]:
        m = measured[name]
        print(f"ratios ({name} / one): throughput {m.throughput / one.throughput:.2f}, "
              f"p95 {m.p95 / one.p95:.2f}, go mod download {m.go_seconds / one.go_seconds:.2f}")
    return 1 if any(m.go_errors for m in measured.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
