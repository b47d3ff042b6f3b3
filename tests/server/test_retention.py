"""Retention rules (issue 15) on a real `gopush serve`, set with `gopush retention` and with
the official Cloudsmith API client, observed by the real go: "keep 3 per module" keeps the
3 highest versions in Go's order whatever the upload order, exempted versions stay, a dry
run lists exactly what an apply then removes, and a removed version is removed as DELETE
removes one (410, its h1: remembered). Hostile calls: no key, a read token in place of a key,
out-of-bounds fields and queries."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, Served, api_push
from gotool import GoOracle
from test_gopush_ls_rm import CI_ENV, as_json, gopush
from test_key_prompt import answer_on_terminal
from test_packages_manage import MODULE, REPO, go_versions, module_zip

from gopush.server.query import MAX_QUERY_CHARS, MAX_QUERY_TERMS

pytestmark = pytest.mark.both_databases

OTHER = "example.com/other"
AUTH = {"X-Api-Key": KEY}


def rules_url(served: Served, rest: str = "") -> str:
    return f"{served.url}/repos/{REPO}/retention/{rest}"


def push(served: Served, tmp_path: Path, version: str, module: str = MODULE,
         body: str = "") -> dict[str, Any]:
    """Push module@version through the upload API; return the settled package."""
    done = api_push(served.url, REPO, module_zip(tmp_path, version, body, module))
    assert done.status_code == 201 and done.package["is_sync_completed"], done.package
    return done.package


def versions_of(go: GoOracle, served: Served, module: str) -> list[str]:
    listed = go.run(["list", "-m", "-versions", "-json", f"{module}@latest"],
                    GOPROXY=served.goproxy(REPO))
    assert listed.returncode == 0, listed.stderr
    found: list[str] = json.loads(listed.stdout).get("Versions", [])
    return found


def test_keep_three_per_module_keeps_the_highest_in_go_order(
        serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """`gopush retention --keep 3 --by-name --query '~tag:keep' --enable`; then 5 versions
    pushed out of order (v1.1, v1.4, v1.2, v1.5, v1.3) leave v1.3-v1.5 (by upload time the
    last 3 would be v1.2, v1.5, v1.3); v1.0.0, tagged keep, stays; another module is its
    own group. go lists what stays; the removed are 410 and other content under them is
    still refused (their h1: is remembered)."""
    served = serve("--repo", REPO)
    set_rules = gopush(served, "retention", REPO, "--keep", "3", "--by-name", "--query",
                       "~tag:keep", "--enable", "--json")
    assert set_rules.returncode == 0, set_rules.stderr
    assert as_json(set_rules)["rules"] == {
        "retention_enabled": True, "retention_count_limit": 3, "retention_days_limit": 0,
        "retention_size_limit": 0, "retention_group_by_name": True,
        "retention_group_by_format": False, "retention_group_by_package_type": False,
        "retention_package_query_string": "~tag:keep"}
    kept = push(served, tmp_path, "v1.0.0")
    tagged = httpx.post(f"{served.url}/packages/{REPO}/{kept['slug']}/tag/", headers=AUTH,
                        json={"action": "add", "tags": ["keep"]})
    assert tagged.status_code == 200, tagged.text
    push(served, tmp_path, "v0.1.0", OTHER)
    for version in ("v1.1.0", "v1.4.0", "v1.2.0"):
        push(served, tmp_path, version)
    push(served, tmp_path, "v0.2.0", OTHER)
    for version in ("v1.5.0", "v1.3.0"):
        push(served, tmp_path, version)

    assert go_versions(go, served) == (["v1.0.0", "v1.3.0", "v1.4.0", "v1.5.0"], "v1.5.0")
    assert versions_of(go, served, OTHER) == ["v0.1.0", "v0.2.0"]
    base = served.goproxy(REPO) + f"{MODULE}/@v/"
    assert [httpx.get(base + f"{v}.zip").status_code for v in ("v1.1.0", "v1.2.0")] == [410] * 2
    listed = httpx.get(f"{served.url}/packages/{REPO}/", headers=AUTH,
                       params={"query": f"name:^{MODULE}$"}).json()
    assert sorted(p["version"] for p in listed) == ["v1.0.0", "v1.3.0", "v1.4.0", "v1.5.0"]
    other = api_push(served.url, REPO, module_zip(tmp_path, "v1.2.0", "// other\n"))
    assert other.status_code == 409 and "was deleted" in other.text, other.text
    dry = as_json(gopush(served, "retention", REPO, "--dry-run", "--json"))
    assert dry["would_remove"] == []  # every group is within its rules

    # republished (decided while answering): it triggers too, and is never what goes
    again = api_push(served.url, REPO, module_zip(tmp_path, "v1.2.0", "// other\n"),
                     republish=True)
    assert again.status_code == 201 and again.package["is_sync_completed"], again.text
    assert go_versions(go, served)[0] == ["v1.0.0", "v1.2.0", "v1.3.0", "v1.4.0", "v1.5.0"]
    dry = as_json(gopush(served, "retention", REPO, "--dry-run", "--json"))
    assert [p["version"] for p in dry["would_remove"]] == ["v1.2.0"]


def test_dry_run_lists_exactly_what_apply_removes(
        serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """With the rules off, 6 versions are pushed out of order; `--keep 2 --by-name
    --dry-run` lists 4 and changes nothing (rules still off, go still sees 6); saving the
    rules removes nothing by itself; `--apply` needs --yes in CI (exit 2), then removes
    exactly the 4 the dry run listed: go keeps the 2 highest (v1.5.0-rc.1 above v1.4.0),
    and its @latest is the release."""
    served = serve("--repo", REPO)
    for version in ("v1.2.0", "v1.5.0-rc.1", "v1.0.0", "v1.4.0", "v1.3.0", "v1.1.0"):
        push(served, tmp_path, version)
    dry = gopush(served, "retention", REPO, "--keep", "2", "--by-name", "--enable",
                 "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    listed = [(p["version"], p["slug"]) for p in as_json(dry)["would_remove"]]
    assert [v for v, _ in listed] == ["v1.0.0", "v1.1.0", "v1.2.0", "v1.3.0"]
    assert as_json(dry)["would_remove"][0]["retention_reason"] == (
        "not among the 2 highest versions of its group")
    assert httpx.get(rules_url(served), headers=AUTH).json()["retention_enabled"] is False
    assert len(go_versions(go, served)[0]) == 6

    saved = gopush(served, "retention", REPO, "--keep", "2", "--by-name", "--enable")
    assert saved.returncode == 0 and "enabled: keep 2 per module" in saved.stdout, saved.stdout
    assert len(go_versions(go, served)[0]) == 6
    unasked = gopush(served, "retention", REPO, "--apply")
    assert unasked.returncode == 2 and "--yes" in unasked.stderr
    applied = as_json(gopush(served, "retention", REPO, "--apply", "--yes", "--json"))
    assert [(p["version"], p["slug"]) for p in applied["removed"]] == listed
    assert go_versions(go, served) == (["v1.4.0", "v1.5.0-rc.1"], "v1.4.0")
    plain = gopush(served, "retention", REPO, "--dry-run", "--output", "plain")
    assert plain.returncode == 0 and "0 versions would be removed" in plain.stdout, plain


def test_official_api_client_sets_and_reads_the_rules(
        cloudsmith_cli: Path, serve: Any, tmp_path: Path) -> None:
    """The official CLI has no retention command; its API client (cloudsmith_api, in the
    same venv) does: `ReposApi.repo_retention_partial_update` and `repo_retention_read`
    set and read the rules on gopush serve, and gopush retention shows them."""
    served = serve("--repo", REPO)
    push(served, tmp_path, "v1.0.0")
    script = f"""
