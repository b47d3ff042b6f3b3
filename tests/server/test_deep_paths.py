"""gopush serve publishes a module with a path 1000 directories deep, as go accepts it (the
check once raised RecursionError and left the package "Sync In Progress" for good)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import api_push
from gotool import GoOracle
from zipbomb import go_download, remove_deep, write_deep

REPO = "acme/deep"
MODULE = "example.com/deep"


def test_a_path_1000_deep_is_published_with_gos_h1(serve: Any, go: GoOracle,
                                                   tmp_path: Path) -> None:
    """A 4 kB zip with one file 1000 directories deep is published with the h1: go computes;
    go downloads it from the server; a second version after it is published too."""
    served = serve("--repo", REPO)
    deep = write_deep(tmp_path / "v1.0.0.zip", MODULE, "v1.0.0", 1, 1000)
    try:
        want, err = go_download(go, tmp_path / "direct", deep, MODULE, "v1.0.0")
    finally:
        remove_deep(tmp_path / "direct")
    assert want is not None, err
    done = api_push(served.url, REPO, deep)
    assert done.package["status_str"] == "Completed", done.package
    consumer = GoOracle(tmp_path / "consumer", go.go)
    try:
        got = consumer.download(MODULE, "v1.0.0", GOPROXY=served.goproxy(REPO))
    finally:
        remove_deep(tmp_path / "consumer")
    assert got["Sum"] == want
    later = write_deep(tmp_path / "v1.0.1.zip", MODULE, "v1.0.1", 1, 3)
    assert api_push(served.url, REPO, later).package["status_str"] == "Completed"
