"""`gopush push --tag`, `gopush ls` and `gopush rm` against a real `gopush serve`, in CI mode
(--json, plain) and on a terminal (rm asks; "n" keeps the package), with the real go
observing the removal."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from conftest import KEY, Served
from gotool import GoOracle
from test_key_prompt import _read_until, answer_on_terminal
from test_packages_manage import MODULE, REPO, go_versions, module_zip

CI_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith(("GOPUSH_", "CLOUDSMITH_"))},
          "CI": "1", "GOPUSH_API_KEY": KEY}


def gopush(served: Served, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """Run `gopush ARGS --api-host URL` in CI mode; return the finished process."""
    proc = subprocess.run([sys.executable, "-m", "gopush", *args, "--api-host", served.url],
                          env=env or CI_ENV, capture_output=True, text=True, timeout=120,
                          check=False, stdin=subprocess.DEVNULL)
    assert KEY not in proc.stdout + proc.stderr
    return proc


def as_json(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Return the one JSON document a --json run printed."""
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def pushed(served: Served, tmp_path: Path) -> dict[str, Path]:
    """Push v1.0.0, v1.1.0 (tagged stable, team-a) and v1.2.0 with `gopush push`."""
    zips = {v: module_zip(tmp_path, v) for v in ("v1.0.0", "v1.1.0", "v1.2.0")}
    for version, path in zips.items():
        tags = ("--tag", "stable", "--tag", "team-a") if version == "v1.1.0" else ()
        proc = gopush(served, "push", "go", REPO, str(path), *tags, "--json")
        assert proc.returncode == 0, proc.stderr
    return zips