import json, cloudsmith_api

config = cloudsmith_api.Configuration()
config.host = {served.url!r}
config.api_key["X-Api-Key"] = {KEY!r}
api = cloudsmith_api.ReposApi(cloudsmith_api.ApiClient(config))
patch = cloudsmith_api.RepositoryRetentionRulesRequestPatch(
    retention_enabled=True, retention_count_limit=5, retention_days_limit=30,
    retention_group_by_name=True, retention_package_query_string="prerelease:true")
api.repo_retention_partial_update("acme", "gomods", data=patch)
print(json.dumps(api.repo_retention_read("acme", "gomods").to_dict(), sort_keys=True))
"""
    python = cloudsmith_cli.parent / "python"
    proc = subprocess.run([str(python), "-c", script], capture_output=True, text=True,
                          timeout=120, check=False, env={"NO_PROXY": "127.0.0.1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    read = json.loads(proc.stdout)
    assert read["retention_count_limit"] == 5 and read["retention_days_limit"] == 30
    assert read["retention_package_query_string"] == "prerelease:true"
    shown = gopush(served, "retention", REPO)
    assert shown.returncode == 0, shown.stderr
    assert ("enabled: keep 5, 30 days per module; only versions matching 'prerelease:true' "
            "may go") in shown.stdout


def test_rules_refuse_callers_without_a_key_and_bad_fields(serve: Any, tmp_path: Path) -> None:
    """No key, a wrong key, or a read token (as X-Api-Key, Bearer, Basic token:) cannot read,
    change, dry-run or apply the rules (401); fields out of Cloudsmith's bounds, of the wrong
    type, unknown, or a query past the search bounds are 422 naming the field; nothing
    changed. An unknown repository is 404; gopush retention exits 3 with a wrong key."""
    served = serve("--repo", REPO)
    push(served, tmp_path, "v1.0.0")
    token = "ReadTokenForRetention42"
    made = httpx.post(f"{served.url}/entitlements/{REPO}/", headers=AUTH,
                      json={"name": "reader", "token": token})
    assert made.status_code == 201, made.text
    basic = base64.b64encode(f"token:{token}".encode()).decode()
    callers = [{}, {"X-Api-Key": "wrong"}, {"X-Api-Key": token},
               {"Authorization": f"Bearer {token}"}, {"Authorization": f"Basic {basic}"}]
    calls = [("GET", ""), ("PATCH", ""), ("POST", "dry-run/"), ("POST", "apply/")]
    for headers in callers:
        for method, rest in calls:
            reply = httpx.request(method, rules_url(served, rest), headers=headers,
                                  json={"retention_enabled": True,
                                        "retention_count_limit": 1})
            assert reply.status_code == 401, (headers, method, rest, reply.text)
    bad = [({"retention_count_limit": 10001}, "retention_count_limit"),
           ({"retention_count_limit": -1}, "retention_count_limit"),
           ({"retention_count_limit": "3"}, "retention_count_limit"),
           ({"retention_count_limit": True}, "retention_count_limit"),
           ({"retention_days_limit": 181}, "retention_days_limit"),
           ({"retention_size_limit": 20 * 1024 ** 3 + 1}, "retention_size_limit"),
           ({"retention_enabled": "yes"}, "retention_enabled"),
           ({"retention_package_query_string": "x" * (MAX_QUERY_CHARS + 1)},
            "retention_package_query_string"),
           ({"retention_package_query_string": " ".join(["name:a"] * (MAX_QUERY_TERMS + 1))},
            "retention_package_query_string"),
           ({"retention_package_query_string": 'tag:"open'}, "retention_package_query_string"),
           ({"retention_keep_everything": True}, "retention_keep_everything")]
    for body, field in bad:
        for method, rest in (("PATCH", ""), ("POST", "dry-run/")):
            reply = httpx.request(method, rules_url(served, rest), headers=AUTH, json=body)
            assert reply.status_code == 422 and field in reply.json()["fields"], (body, reply.text)
    assert httpx.patch(rules_url(served), headers=AUTH, content=b"[1]").status_code == 400
    assert httpx.get(rules_url(served), headers=AUTH).json()["retention_enabled"] is False
    unknown = httpx.get(f"{served.url}/repos/acme/nothing/retention/", headers=AUTH)
    assert unknown.status_code == 404
    wrong = gopush(served, "retention", REPO, "--keep", "1",
                   env={**CI_ENV, "GOPUSH_API_KEY": "nope"})
    assert wrong.returncode == 3, wrong.stderr
    assert httpx.get(rules_url(served), headers=AUTH).json()["retention_count_limit"] == 0


def test_apply_asks_on_a_terminal(serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """On a terminal `--apply` asks; "n" removes nothing (exit 0), "y" removes what the
    rules remove."""
    served = serve("--repo", REPO)
    for version in ("v1.0.0", "v1.1.0"):
        push(served, tmp_path, version)
    assert gopush(served, "retention", REPO, "--keep", "1", "--enable").returncode == 0
    env = {k: v for k, v in CI_ENV.items() if k != "CI"}

    def answer(reply: bytes) -> tuple[int, bytes]:
        return answer_on_terminal(["retention", REPO, "--apply", "--api-host", served.url], env, reply)

    code, seen = answer(b"n")
    assert code == 0 and b"nothing removed" in seen, seen
    assert go_versions(go, served)[0] == ["v1.0.0", "v1.1.0"]
    code, seen = answer(b"y")
    assert code == 0 and b"1 version removed" in seen, seen
    assert go_versions(go, served) == (["v1.1.0"], "v1.1.0")
