"""Listing, removing and tagging packages (issue 15), tried with the official cloudsmith-cli
against a real `gopush serve`, and observed by the real go: `ls pkgs -q`, `rm`, `tags
add|remove|clear|replace`, `push go --tags`; a removed version is gone from `list` and
`@latest`, its files are 410, and other content under its version is still refused (consumers'
go.sum remember the old hash) unless republished. Hostile calls: no key, a read token in
place of a key, bounded queries and tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, Served, api_push, cloudsmith
from gotool import GoError, GoOracle

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.server.query import MAX_QUERY_TERMS
from gopush.server.tags import MAX_TAG_CHARS, MAX_TAGS

pytestmark = pytest.mark.both_databases

MODULE = "example.com/managed"
REPO = "acme/gomods"
TOKEN = "read-token-5f2a90"
AUTH = {"X-Api-Key": KEY}


def module_zip(tmp_path: Path, version: str, body: str = "", module: str = MODULE) -> Path:
    """Write a small module zip of ``module@version`` (``body`` varies its content)."""
    dest = tmp_path / f"{module.replace('/', '_')}-{version}-{len(body)}" / f"{version}.zip"
    dest.parent.mkdir(parents=True, exist_ok=True)
    create_zip(dest, module, version, [DataFile("go.mod", f"module {module}\n".encode()),
                                       DataFile("lib.go", f"package lib\n{body}".encode())])
    return dest


def cs_push(exe: Path, served: Served, zip_path: Path, *extra: str) -> tuple[int, str]:
    """`cloudsmith push go REPO ZIP [extra]`; return the exit code and output."""
    proc = cloudsmith(exe, served, "push", "go", REPO, str(zip_path), "--wait-interval",
                      "0.2", *extra)
    return proc.returncode, proc.stdout + proc.stderr


def cs_ls(exe: Path, served: Served, query: str, *extra: str) -> list[dict[str, Any]]:
    """`cloudsmith ls pkgs REPO -q QUERY -F json`; return the packages."""
    proc = cloudsmith(exe, served, "ls", "pkgs", REPO, "-q", query, "-F", "json", *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    packages: list[dict[str, Any]] = json.loads(proc.stdout)["data"]
    return packages


def go_versions(go: GoOracle, served: Served) -> tuple[list[str], str]:
    """Return what the real go sees of MODULE: its version list and @latest."""
    proxy = served.goproxy(REPO)
    listed = go.run(["list", "-m", "-versions", "-json", f"{MODULE}@latest"], GOPROXY=proxy)
    assert listed.returncode == 0, listed.stderr
    doc = json.loads(listed.stdout)
    return doc.get("Versions", []), doc["Version"]


def test_cloudsmith_cli_lists_removes_and_go_sees_it_gone(
        cloudsmith_cli: Path, serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """Three versions pushed by the official CLI (one with --tags); `ls pkgs -q` selects by
    version, tag and status; `rm` removes v1.2.0: go's list and @latest no longer have it,
    its .zip/.mod/.info are 410 and go cannot download it; other content under v1.2.0 is
    refused (exit 153, naming go.sum) until --republish; the same content comes back."""
    served = serve()
    zips = {v: module_zip(tmp_path, v) for v in ("v1.0.0", "v1.1.0", "v1.2.0")}
    for version, path in zips.items():
        extra = ("--tags", "stable,team-a") if version == "v1.1.0" else ()
        code, out = cs_push(cloudsmith_cli, served, path, *extra)
        assert code == 0, out
    assert go_versions(go, served) == (["v1.0.0", "v1.1.0", "v1.2.0"], "v1.2.0")

    newer = cs_ls(cloudsmith_cli, served, f"name:^{MODULE}$ version:>v1.0.0")
    assert sorted(p["version"] for p in newer) == ["v1.1.0", "v1.2.0"]
    tagged = cs_ls(cloudsmith_cli, served, "tag:stable")
    assert [(p["version"], p["tags"]) for p in tagged] == [
        ("v1.1.0", {"info": ["stable", "team-a"]})]
    assert len(cs_ls(cloudsmith_cli, served, 'status:completed uploaded:>"1 hour ago"')) == 3
    paged = cs_ls(cloudsmith_cli, served, "format:go", "--page-size", "2", "--page", "2")
    assert len(paged) == 1

    slug = cs_ls(cloudsmith_cli, served, "version:^v1.2.0$")[0]["slug"]
    removed = cloudsmith(cloudsmith_cli, served, "rm", f"{REPO}/{slug}", "-y")
    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert cs_ls(cloudsmith_cli, served, "version:^v1.2.0$") == []
    assert go_versions(go, served) == (["v1.0.0", "v1.1.0"], "v1.1.0")
    base = served.goproxy(REPO) + f"{MODULE}/@v/v1.2.0"
    assert [httpx.get(base + ext).status_code for ext in (".info", ".mod", ".zip")] == [410] * 3
    with pytest.raises(GoError, match="410 Gone"):
        go.download(MODULE, "v1.2.0", GOPROXY=served.goproxy(REPO),
                    GOMODCACHE=str(tmp_path / "fresh-cache"))

    other = module_zip(tmp_path, "v1.2.0", body="// other content\n")
    code, out = cs_push(cloudsmith_cli, served, other)
    assert code == 409 % 256, out
    assert "was deleted" in out and "go.sum" in out
    assert go_versions(go, served) == (["v1.0.0", "v1.1.0"], "v1.1.0")
    code, out = cs_push(cloudsmith_cli, served, zips["v1.2.0"])  # the very same bytes
    assert code == 0, out
    assert go.download(MODULE, "v1.2.0", GOPROXY=served.goproxy(REPO),
                       GOMODCACHE=str(tmp_path / "cache2"))["Version"] == "v1.2.0"


def test_republish_after_removal_replaces_only_when_asked(
        cloudsmith_cli: Path, serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """After `rm`, `push go --republish` with other content is accepted and go gets it."""
    served = serve()
    assert cs_push(cloudsmith_cli, served, module_zip(tmp_path, "v1.0.0"))[0] == 0
    slug = cs_ls(cloudsmith_cli, served, "version:v1.0.0")[0]["slug"]
    assert cloudsmith(cloudsmith_cli, served, "rm", f"{REPO}/{slug}", "-y").returncode == 0
    other = module_zip(tmp_path, "v1.0.0", body="// fixed\n")
    code, out = cs_push(cloudsmith_cli, served, other, "--republish")
    assert code == 0, out
    got = go.download(MODULE, "v1.0.0", GOPROXY=served.goproxy(REPO))
    assert Path(got["Zip"]).read_bytes() == other.read_bytes()


def test_cloudsmith_cli_tags(cloudsmith_cli: Path, serve: Any, tmp_path: Path) -> None:
    """`tags add` (immutable too), `list`, `remove`, `replace`, `clear` change what `ls pkgs
    -q tag:` finds; immutable tags stay, and removing one is refused (exit 166, 422)."""
    served = serve()
    assert cs_push(cloudsmith_cli, served, module_zip(tmp_path, "v1.0.0"))[0] == 0
    slug = cs_ls(cloudsmith_cli, served, "version:v1.0.0")[0]["slug"]
    target = f"{REPO}/{slug}"

    def tags(*args: str) -> dict[str, Any]:
        proc = cloudsmith(cloudsmith_cli, served, "tags", *args, "-F", "json")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        doc: dict[str, Any] = json.loads(proc.stdout)["data"]
        return doc

    assert tags("add", target, "release,qa") == {
        "tags": {"info": ["release", "qa"]}, "tags_immutable": {}}
    assert [p["slug"] for p in cs_ls(cloudsmith_cli, served, "tag:^release$")] == [slug]
    assert tags("add", target, "audited", "--immutable")["tags_immutable"] == {
        "info": ["audited"]}
    assert tags("remove", target, "qa")["tags"] == {"info": ["release", "audited"]}
    assert tags("replace", target, "prod,eu")["tags"] == {"info": ["audited", "prod", "eu"]}
    assert tags("list", target)["tags"] == {"info": ["audited", "prod", "eu"]}
    assert tags("clear", target) == {"tags": {"info": ["audited"]},
                                     "tags_immutable": {"info": ["audited"]}}
    assert cs_ls(cloudsmith_cli, served, "tag:prod") == []
    refused = cloudsmith(cloudsmith_cli, served, "tags", "remove", target, "audited")
    assert refused.returncode == 422 % 256, refused.stdout + refused.stderr
    assert "immutable" in refused.stdout + refused.stderr


# -- hostile calls -----------------------------------------------------------------------------


@pytest.fixture
def private(serve: Any, tmp_path: Path) -> tuple[Served, dict[str, Any]]:
    """A server with a private repository, a read token for it and one published package."""
    served = serve("--repo", f"{REPO}:private", new_repos=False,
                   env={"GOPUSH_SERVE_READ_TOKENS": f"{REPO}={TOKEN}"})
    pushed = api_push(served.url, REPO, module_zip(tmp_path, "v1.0.0"))
    assert pushed.status_code == 201
    return served, pushed.json()


def test_no_key_or_a_read_token_cannot_list_tag_or_delete(
        private: tuple[Served, dict[str, Any]]) -> None:
    """Without an API key, or with the read token in its place (as a key, as Bearer, as
    Basic token:<T>), list, read, tag and delete are 401, and the package is untouched."""
    served, package = private
    path = f"{served.url}/packages/{REPO}/"
    pkg = f"{path}{package['slug']}/"
    calls = [("GET", path, None), ("GET", pkg, None), ("DELETE", pkg, None),
             ("POST", pkg + "tag/", {"action": "add", "tags": ["x"]}),
             ("POST", pkg + "tag/", {"action": "clear"})]
    presented: list[dict[str, Any]] = [
        {}, {"headers": {"X-Api-Key": TOKEN}}, {"headers": {"Authorization": f"Bearer {TOKEN}"}},
        {"auth": ("token", TOKEN)}, {"headers": {"X-Api-Key": "wrong"}}]
    for method, url, body in calls:
        for creds in presented:
            reply = httpx.request(method, url, json=body, **creds)
            assert reply.status_code == 401, (method, url, creds, reply.text)
            assert package["name"] not in reply.text
    kept = httpx.get(pkg, headers=AUTH).json()
    assert (kept["tags"], kept["is_sync_completed"]) == ({}, True)
    info = served.goproxy(REPO) + f"{MODULE}/@v/v1.0.0.info"
    assert httpx.get(info, auth=("token", TOKEN)).status_code == 200


def test_tag_and_query_bounds(private: tuple[Served, dict[str, Any]]) -> None:
    """Tags and queries are bounded and checked: an unknown action, a tag too long or with
    a comma, too many tags, a non-list, are 422 naming the field; an upload's tags too; a
    query with too many terms or an unreadable date is 400; an unknown package is 404."""
    served, package = private
    tag = f"{served.url}/packages/{REPO}/{package['slug']}/tag/"
    bad = [{"action": "explode", "tags": ["x"]}, {"action": "add", "tags": "x"},
           {"action": "add", "tags": []}, {"action": "add", "tags": ["a,b"]},
           {"action": "add", "tags": ["x" * (MAX_TAG_CHARS + 1)]},
           {"action": "add", "tags": ["bell\x07"]}, {"action": "add", "tags": [7]},
           {"action": "add", "tags": [f"t{n}" for n in range(MAX_TAGS + 1)]}]
    for body in bad:
        reply = httpx.post(tag, headers=AUTH, json=body)
        assert reply.status_code == 422, (body, reply.text)
        assert set(reply.json()["fields"]) <= {"action", "tags"}
    full = [f"t{n}" for n in range(MAX_TAGS)]
    assert httpx.post(tag, headers=AUTH, json={"action": "add", "tags": full}).status_code == 200
    more = httpx.post(tag, headers=AUTH, json={"action": "add", "tags": ["one-more"]})
    assert more.status_code == 422 and str(MAX_TAGS) in more.text
    assert httpx.get(f"{served.url}/packages/{REPO}/{package['slug']}/",
                     headers=AUTH).json()["tags"] == {"info": full}
    gone = httpx.post(f"{served.url}/packages/{REPO}/nosuch/tag/", headers=AUTH,
                      json={"action": "clear"})
    assert gone.status_code == 404
    listing = f"{served.url}/packages/{REPO}/"
    too_many = " ".join(f"name:x{n}" for n in range(MAX_QUERY_TERMS + 1))
    for query in (too_many, "uploaded:>someday", "size:>lots"):
        reply = httpx.get(listing, headers=AUTH, params={"query": query})
        assert reply.status_code == 400 and "query" in reply.json()["fields"], reply.text


def test_upload_tags_are_checked(serve: Any, tmp_path: Path) -> None:
    """upload/go's tags (text, comma-separated) are stored as a list; ones that break the
    rules are refused (422) before any package is made."""
    from conftest import api_upload

    served = serve()
    ident = api_upload(served.url, REPO, module_zip(tmp_path, "v1.0.0"))
    refused = httpx.post(f"{served.url}/packages/{REPO}/upload/go/", headers=AUTH,
                         json={"package_file": ident, "tags": "ok," + "x" * 500})
    assert refused.status_code == 422 and "tags" in refused.json()["fields"]
    assert httpx.get(f"{served.url}/packages/{REPO}/", headers=AUTH).json() == []
    reply = httpx.post(f"{served.url}/packages/{REPO}/upload/go/", headers=AUTH,
                       json={"package_file": ident, "tags": " ci , nightly,,ci"})
    assert reply.status_code == 201
    assert reply.json()["tags"] == {"info": ["ci", "nightly"]}
