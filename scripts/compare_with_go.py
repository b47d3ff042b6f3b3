"""Compare `gopush build` with `go mod download` on a real git repository, tag by tag.

For a local clone of a public repository (say one brought with the search tool's ``fetch``),
it maps the module's import path to the clone with a git ``insteadOf`` rewrite
(GOPROXY=direct, GOSUMDB=off, no network), then for each chosen revision compares the version,
``h1:`` and ``/go.mod h1:`` from both, and prints one line per revision.

Run:  python scripts/compare_with_go.py CLONE URL [--subdir DIR] [--module PATH]
                                         [--rev REV ...] [--last N] [--by-tag]

URL is the https URL go would fetch (https://github.com/OWNER/NAME, https://gopkg.in/x.v2);
hosts other than github.com are answered with a go-import meta tag by a loopback proxy.
Without --rev, the newest N tags of the module (default 5) are compared. go is asked for
MODULE@<commit>, or MODULE@<rev> with --by-tag (as `gopush build --rev TAG` promises).
Exit status 1 when any revision differs; both refusing counts as agreement.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from gotool import GoError, GoOracle, go_binary


def gopush(clone: Path, rev: str, subdir: str | None, module: str | None, out: Path) -> dict:
    """Run gopush build --json and return its document (or the error document)."""
    argv = [sys.executable, "-m", "gopush", "build", "--json", "--rev", rev, "--out", str(out),
            "--repo", str(clone)]
    if subdir:
        argv += ["--subdir", subdir]
    if module:
        argv += ["--module", module]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    return json.loads(proc.stdout) if proc.stdout.strip() else {"ok": False, "error": proc.stderr}


def module_tags(clone: Path, subdir: str | None, last: int) -> list[str]:
    """Return the newest ``last`` version tags of the module (by creator date); tags whose
    version is not canonical semver (``v1.2``, ``v1.0.0+meta``) are left out, as go ignores
    them."""
    from gopush.gosem import semver

    out = subprocess.run(["git", "-C", str(clone), "tag", "--sort=-creatordate"],
                         capture_output=True, text=True, check=True).stdout.split()
    prefix = f"{subdir}/" if subdir else ""
    picked = [t for t in out if t.startswith(prefix + "v") and "/" not in t[len(prefix):]
              and semver.canonical(t[len(prefix):]) == t[len(prefix):]]
    return picked[:last]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clone", type=Path)
    parser.add_argument("url")
    parser.add_argument("--subdir")
    parser.add_argument("--module")
    parser.add_argument("--by-tag", action="store_true")
    parser.add_argument("--rev", action="append")
    parser.add_argument("--last", type=int, default=5)
    args = parser.parse_args()
    go = go_binary()
    assert go, "go not found"
    revs = args.rev or module_tags(args.clone, args.subdir, args.last)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="gopush-compare-") as tmp:
        oracle = GoOracle(Path(tmp) / "go", go)
        if args.url.startswith("https://github.com/"):
            oracle.map_repo(args.clone, args.url)
        else:
            oracle.map_vanity(args.url.removeprefix("https://"), args.clone)
        for rev in revs:
            ours = gopush(args.clone, rev, args.subdir, args.module, Path(tmp) / "dist")
            commit = subprocess.run(["git", "-C", str(args.clone), "rev-parse",
                                     f"{rev}^{{commit}}"], capture_output=True, text=True,
                                    check=True).stdout.strip()
            module = ours.get("module") or args.module
            try:
                theirs = oracle.download(module, rev if args.by_tag else commit) if module else {}
            except GoError as err:
                theirs = {"Error": str(err).strip().splitlines()[-1]}
            same = (module and theirs.get("Version") == ours.get("version")
                    and theirs.get("Sum") == ours.get("sum")
                    and theirs.get("GoModSum") == ours.get("gomod_sum"))
            both_refused = bool(theirs.get("Error")) and not ours.get("ok", True)
            failures += not (same or both_refused)
            verdict = "SAME" if same else "BOTH-REFUSED" if both_refused else "DIFF"
            print(f"{verdict} {rev}: gopush {ours.get('version')} "
                  f"{ours.get('sum')} | go {theirs.get('Version')} {theirs.get('Sum')} "
                  f"{theirs.get('Error', '')}{'' if ours.get('ok', True) else ours.get('error')}")
        oracle.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
