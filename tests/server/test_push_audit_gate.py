"""`gopush push --audit` against a real `gopush serve`: a zip whose module imports an affected
package is refused before anything is sent (the server logs no request at all), with the
version to upgrade to; `--allow` lets it through, and push's JSON carries the findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
from conftest import KEY, Served
from gitrepo import GitRepo
from vulndb_server import DATA

from gopush.errors import ExitCode

MODULE = "example.com/app"
GO_MOD = f"module {MODULE}\n\ngo 1.22\n\nrequire golang.org/x/net v0.6.0\n"
MAIN = ('package main\n\nimport (\n\t"fmt"\n\n\t"golang.org/x/net/http2/hpack"\n)\n\n'
        'func main() { fmt.Println(hpack.NewDecoder(4096, nil)) }\n')


def push(repo: Path, served: Served, *args: str) -> tuple[int, dict[str, Any], str]:
    """Run `gopush push go acme/gomods --audit --json ARGS` in ``repo`` as a user would."""
    env = {**os.environ, "GOPUSH_API_HOST": served.url, "GOPUSH_API_KEY": KEY, "CI": "1",
           "GOVULNDB": f"file://{DATA}", "NO_PROXY": "127.0.0.1"}
    proc = subprocess.run([sys.executable, "-m", "gopush", "push", "go", "acme/gomods",
                           "--audit", "--json", *args], cwd=repo, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def requests_logged(served: Served) -> list[str]:
    """Stop the server and return the request lines of its access log (`serve -v` writes
    uvicorn's access log to stdout, after the start-up document)."""
    served.stop()
    assert served.proc.stdout is not None
    rest = served.proc.stdout.read().decode(errors="replace")
    return [line for line in rest.splitlines() if "HTTP/" in line]


def packages(served: Served) -> list[Any]:
    reply = httpx.get(f"{served.url}/v1/packages/acme/gomods/",
                      headers={"X-Api-Key": KEY}, timeout=30)
    return reply.json() if reply.status_code == 200 else []


def test_refused_push_sends_nothing_and_names_the_upgrade(git_repo: GitRepo, serve) -> None:
    """Exit 7; the message says `upgrade golang.org/x/net to v0.7.0 or later`; the JSON
    document carries the findings; the server saw no request from the push."""
    git_repo.commit("v1", {"go.mod": GO_MOD, "main.go": MAIN})
    git_repo.tag("v1.0.0")
    served = serve("-v")
    code, doc, err = push(git_repo.path, served)
    assert code == ExitCode.VULNERABLE == 7, err
    assert doc["ok"] is False and doc["status"] == "refused"
    assert (doc["module"], doc["version"]) == (MODULE, "v1.0.0")
    hpack = next(f for f in doc["findings"] if f["id"] == "GO-2023-1571")
    assert (hpack["module"], hpack["version"], hpack["fixed"], hpack["imported"]) == (
        "golang.org/x/net", "v0.6.0", "v0.7.0", True)
    assert "upgrade golang.org/x/net to v0.7.0 or later" in doc["error"]["message"]
    assert "upgrade golang.org/x/net to v0.7.0 or later" in err
    assert requests_logged(served) == []


def test_allowed_finding_is_pushed_and_reported(git_repo: GitRepo, serve) -> None:
    """--allow GO-2023-1571 accepts the known finding: the push goes through, and its JSON
    document carries the database and every finding."""
    git_repo.commit("v1", {"go.mod": GO_MOD, "main.go": MAIN})
    git_repo.tag("v1.0.0")
    served = serve("-v")
    code, doc, err = push(git_repo.path, served, "--allow", "GO-2023-1571")
    assert code == ExitCode.OK, err
    assert doc["status"] == "published"
    assert doc["audit"]["db"]["url"] == f"file://{DATA}"
    ids = {f["id"] for f in doc["audit"]["findings"] if f["module"] == "golang.org/x/net"}
    assert ids == {"GO-2023-1571", "GO-2023-1988", "GO-2023-2102"}
    assert "GO-2023-1571" in err and "allowed" in err  # reported, as a warning
    assert len(packages(served)) == 1
    assert any("POST" in line for line in requests_logged(served))