def test_push_tag_ls_and_rm_in_ci(serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """--tag lands as the package's tags; `ls -q` selects (JSON and plain lines); `rm
    MODULE@VERSION --yes` removes it: go's list and @latest lose it, its zip is 410; `rm`
    without --yes in CI is a usage error (2) that removes nothing; rm of what is not
    there is exit 5; other content under the removed version is refused (exit 5, go.sum)."""
    served = serve()
    pushed(served, tmp_path)
    doc = as_json(gopush(served, "ls", REPO, "-q", "tag:^stable$", "--json"))
    assert [(p["version"], p["tags"]) for p in doc["packages"]] == [
        ("v1.1.0", {"info": ["stable", "team-a"]})]
    assert doc["count"] == 1 and doc["ok"] is True
    plain = gopush(served, "ls", REPO, f"name:^{MODULE}$", "version:>v1.0.0", "--output",
                   "plain")
    assert plain.returncode == 0, plain.stderr
    assert sorted(line.split("\t")[1] for line in plain.stdout.splitlines()
                  if "\t" in line) == ["v1.1.0", "v1.2.0"]
    paged = as_json(gopush(served, "ls", REPO, "--page-size", "2", "--json"))
    assert (paged["count"], paged["pages"], len(paged["packages"])) == (3, 2, 2)

    asked = gopush(served, "rm", REPO, f"{MODULE}@v1.2.0")
    assert asked.returncode == 2 and "--yes" in asked.stderr
    assert go_versions(go, served)[1] == "v1.2.0"
    removed = as_json(gopush(served, "rm", f"{REPO}/{MODULE}@v1.2.0", "--yes", "--json"))
    assert removed["removed"]["version"] == "v1.2.0"
    assert go_versions(go, served) == (["v1.0.0", "v1.1.0"], "v1.1.0")
    zip_url = served.goproxy(REPO) + f"{MODULE}/@v/v1.2.0.zip"
    assert httpx.get(zip_url).status_code == 410
    again = gopush(served, "rm", REPO, f"{MODULE}@v1.2.0", "--yes", "--json")
    assert again.returncode == 5 and "not a package" in as_json(again)["error"]["message"]

    other = module_zip(tmp_path, "v1.2.0", body="// other\n")
    refused = gopush(served, "push", "go", REPO, str(other), "--json")
    assert refused.returncode == 5, refused.stdout
    assert "go.sum" in as_json(refused)["error"]["message"]
    by_slug = as_json(gopush(served, "ls", REPO, "-q", "version:^v1.0.0$", "--json"))
    slug = by_slug["packages"][0]["slug"]
    by_slug_removed = as_json(gopush(served, "rm", f"{REPO}/{slug}", "-y", "--json"))
    assert by_slug_removed["removed"]["version"] == "v1.0.0"
    missing = gopush(served, "rm", f"{REPO}/{slug}", "-y", "--json")
    assert missing.returncode == 5, missing.stdout
    assert go_versions(go, served) == (["v1.1.0"], "v1.1.0")


def test_rm_asks_on_a_terminal(serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """On a terminal `rm` asks; "n" keeps the version (exit 0, "nothing removed"), "y"
    removes it."""
    served = serve()
    pushed(served, tmp_path)
    env = {k: v for k, v in CI_ENV.items() if k != "CI"}

    def answer(reply: bytes) -> tuple[int, bytes]:
        return answer_on_terminal(["rm", REPO, f"{MODULE}@v1.2.0", "--api-host", served.url], env, reply)

    code, seen = answer(b"n")
    assert code == 0 and f"Remove {MODULE}@v1.2.0".encode() in seen, seen
    assert b"nothing removed" in seen
    assert go_versions(go, served)[1] == "v1.2.0"
    code, seen = answer(b"y")
    assert code == 0 and b"removed" in seen, seen
    assert go_versions(go, served) == (["v1.0.0", "v1.1.0"], "v1.1.0")


def test_ls_and_rm_refuse_bad_input(serve: Any, tmp_path: Path) -> None:
    """A query the registry cannot read is exit 5 naming it; a malformed target is exit 2;
    a wrong key is exit 3; a tag with a comma, or --tag to a target that keeps no tags, is
    refused before anything is sent (2)."""
    served = serve()
    bad_query = gopush(served, "ls", REPO, "-q", "uploaded:>someday", "--json")
    assert bad_query.returncode == 5 and "cannot read the time" in bad_query.stdout
    assert gopush(served, "rm", "just-owner", "--yes").returncode == 2
    assert gopush(served, "rm", REPO, "--yes").returncode == 2
    wrong = gopush(served, "ls", REPO, env={**CI_ENV, "GOPUSH_API_KEY": "nope"})
    assert wrong.returncode == 3, wrong.stderr
    tagged = gopush(served, "push", "go", REPO, str(module_zip(tmp_path, "v1.0.0")),
                    "--tag", "a,b")
    assert tagged.returncode == 2 and "comma" in tagged.stderr
    assert httpx.get(f"{served.url}/packages/{REPO}/", headers={"X-Api-Key": KEY}).json() == []
    to_dir = subprocess.run([sys.executable, "-m", "gopush", "push", "--to",
                             f"dir:{tmp_path / 'proxy'}", str(module_zip(tmp_path, "v1.0.1")),
                             "--tag", "x"], env=CI_ENV, capture_output=True, text=True,
                            timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert to_dir.returncode == 2 and "Cloudsmith-style" in to_dir.stderr, to_dir.stderr
    assert not (tmp_path / "proxy").exists()


def test_ls_on_a_terminal_draws_a_table(serve: Any, tmp_path: Path) -> None:
    """On a terminal `ls` draws a table (module, version, status, tags...) and a count."""
    served = serve()
    pushed(served, tmp_path)
    env = {k: v for k, v in CI_ENV.items() if k != "CI"} | {"TERM": "xterm", "COLUMNS": "160"}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "ls", REPO, "tag:stable",
                             "--api-host", served.url],
                            stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    try:
        seen = _read_until(master, b"\x00never", timeout=60)
        assert proc.wait(30) == 0, seen
    finally:
        proc.kill()
        os.close(master)
    text = seen.decode(errors="replace")
    assert "MODULE" in text and "VERSION" in text and "\u2502" in text, text  # a drawn table
    assert "v1.1.0" in text and "stable,team-a" in text and "1 package" in text, text
    assert "v1.0.0" not in text
