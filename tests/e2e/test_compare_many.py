"""scripts/compare_many.py end to end, on a small mirror made here (CI has no public clones).

The runner is a manual check on public repositories; this keeps it working: a multi-module
repository (root, a subdirectory module with prefixed tags, a /v3 module in v3/) compared
tag by tag and at HEAD against the real go, and a listed repository missing from the mirror.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from gitrepo import GitRepo

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "compare_many.py"


def _mirror(tmp_path: Path) -> Path:
    """MIRROR/acme+multi/repo: three modules, five tags, one untagged HEAD."""
    repo = GitRepo(tmp_path / "mirror" / "acme+multi" / "repo")
    repo.commit(files={"go.mod": "module github.com/acme/multi\n\ngo 1.21\n",
                       "a.go": "package multi\n",
                       "sub/go.mod": "module github.com/acme/multi/sub\n\ngo 1.22\n",
                       "sub/s.go": "package sub\n"})
    repo.tag("v1.0.0")
    repo.tag("sub/v0.1.0")
    repo.commit(files={"v3/go.mod": "module github.com/acme/multi/v3\n\ngo 1.23\n",
                       "v3/m.go": "package multi\n", "b.go": "package multi\n"})
    repo.tag("v1.1.0")
    repo.tag("v3.0.0")
    repo.commit(files={"sub/t.go": "package sub\n"})
    repo.tag("sub/v0.2.0")
    repo.commit(files={"c.go": "package multi\n"})
    return tmp_path / "mirror"


def _run(tmp_path: Path, repos: list[dict]) -> subprocess.CompletedProcess[str]:
    listing = tmp_path / "repos.json"
    listing.write_text(json.dumps({"repos": repos}))
    return subprocess.run([sys.executable, str(SCRIPT), "--mirror", str(_mirror(tmp_path)),
                           "--list", str(listing)],
                          capture_output=True, text=True, timeout=600, check=False)


def test_multi_module_repository_is_the_same_as_go(tmp_path: Path) -> None:
    """Every module found, every tag and HEAD compared: all the same as go, exit 0."""
    proc = _run(tmp_path, [{
        "mirror": "acme+multi", "url": "https://github.com/acme/multi", "discover": True,
        "modules": [{"path": "github.com/acme/multi", "major": "v1"},
                    {"path": "github.com/acme/multi/v3", "subdir": "v3"}],
        "why": "test"}])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # 3 modules; root v1.1.0 v1.0.0 HEAD, sub v0.2.0 v0.1.0 HEAD, v3 v3.0.0 HEAD, and by
    # commit the commit tagged both v1.1.0 and v3.0.0, for root and v3: 10 revisions
    total = proc.stdout.strip().splitlines()[-1]
    assert total.startswith("| **1 repositories** | 3 | 10 | 10 | 0 | 0 | 0 | 0 |"), proc.stdout


def test_missing_clone_is_named_and_exits_2(tmp_path: Path) -> None:
    """A listed repository absent from the mirror is named; the others still run; exit 2."""
    proc = _run(tmp_path, [
        {"mirror": "acme+absent", "url": "https://github.com/acme/absent",
         "modules": [{"path": "github.com/acme/absent"}], "why": "test"},
        {"mirror": "acme+multi", "url": "https://github.com/acme/multi",
         "modules": [{"path": "github.com/acme/multi/sub", "subdir": "sub", "last": 1}],
         "why": "test"}])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "acme+absent (github.com/acme/absent) | missing from the mirror" in proc.stdout
    assert "| acme+multi (github.com/acme/multi) | 1 | 2 | 2 | 0 | 0 | 0 | 0 |" in proc.stdout
