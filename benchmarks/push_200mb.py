"""Benchmark: push a 200 MB Go module to the embedded registry with gopush and with the
official cloudsmith-cli, in the same run; report wall time and peak RSS of each, and the
time of a small push.

Usage:
    python benchmarks/push_200mb.py [--size-mb 200] [--rounds 3] [--cloudsmith PATH]
                                    [--gopush-python PATH]

The official CLI runs from its own virtualenv (default: /tmp/cs-venv/bin/cloudsmith; create
it with `python -m venv /tmp/cs-venv && /tmp/cs-venv/bin/pip install cloudsmith-cli`).
gopush runs under ``--gopush-python`` (default: this interpreter). Measure a regular install
(``python -m venv v && v/bin/pip install .``) for the figures users get: an editable install
adds its import finder to every start (about 20 ms here).
All clients push to the same `gopush serve` on 127.0.0.1; every push gets its own freshly
written zip (distinct random content) and its own repository, so no push can skip work
because an earlier one stored the same bytes. Each round runs, in this order: gopush with
its defaults, the official CLI with its defaults (`--wait-interval 5`), and the official CLI
with `-I 0.2` (a faster sync polling than its users get). Medians are reported, and every
run.

How peak RSS is measured: Linux keeps ``ru_maxrss`` across fork+exec, so a child started
straight from this script would report this script's own peak. Every client therefore
starts from a tiny launcher (``python -I -S``, about 9 MB) that forks, execs the client and
reports the child's ``ru_maxrss`` from ``wait4()`` and the wall time; the launcher's size is
the floor of the measurement, and ``baseline_python_pass`` (the same launcher running
``python -c pass``) shows it. The small push is compared with ``dependency_floor_process``:
a process that only starts Python, imports click and httpx and makes a client, measured in
the same run, since that floor moves with the machine's speed. Zips are written by a separate process, so this script stays
small too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

KEY = "bench-key-not-secret"

# The start-up a small push cannot go below: the interpreter, then importing click and httpx
# (with what httpx needs for a request) and making a client, as gopush does for a
# plain-http registry (httpx's own CLI left out, as gopush leaves it out).
DEPENDENCY_FLOOR = """\
import sys
sys.modules["httpx._main"] = None
import click, httpx, httpcore, h11, ssl
httpx.Client(transport=httpx.HTTPTransport(verify=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)))
"""

# Forks, execs argv[2:], waits; writes "<wall seconds> <ru_maxrss kB> <exit code>" to argv[1].
LAUNCHER = """\
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as out:
    out.write(f"{wall} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_ready(port: int) -> bool:
    """Tell whether something answers HTTP on 127.0.0.1:port (no urllib: it weighs 10 MB)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"GET /status/check/basic/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `gopush serve` on a free port; return the process and its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--data", str(root), "--api-key", KEY,
                             "--new-repos"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        if server_ready(port):
            return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.05)
    proc.kill()
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    raise SystemExit(f"gopush serve did not start: {stderr[-2000:]}")


def make_module(directory: Path, module: str, version: str, size: int) -> Path:
    """Write a module zip with ``size`` incompressible bytes (split in 8 MiB files)."""
    from gopush.modzip.create import create_zip
    from gopush.modzip.files import DataFile

    directory.mkdir(parents=True, exist_ok=True)
    files = [DataFile("go.mod", f"module {module}\n".encode())]
    chunk, left, n = 8 << 20, size, 0
    while left > 0:
        files.append(DataFile(f"data/blob{n:03d}.bin", os.urandom(min(chunk, left))))
        left, n = left - chunk, n + 1
    path = directory / f"{version}.zip"
    create_zip(path, module, version, files)
    return path


def make_in_child(directory: Path, module: str, size: int) -> Path:
    """Write a module zip (v1.0.0) from another process, so this one never holds its bytes."""
    subprocess.run([sys.executable, __file__, "--make", str(directory), module, str(size)],
                   check=True)
    return directory / "v1.0.0.zip"


def measure(argv: list[str], env: dict[str, str], work: Path) -> dict[str, Any]:
    """Run argv through the launcher; return wall seconds, peak RSS (MB), exit code, output."""
    report = work / "launcher.out"
    launcher = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(report)]
    done = subprocess.run([*launcher, shutil.which(argv[0]) or argv[0], *argv[1:]], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    wall, maxrss_kb, code = report.read_text().split()
    output = done.stdout.decode(errors="replace")[-600:] if int(code) else ""
    return {"wall_s": round(float(wall), 3), "peak_rss_mb": round(int(maxrss_kb) / 1024, 1),
            "exit": int(code), **({"output": output} if output else {})}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the median wall time and peak RSS of ``runs``, and the runs themselves."""
    return {"median_wall_s": round(statistics.median(r["wall_s"] for r in runs), 3),
            "median_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
            "exits": sorted({r["exit"] for r in runs}), "runs": runs}


def client_env(url: str) -> dict[str, str]:
    """Return the environment both clients run with (same host and key, CI mode)."""
    return {**os.environ, "GOPUSH_API_HOST": url, "GOPUSH_API_KEY": KEY, "CI": "1",
            "NO_PROXY": "127.0.0.1,localhost", "CLOUDSMITH_API_HOST": url,
            "CLOUDSMITH_API_KEY": KEY, "CLOUDSMITH_NO_UPDATE_CHECK": "1",
            "CLOUDSMITH_NO_TELEMETRY": "1", "DO_NOT_TRACK": "1"}


def main() -> None:
    """Run the benchmark and print a JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3,
                        help="200 MB rounds (0: only the small pushes)")
    parser.add_argument("--small-runs", type=int, default=5)
    parser.add_argument("--cloudsmith", default="/tmp/cs-venv/bin/cloudsmith")
    parser.add_argument("--gopush-python", default=sys.executable,
                        help="the Python that has gopush installed (default: this one)")
    parser.add_argument("--make", nargs=3, metavar=("DIR", "MODULE", "SIZE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_module(Path(args.make[0]), args.make[1], "v1.0.0", int(args.make[2]))
        return
    work = Path(tempfile.mkdtemp(prefix="gopush-bench-"))
    server, url = start_server(work / "registry")
    try:
        results = run(args, url, work)
        print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, url: str, work: Path) -> dict[str, Any]:
    """Push with every client, round after round; return the figures."""
    env = client_env(url)
    size = args.size_mb * 1000 * 1000
    gopush = [*gopush_command(args.gopush_python), "push", "go"]
    official = shutil.which(args.cloudsmith) or (
        args.cloudsmith if Path(args.cloudsmith).exists() else None)
    clients: dict[str, list[str]] = {"gopush": [*gopush, "{repo}", "{zip}", "-q"]}
    if official:
        clients["cloudsmith_cli_default"] = [official, "push", "go", "{repo}", "{zip}"]
        clients["cloudsmith_cli_I0.2"] = [official, "push", "go", "{repo}", "{zip}", "-I", "0.2"]
    # small pushes first: after the big rounds the disk is still writing back ~1 GB, and the
    # server's fsyncs would wait for it, which is not what a small push costs. Each is
    # followed by a run of the dependency floor, so both see the machine in the same state.
    small, floor = [], []
    for i in range(args.small_runs):
        zip_path = make_in_child(work / f"small-{i}", "example.com/bench/small", 2000)
        small.append(measure([*gopush, f"acme/small-{i}", str(zip_path), "-q"], env, work))
        floor.append(measure([args.gopush_python, "-c", DEPENDENCY_FLOOR], env, work))
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in clients}
    for round_ in range(args.rounds):
        for name, template in clients.items():
            repo = f"acme/{name.replace('.', '')}-{round_}"
            zip_path = make_in_child(work / f"{name}-{round_}", f"example.com/bench/r{round_}",
                                     size)
            argv = [a.format(repo=repo, zip=zip_path) for a in template]
            runs[name].append(measure(argv, env, work))
            zip_path.unlink()
    results: dict[str, Any] = {"size_bytes": size, "server": url,
                               "gopush_python": args.gopush_python,
                               "baseline_python_pass": measure([sys.executable, "-c", "pass"],
                                                               env, work)}
    results.update({name: summary(r) for name, r in runs.items() if r})  # --rounds 0: none
    for name in clients:
        if name != "gopush" and runs[name]:
            results[f"wall_ratio_gopush_over_{name}"] = round(
                results["gopush"]["median_wall_s"] / results[name]["median_wall_s"], 3)
    results["small_push_process"] = summary(small)
    results["dependency_floor_process"] = summary(floor)
    results["small_push_over_dependency_floor"] = round(
        results["small_push_process"]["median_wall_s"]
        / results["dependency_floor_process"]["median_wall_s"], 2)
    results["small_push_in_process_s"] = small_push_in_process(url, work)
    return results


def gopush_command(python: str) -> list[str]:
    """Return how users start gopush from that Python's environment: its ``gopush`` console
    script (no ``runpy``), or ``python -m gopush`` where the script is missing."""
    script = Path(python).parent / "gopush"
    return [str(script)] if script.exists() else [python, "-m", "gopush"]


def small_push_in_process(url: str, work: Path) -> float:
    """Time the push action alone (no interpreter start-up) for a 2 kB module."""
    from gopush.actions.push import PushRequest, push
    from gopush.config.credentials import Credential, Secret
    from gopush.config.settings import Settings, Target
    from gopush.registry.factory import open_registry
    from gopush.ui.base import NullReporter

    zip_path = make_in_child(work / "tiny", "example.com/bench/tiny", 2000)
    settings = Settings(target=Target(kind="cloudsmith", location=url, repository="acme/tiny"),
                        credential=Credential(Secret(KEY), "bench"))
    registry = open_registry(settings)
    started = time.perf_counter()
    push(PushRequest(inputs=(zip_path,)), registry, NullReporter())
    elapsed = time.perf_counter() - started
    registry.close()
    return round(elapsed, 3)


if __name__ == "__main__":
    main()
