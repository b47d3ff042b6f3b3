"""Where the vulnerability database cache lives: the one search order."""

from __future__ import annotations

from pathlib import Path

from gopush.config.paths import vulndb_cache_dir


def test_vulndb_cache_dir_order() -> None:
    home = {"HOME": "/h"}
    assert vulndb_cache_dir(home) == Path("/h/.cache/gopush/vulndb")
    assert vulndb_cache_dir({**home, "XDG_CACHE_HOME": "/x"}) == Path("/x/gopush/vulndb")
    assert vulndb_cache_dir({**home, "XDG_CACHE_HOME": "/x", "GOPUSH_CACHE_DIR": "/g"}) \
        == Path("/g")
