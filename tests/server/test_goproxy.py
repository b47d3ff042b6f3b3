"""The GOPROXY side of `gopush serve`, judged by the real go command: @latest, mixed-case
paths, private repositories over HTTPS with .netrc credentials, upstream fallback, and the
404/410 answers that let a GOPROXY list fall through."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, CertAuthority, api_push, gopush_build, tagged_module
from gotool import GoError, GoOracle

pytestmark = pytest.mark.both_databases

MIXED = "example.com/Mixed/Case"


def test_latest_and_mixed_case_path(serve: Any, go: GoOracle, tmp_path: Path) -> None:
    """go resolves @latest to the highest release (not a newer prerelease or pseudo-version)
    of a mixed-case module; the list omits pseudo-versions; sums match gopush build."""
    served = serve()
    repo = tagged_module(tmp_path / "repo", MIXED, ["v1.0.0", "v1.1.0", "v1.2.0-rc.1"])
    repo.commit("after the tags", {"more.go": "package lib\n"})
    built = {rev: gopush_build(repo.path, rev, tmp_path / "dist")
             for rev in ("v1.0.0", "v1.1.0", "v1.2.0-rc.1", "main")}
    pseudo_version = built["main"]["version"]
    assert pseudo_version.startswith("v1.2.0-rc.1.0.")
    for doc in built.values():
        assert api_push(served.url, "acme/gomods", doc["zip"]).status_code == 201
    proxy = served.goproxy("acme/gomods")
    listed = httpx.get(proxy + "example.com/!mixed/!case/@v/list")
    assert listed.text.split() == ["v1.0.0", "v1.1.0", "v1.2.0-rc.1"]
    mod = httpx.get(proxy + "example.com/!mixed/!case/@v/v1.0.0.mod")
    for answer in (listed, mod):  # uploaders' bytes on the web page's origin: never sniffed
        assert answer.headers["x-content-type-options"] == "nosniff"
    latest = go.download(MIXED, "latest", GOPROXY=proxy)
    assert (latest["Version"], latest["Sum"]) == ("v1.1.0", built["v1.1.0"]["sum"])
    pseudo = go.download(MIXED, pseudo_version, GOPROXY=proxy)
    assert pseudo["Sum"] == built["main"]["sum"]
    assert httpx.get(proxy + "example.com/mixed/case/@v/list").status_code == 404  # not held


def test_latest_falls_back_to_prerelease_then_pseudo(serve: Any, go: GoOracle,
                                                     tmp_path: Path) -> None:
    """With no release, @latest is the highest prerelease; with none, the pseudo-version."""
    served = serve()
    repo = tagged_module(tmp_path / "repo", "example.com/pre", ["v0.1.0-alpha", "v0.1.0-beta"])
    repo.commit("later", {"x.go": "package lib\n"})
    pseudo = gopush_build(repo.path, "main", tmp_path / "dist")
    for tag in ("v0.1.0-alpha", "v0.1.0-beta"):
        doc = gopush_build(repo.path, tag, tmp_path / "dist")
        assert api_push(served.url, "acme/pre", doc["zip"]).status_code == 201
    assert api_push(served.url, "acme/pseudo", pseudo["zip"]).status_code == 201
    got = go.download("example.com/pre", "latest", GOPROXY=served.goproxy("acme/pre"))
    assert got["Version"] == "v0.1.0-beta"
    got = go.download("example.com/pre", "latest", GOPROXY=served.goproxy("acme/pseudo"))
    assert got["Version"] == pseudo["version"] and got["Sum"] == pseudo["sum"]


def test_not_here_falls_through_and_sumdb_is_not_proxied(serve: Any, go: GoOracle,
                                                         tmp_path: Path) -> None:
    """Unknown modules/versions get 404 (deleted ones 410), so go moves on to the next GOPROXY
    entry; /sumdb/<name>/supported is 404."""
    served = serve("--repo", "acme/empty")
    repo = tagged_module(tmp_path / "repo", "example.com/elsewhere", ["v1.0.0"])
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    proxy = served.goproxy("acme/empty")
    chain = f"{proxy},file://{tmp_path / 'dist'}"
    assert go.download("example.com/elsewhere", "v1.0.0", GOPROXY=chain)["Sum"] == built["sum"]
    # a version-less query asks list and @latest first: both must let go move on
    assert httpx.get(proxy + "example.com/elsewhere/@v/list").status_code == 404
    latest = go.download("example.com/elsewhere", "latest", GOPROXY=chain)
    assert (latest["Version"], latest["Sum"]) == ("v1.0.0", built["sum"])
    assert httpx.get(proxy + "sumdb/sum.golang.org/supported").status_code == 404
    assert httpx.get(proxy + "example.com/elsewhere/@v/v1.0.0.info").status_code == 404
    assert httpx.get(proxy + "example.com/elsewhere/@latest").status_code == 404
    assert httpx.get(proxy + "not a path").status_code == 404
    package = api_push(served.url, "acme/empty", built["zip"]).json()
    deleted = httpx.delete(f"{served.url}/v1/packages/acme/empty/{package['slug']}/",
                           headers={"X-Api-Key": KEY})
    assert deleted.status_code == 204
    assert httpx.get(proxy + "example.com/elsewhere/@v/v1.0.0.zip").status_code == 410


def _netrc(path: Path, machine: str, password: str) -> Path:
    path.write_text(f"machine {machine} login token password {password}\n")
    path.chmod(0o600)
    return path


def test_private_repo_over_https_with_netrc(serve: Any, go: GoOracle, tmp_path: Path,
                                            test_ca: CertAuthority) -> None:
    """A private repository refuses anonymous and wrong-token reads with a bare 401, and go
    downloads from it over HTTPS with token:<TOKEN> from .netrc (and with the API key)."""
    token = "read-token-5f0e9a"
    served = serve("--tls-cert", str(test_ca.cert), "--tls-key", str(test_ca.key),
                   "--repo", "acme/private:private",
                   env={"GOPUSH_SERVE_READ_TOKENS": f"acme/private={token}"})
    assert served.url.startswith("https://")
    repo = tagged_module(tmp_path / "repo", "example.com/secret", ["v1.0.0"])
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    ca = ssl.create_default_context(cafile=str(test_ca.ca_cert))
    assert api_push(served.url, "acme/private", built["zip"], verify=ca).status_code == 201
    proxy = served.goproxy("acme/private")
    info = proxy + "example.com/secret/@v/v1.0.0.info"
    anonymous = httpx.get(info, verify=ca)
    wrong = httpx.get(info, verify=ca, auth=("token", "nope"))
    unknown = httpx.get(served.goproxy("acme/nothing") + "example.com/secret/@v/list", verify=ca)
    assert anonymous.status_code == wrong.status_code == unknown.status_code == 401
    assert anonymous.text == wrong.text == unknown.text and "v1.0.0" not in anonymous.text
    env = {"GOPROXY": proxy, "SSL_CERT_FILE": str(test_ca.ca_cert)}
    with pytest.raises(GoError, match="401"):
        go.download("example.com/secret", "v1.0.0", **env)
    machine = served.url.removeprefix("https://")
    env["NETRC"] = str(_netrc(tmp_path / "netrc", machine, token))
    assert go.download("example.com/secret", "v1.0.0", **env)["Sum"] == built["sum"]
    assert httpx.get(info, verify=ca, auth=("gopush", KEY)).status_code == 200


def test_https_upstream_is_verified_against_ssl_cert_file(serve: Any, tmp_path: Path,
                                                          test_ca: CertAuthority) -> None:
    """An upstream served over HTTPS by a private CA is trusted when SSL_CERT_FILE names the
    CA (as go and httpx do), and refused without it: the certificate is really checked."""
    upstream = serve("--tls-cert", str(test_ca.cert), "--tls-key", str(test_ca.key),
                     "--repo", "acme/origin")
    repo = tagged_module(tmp_path / "repo", "example.com/tlsup", ["v1.0.0"])
    built = gopush_build(repo.path, "v1.0.0", tmp_path / "dist")
    ca = ssl.create_default_context(cafile=str(test_ca.ca_cert))
    assert api_push(upstream.url, "acme/origin", built["zip"], verify=ca).status_code == 201
    link = f"acme/mirror={upstream.goproxy('acme/origin')}"
    trusting = serve("--repo", "acme/mirror", "--upstream", link,
                     env={"SSL_CERT_FILE": str(test_ca.ca_cert)})
    info = "example.com/tlsup/@v/v1.0.0.info"
    assert httpx.get(trusting.goproxy("acme/mirror") + info).status_code == 200
    distrusting = serve("--repo", "acme/mirror", "--upstream", link,
                        env={"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""})
    refused = httpx.get(distrusting.goproxy("acme/mirror") + info)
    assert refused.status_code == 502 and "CERTIFICATE_VERIFY_FAILED" in refused.text


def test_upstream_fallback_fetches_verifies_and_caches(serve: Any, go: GoOracle,
                                                       tmp_path: Path) -> None:
    """A repository with an upstream serves a module held only by a second instance; the copy
    is cached, so it is still served after the upstream stops."""
    upstream = serve("--repo", "acme/origin")
    repo = tagged_module(tmp_path / "repo", "example.com/Upstream", ["v1.0.0", "v1.1.0"])
    built = {t: gopush_build(repo.path, t, tmp_path / "dist") for t in ("v1.0.0", "v1.1.0")}
    for doc in built.values():
        assert api_push(upstream.url, "acme/origin", doc["zip"]).status_code == 201
    mirror = serve("--repo", "acme/mirror",
                   "--upstream", f"acme/mirror={upstream.goproxy('acme/origin')}")
    proxy = mirror.goproxy("acme/mirror")
    assert httpx.get(proxy + "example.com/!upstream/@v/list").text.split() == ["v1.0.0",
                                                                              "v1.1.0"]
    got = go.download("example.com/Upstream", "latest", GOPROXY=proxy)
    assert (got["Version"], got["Sum"]) == ("v1.1.0", built["v1.1.0"]["sum"])
    got = go.download("example.com/Upstream", "v1.0.0", GOPROXY=proxy)
    assert got["Sum"] == built["v1.0.0"]["sum"]
    upstream.stop()
    go.run(["clean", "-modcache"])
    again = go.download("example.com/Upstream", "v1.0.0", GOPROXY=proxy)
    assert again["Sum"] == built["v1.0.0"]["sum"]
    with pytest.raises(GoError):
        go.download("example.com/Upstream", "v0.9.0", GOPROXY=proxy)
