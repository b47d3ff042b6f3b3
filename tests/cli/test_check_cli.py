"""`gopush check` on zips, revisions and directories: verdicts, h1:, exit codes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from cli.conftest import Run
from gitrepo import GitRepo


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    """Write a zip with exactly ``entries``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    return path


def test_check_revision_matches_build(gopush_cli: Run,
                                      git_repo: GitRepo) -> None:
    """check of a revision prints the same h1: that build writes to go.sum."""
    git_repo.commit(files={"go.mod": "module github.com/acme/chk\n\ngo 1.24\n",
                           "a.go": "package a\n", "vendor/modules.txt": "# x\n"})
    git_repo.tag("v1.0.0")
    code, out, err = gopush_cli(git_repo.path, "check", "--json")
    assert code == 0, err
    doc = json.loads(out)
    verdicts = {f["path"]: f["verdict"] for f in doc["files"]}
    assert verdicts == {"go.mod": "valid", "a.go": "valid", "vendor/modules.txt": "omitted"}
    code, built, _ = gopush_cli(git_repo.path, "build")
    assert code == 0
    assert built.splitlines()[0].split()[2] == doc["sum"]


def test_check_good_zip(gopush_cli: Run, tmp_path: Path) -> None:
    """A well-formed zip: exit 0, tab-separated verdicts and the h1: line."""
    zip_path = make_zip(tmp_path / "v1.0.0.zip", {
        "example.com/m@v1.0.0/go.mod": b"module example.com/m\n",
        "example.com/m@v1.0.0/m.go": b"package m\n"})
    code, out, _ = gopush_cli(tmp_path, "check", str(zip_path))
    assert code == 0
    assert "go.mod\tvalid" in out.replace("example.com/m@v1.0.0/", "")
    assert out.splitlines()[-1].startswith("example.com/m v1.0.0 h1:")


@pytest.mark.parametrize("entries", [
    {"example.com/m@v1.0.0/../evil.go": b"x"},
    {"example.com/m@v1.0.0/A.go": b"x", "example.com/m@v1.0.0/a.go": b"y"},
    {"example.com/m@v1.0.0/a.go": b"x", "other.com/n@v1.0.0/b.go": b"y"},
])
def test_check_hostile_zip(gopush_cli: Run, tmp_path: Path,
                           entries: dict[str, bytes]) -> None:
    """Hostile zips exit 4 with a JSON error document that still lists the verdicts."""
    zip_path = make_zip(tmp_path / "bad.zip", entries)
    code, out, err = gopush_cli(tmp_path, "check", "--json", str(zip_path))
    assert code == 4
    assert not (tmp_path / "example.com").exists()  # never extracted
    doc = json.loads(out)
    assert doc["ok"] is False and doc["error"]["message"]
    assert "Traceback" not in err


def test_check_prints_summary_counts(gopush_cli: Run, git_repo: GitRepo, tmp_path: Path) -> None:
    """check ends with the counts (valid, omitted, invalid) on stderr, in plain output as
    on a terminal, and in --json as "counts"; an invalid zip too."""
    git_repo.commit(files={"go.mod": "module github.com/acme/cnt\n\ngo 1.24\n",
                           "a.go": "package a\n", "vendor/modules.txt": "# x\n"})
    git_repo.tag("v1.0.0")
    code, _, err = gopush_cli(git_repo.path, "check")
    assert code == 0, err
    assert "github.com/acme/cnt@v1.0.0: 2 valid, 1 omitted, 0 invalid" in err
    code, out, _ = gopush_cli(git_repo.path, "check", "--json")
    assert json.loads(out)["counts"] == {"valid": 2, "omitted": 1, "invalid": 0}
    bad = make_zip(tmp_path / "bad.zip", {"example.com/m@v1.0.0/go.mod": b"module example.com/m\n",
                                          "example.com/m@v1.0.0/A.go": b"package m\n",
                                          "example.com/m@v1.0.0/a.go": b"package m\n"})
    code, _, err = gopush_cli(tmp_path, "check", str(bad))
    assert code == 4
    assert "example.com/m@v1.0.0: 2 valid, 0 omitted, 1 invalid" in err
