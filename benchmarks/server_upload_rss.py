"""Benchmark: memory of `gopush serve` while it receives and validates a 400 MiB module zip.

Usage:
    python benchmarks/server_upload_rss.py [--size-mb 400] [--method parts|form|web|layout]

Starts `gopush serve`, samples its resident set size (Linux /proc/PID/status VmRSS) every
20 ms while a 400 MiB module zip of incompressible data is uploaded (as the official CLI
does: 100 MiB part PUTs + complete, or one streamed form POST; or through the web page's
upload form after signing in, or its layout form with the zip's .mod and .info, checked
before it is stored) and turned into a package
(check_zip + hashing), and prints the baseline, the peak and the growth. Goal: growth flat,
peak <= 100 MB.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from server_common import gopush_serve, make_module, push, web_push


def rss_mb(pid: int) -> float:
    """Return the resident set size of process ``pid`` in MB (1e6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError("no VmRSS")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=400)
    parser.add_argument("--method", choices=["parts", "form", "web", "layout"], default="parts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        zip_path, h1 = make_module(root, "example.com/huge", "v1.0.0",
                                   [25 << 20] * (args.size_mb // 25), seed=400)
        size = zip_path.stat().st_size
        with gopush_serve(root / "data", "--repo", "bench/huge") as (proc, url):
            time.sleep(0.5)
            baseline = rss_mb(proc.pid)
            samples: list[float] = []
            done = threading.Event()

            def sample() -> None:
                while not done.is_set():
                    samples.append(rss_mb(proc.pid))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample)
            sampler.start()
            started = time.perf_counter()
            part_size = (100 << 20) if args.method == "parts" else size + 1
            package = (web_push(url, "bench/huge", zip_path, layout=args.method == "layout")
                       if args.method in ("web", "layout")
                       else push(url, "bench/huge", zip_path, part_size=part_size))
            elapsed = time.perf_counter() - started
            done.set()
            sampler.join()
    peak = max(samples)
    ok = package.get("is_sync_completed") is True and package.get("summary") == h1
    print(f"upload: {size / 1e6:.0f} MB via {args.method} in {elapsed:.1f} s "
          f"({size / 1e6 / elapsed:.0f} MB/s), package synced with go's h1: {ok}")
    print(f"server RSS: baseline {baseline:.1f} MB, peak {peak:.1f} MB, "
          f"growth {peak - baseline:.1f} MB over {len(samples)} samples")
    return 0 if ok and peak <= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
