"""The official cloudsmith-cli (from PyPI) pushes to `gopush serve`, and the real go command
downloads what it pushed through the server's GOPROXY URL with the h1: `gopush build` printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY, Served, cloudsmith, gopush_build, tagged_module
from gotool import GoOracle

pytestmark = pytest.mark.both_databases


def push(exe: Path, served: Served, repo: str, zip_path: str,
         *extra: str) -> tuple[int, str]:
    """Run `cloudsmith push go REPO ZIP` (short sync waits); return exit code and output."""
    proc = cloudsmith(exe, served, "push", "go", repo, zip_path, "--wait-interval", "0.2",
                      *extra)
    assert KEY not in proc.stdout + proc.stderr
    return proc.returncode, proc.stdout + proc.stderr


def upload_methods(served: Served) -> list[str]:
    """Return the upload method of every slot the server opened (read from its database)."""
    import sqlite3

    if served.database:  # PostgreSQL
        import psycopg

        with psycopg.connect(served.database) as conn:
            return [row[0] for row in conn.execute("SELECT method FROM files ORDER BY created_at")]
    with sqlite3.connect(f"file:{served.data / 'registry.sqlite3'}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT method FROM files ORDER BY created_at")]


def test_small_zip_pushed_by_official_cli_downloads_with_go(
        cloudsmith_cli: Path, serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """cloudsmith push go (form POST) succeeds and go mod download reports gopush build's h1."""
    served = serve()
    repo = tagged_module(tmp_path / "repo", "example.com/small", ["v1.0.0"])
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    code, out = push(cloudsmith_cli, served, "acme/gomods", built["zip"])
    assert code == 0, out
    assert "Package synchronised successfully" in out
    assert upload_methods(served) == ["post"]
    info = go.download("example.com/small", "v1.0.0", GOPROXY=served.goproxy("acme/gomods"))
    assert info["Sum"] == built["sum"]
    assert info["GoModSum"] == built["gomod_sum"]


@pytest.mark.slow
def test_large_zip_goes_in_parts_and_downloads_with_go(
        cloudsmith_cli: Path, serve: Any, go: GoOracle, big_module: dict[str, Any]) -> None:
    """A >= 100 MiB zip is pushed by the official CLI in parts; go downloads the same h1."""
    served = serve()
    code, out = push(cloudsmith_cli, served, "acme/gomods", big_module["zip"])
    assert code == 0, out
    assert upload_methods(served) == ["put_parts"]
    info = go.download("example.com/big", "v1.0.0", GOPROXY=served.goproxy("acme/gomods"))
    assert info["Sum"] == big_module["sum"]
    assert Path(info["Zip"]).stat().st_size == Path(big_module["zip"]).stat().st_size


def test_repush_identical_is_noop_and_other_content_is_409(
        cloudsmith_cli: Path, serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """The same zip again succeeds; a different zip of a published version exits 153 (409)
    with a message about checksum mismatches, and go still gets the first content."""
    served = serve()
    first = tagged_module(tmp_path / "a", "example.com/imm", ["v1.0.0"])
    built = gopush_build(first.path, "v1.0.0", tmp_path / "dist-a")
    assert push(cloudsmith_cli, served, "acme/gomods", built["zip"])[0] == 0
    code, out = push(cloudsmith_cli, served, "acme/gomods", built["zip"])
    assert code == 0, out
    second = tagged_module(tmp_path / "b", "example.com/imm", ["v0.9.0", "v1.0.0"])
    other = gopush_build(second.path, "v1.0.0", tmp_path / "dist-b")
    assert other["sum"] != built["sum"]
    code, out = push(cloudsmith_cli, served, "acme/gomods", other["zip"])
    assert code == 409 % 256, out
    assert "checksum mismatch" in out and "already exists" in out
    info = go.download("example.com/imm", "v1.0.0", GOPROXY=served.goproxy("acme/gomods"))
    assert info["Sum"] == built["sum"]


def test_invalid_zip_fails_sync_with_reason(cloudsmith_cli: Path, serve: Any,
                                            tmp_path: Path) -> None:
    """A zip go would refuse ends as a failed package whose reason the CLI prints; the CLI
    stops without resyncing forever (exit 1) and nothing is served."""
    import zipfile

    served = serve()
    bad = tmp_path / "v1.0.0.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("example.com/bad@v1.0.0/go.mod", "module example.com/bad\n")
        z.writestr("example.com/bad@v1.0.0/Lib.go", "package bad\n")
        z.writestr("example.com/bad@v1.0.0/lib.go", "package bad\n")
    code, out = push(cloudsmith_cli, served, "acme/gomods", str(bad))
    assert code == 1, out
    assert 'case-insensitive file name collision: "Lib.go" and "lib.go"' in out, out
    assert "package should be deleted" in out


def test_whoami_list_and_delete(cloudsmith_cli: Path, serve: Any, tmp_path: Path) -> None:
    """whoami names the user, list shows the package, delete removes it (then 404 → 148)."""
    served = serve()
    who = cloudsmith(cloudsmith_cli, served, "whoami", "-F", "json")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["data"]["is_authenticated"] is True
    repo = tagged_module(tmp_path / "repo", "example.com/listed", ["v1.2.3"])
    built = gopush_build(repo.path, "v1.2.3", tmp_path / "dist")
    assert push(cloudsmith_cli, served, "acme/gomods", built["zip"])[0] == 0
    listed = cloudsmith(cloudsmith_cli, served, "list", "packages", "acme/gomods", "-F", "json",
                        "-q", "name:^example.com/listed$ version:^v1.2.3$")
    assert listed.returncode == 0, listed.stderr
    packages = json.loads(listed.stdout)["data"]
    assert [(p["name"], p["version"]) for p in packages] == [("example.com/listed", "v1.2.3")]
    slug = packages[0]["slug"]
    gone = cloudsmith(cloudsmith_cli, served, "delete", f"acme/gomods/{slug}", "-y")
    assert gone.returncode == 0, gone.stdout + gone.stderr
    again = cloudsmith(cloudsmith_cli, served, "delete", f"acme/gomods/{slug}", "-y")
    assert again.returncode == 404 % 256


def test_bad_key_is_refused(cloudsmith_cli: Path, serve: Any, tmp_path: Path) -> None:
    """A wrong API key gets 401 (exit 145) and nothing is stored."""
    served = serve()
    repo = tagged_module(tmp_path / "repo", "example.com/denied", ["v1.0.0"])
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    proc = cloudsmith(cloudsmith_cli, served, "push", "go", "acme/gomods", built["zip"],
                      key="wrong-key")
    assert proc.returncode == 401 % 256, proc.stdout + proc.stderr
    assert "wrong-key" not in proc.stdout
