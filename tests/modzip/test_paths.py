"""modzip.paths: Go's path.Clean and the case folding of x/mod/zip's collision checker."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from gotool import GoOracle

from gopush.modzip.paths import clean, fold_key


@pytest.mark.parametrize(("path", "want"), [
    ("", "."), ("a", "a"), ("a/", "a"), ("a//b", "a/b"), ("./a", "a"), ("a/./b", "a/b"),
    ("a/../b", "b"), ("../a", "../a"), ("a/../..", ".."), ("/..", "/"), ("/a/../../b", "/b"),
    ("//a", "/a"), (".", "."), ("..", ".."), ("a/b/..", "a"),
])
def test_clean_like_go(path: str, want: str) -> None:
    """clean follows Go's path.Clean rules."""
    assert clean(path) == want


GO_FOLD = """package main

import (
	"fmt"
	"unicode"
)

func main() {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			continue
		}
		f := r
		for {
			r0 := f
			f = unicode.SimpleFold(r0)
			if f <= r0 {
				break
			}
		}
		if 'A' <= f && f <= 'Z' {
			f += 'a' - 'A'
		}
		if f != r {
			fmt.Printf("%x %x\\n", r, f)
		}
	}
}
"""


def test_fold_key_matches_go_for_every_code_point(go: GoOracle, tmp_path: Path) -> None:
    """fold_key maps every code point as x/mod/zip's strToFold does in this go."""
    src = tmp_path / "fold"
    src.mkdir()
    (src / "go.mod").write_text("module fold\n\ngo 1.22\n")
    (src / "main.go").write_text(GO_FOLD)
    proc = subprocess.run([go.go, "run", "."], cwd=src, env=go.env(), capture_output=True,
                          text=True, check=True)
    want = {int(a, 16): int(b, 16) for a, b in (line.split() for line in proc.stdout.splitlines())}
    assert len(want) > 1000
    wrong = [hex(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF
             and ord(fold_key(chr(cp))) != want.get(cp, cp)]
    assert wrong == []


def test_fold_key_is_simple_not_full_folding() -> None:
    """ß and ss differ (simple folding), while K, k and the Kelvin sign are one."""
    assert fold_key("ß") != fold_key("ss")
    assert fold_key("K") == fold_key("k") == fold_key("\u212a")
    assert fold_key("a/B/c.GO") == "a/b/c.go"
