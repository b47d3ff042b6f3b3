"""`gopush check` on deep paths: the collision checker neither recurses per path element nor
keeps every prefix of every path, and agrees with the real go."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gotool import GoOracle
from zipbomb import go_download, remove_deep, run_measured, write_deep

from gopush.errors import ExitCode

MODULE, VERSION = "example.com/m", "v1.0.0"
CLIENT_LIMIT_MB = 100


def check_agrees_with_go(go: GoOracle, tmp_path: Path, entries: int, depth: int) -> float:
    """Assert gopush check accepts the deep zip with go's h1:; return its peak RSS (MB)."""
    deep = write_deep(tmp_path / "deep.zip", MODULE, VERSION, entries, depth)
    try:
        want, err = go_download(go, tmp_path / "go", deep, MODULE, VERSION)
    finally:
        remove_deep(tmp_path / "go")
    assert want is not None, err
    done = run_measured([sys.executable, "-m", "gopush", "check", str(deep)],
                        {**os.environ, "CI": "1"})
    out = done.out + done.err
    print(f"gopush check of {entries} x {depth}: peak {done.peak_mb:.0f} MB")
    assert done.code == ExitCode.OK, out[-2000:]
    assert f"{MODULE} {VERSION} {want}" in out
    return done.peak_mb


def test_a_path_of_1000_elements_is_accepted_as_go_does(go: GoOracle, tmp_path: Path) -> None:
    """One file 1000 directories deep (a 4 kB zip go accepts): checked with go's h1: (it
    was exit 1, "unexpected RecursionError")."""
    check_agrees_with_go(go, tmp_path, 1, 1000)


def test_checker_memory_is_linear_in_path_depth(go: GoOracle, tmp_path: Path) -> None:
    """300 files 900 directories deep (a 1.1 MB zip): go's h1:, under 100 MB (it was 560 MB
    when every folded prefix of every path was kept)."""
    peak = check_agrees_with_go(go, tmp_path, 300, 900)
    assert peak < CLIENT_LIMIT_MB, f"gopush check peaked at {peak:.0f} MB"
