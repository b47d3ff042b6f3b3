"""Benchmark: push a 200 MB Go module to the embedded registry with gopush and with the
official cloudsmith-cli, in the same run; report wall time and peak RSS of each, and the
time of a small push.

Usage:
    python benchmarks/push_200mb.py [--size-mb 200] [--cloudsmith PATH-TO-cloudsmith]

The official CLI runs from its own virtualenv (default: /tmp/cs-venv/bin/cloudsmith; create
it with `python -m venv /tmp/cs-venv && /tmp/cs-venv/bin/pip install cloudsmith-cli`).
Both clients push to the same `gopush serve` on 127.0.0.1, each to its own repository, so
neither sees the other's version. Peak RSS is the child's ru_maxrss from wait4().
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

KEY = "bench-key-not-secret"


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start `gopush serve` on a free port; return the process and its base URL."""
    port = free_port()
    env = {**os.environ, "GOPUSH_SERVE_API_KEY": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--root", str(root), "--api-key", KEY],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/status/check/basic/", timeout=0.5)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"gopush serve did not start: {proc.stderr.read().decode()[-2000:]}")


def make_module(directory: Path, module: str, version: str, size: int) -> Path:
    """Write a module zip with ``size`` incompressible bytes (split in 8 MiB files)."""
    directory.mkdir(parents=True, exist_ok=True)
    files = [DataFile("go.mod", f"module {module}\n".encode())]
    chunk, left, n = 8 << 20, size, 0
    while left > 0:
        files.append(DataFile(f"data/blob{n:03d}.bin", os.urandom(min(chunk, left))))
        left, n = left - chunk, n + 1
    path = directory / f"{version}.zip"
    create_zip(path, module, version, files, go_version="")
    return path


def measure(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, str]:
    """Run argv; return (wall seconds, peak RSS in MB, exit code, tail of output)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss / 1024, code, out.decode(errors="replace")[-600:]


def main() -> None:
    """Run the benchmark and print a JSON summary."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--cloudsmith", default="/tmp/cs-venv/bin/cloudsmith")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gopush-bench-"))
    server, url = start_server(work / "registry")
    try:
        size = args.size_mb * 1000 * 1000
        ours = make_module(work / "a", "example.com/bench/gopush", "v1.0.0", size)
        theirs = make_module(work / "b", "example.com/bench/cloudsmith", "v1.0.0", size)
        small = make_module(work / "c", "example.com/bench/small", "v1.0.0", 2000)
        env = {**os.environ, "GOPUSH_API_HOST": url, "GOPUSH_API_KEY": KEY, "CI": "1",
               "NO_PROXY": "127.0.0.1,localhost", "CLOUDSMITH_API_HOST": url,
               "CLOUDSMITH_API_KEY": KEY, "CLOUDSMITH_NO_UPDATE_CHECK": "1",
               "CLOUDSMITH_NO_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
        gopush = [sys.executable, "-m", "gopush", "push", "go"]
        results = {"size_bytes": ours.stat().st_size, "server": url}
        wall, rss, code, tail = measure([*gopush, "acme/gopush", str(ours), "-q"], env)
        results["gopush"] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss, 1),
                             "exit": code, "output": tail if code else ""}
        if shutil.which(args.cloudsmith) or Path(args.cloudsmith).exists():
            wall, rss, code, tail = measure([args.cloudsmith, "push", "go", "acme/official",
                                             str(theirs), "-I", "0.2"], env)
            results["cloudsmith_cli"] = {"wall_s": round(wall, 2), "peak_rss_mb": round(rss, 1),
                                         "exit": code, "output": tail if code else ""}
            if code == 0 and results["gopush"]["exit"] == 0:
                results["wall_ratio_gopush_over_cli"] = round(
                    results["gopush"]["wall_s"] / results["cloudsmith_cli"]["wall_s"], 3)
        wall, rss, code, _ = measure([*gopush, "acme/gopush", str(small), "-q"], env)
        results["small_push_process"] = {"wall_s": round(wall, 3), "peak_rss_mb": round(rss, 1),
                                         "exit": code}
        results["small_push_in_process_s"] = small_push_in_process(url, work)
        print(json.dumps(results, indent=2))
    finally:
        server.terminate()
        server.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def small_push_in_process(url: str, work: Path) -> float:
    """Time the push action alone (no interpreter start-up) for a 2 kB module."""
    from gopush.actions.push import PushRequest, push
    from gopush.config.credentials import Credential, Secret
    from gopush.config.settings import Settings, Target
    from gopush.registry.factory import open_registry
    from gopush.ui.base import NullReporter

    zip_path = make_module(work / "d", "example.com/bench/tiny", "v1.0.0", 2000)
    settings = Settings(target=Target(kind="cloudsmith", location=url, repository="acme/gopush"),
                        credential=Credential(Secret(KEY), "bench"))
    registry = open_registry(settings)
    started = time.perf_counter()
    push(PushRequest(inputs=(zip_path,)), registry, NullReporter())
    elapsed = time.perf_counter() - started
    registry.close()
    return round(elapsed, 3)


if __name__ == "__main__":
    main()
