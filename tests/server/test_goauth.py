"""`gopush goauth` as go's GOAUTH command (go 1.24+): the real go downloads from a private
`gopush serve` over HTTPS with no .netrc and no credentials in the GOPROXY URL; without
gopush's credentials it is refused; the secret never reaches stderr; other URLs get nothing."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import KEY, CertAuthority, Served, api_push
from gotool import GoError, GoOracle

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.registry.base import ConsumerSetup, consumer_guide

TOKEN = "goauth-read-token-5b82e0"
MODULE = "example.com/secret"
GOPUSH = str(Path(sys.executable).parent / "gopush")  # the console script, as go runs it


def _private(serve: Any, tmp_path: Path, ca: CertAuthority) -> Served:
    served = serve("--tls-cert", str(ca.cert), "--tls-key", str(ca.key),
                   "--repo", "acme/private:private", new_repos=False,
                   env={"GOPUSH_SERVE_READ_TOKENS": f"acme/private={TOKEN}"})
    dest = tmp_path / "v1.0.0.zip"
    create_zip(dest, MODULE, "v1.0.0", [DataFile("go.mod", f"module {MODULE}\n".encode()),
                                        DataFile("lib.go", b"package lib\n")])
    pushed = api_push(served.url, "acme/private", dest,
                      verify=ssl.create_default_context(cafile=str(ca.ca_cert)))
    assert pushed.status_code == 201
    return served


def _download(go: GoOracle, served: Served, tmp_path: Path, ca: CertAuthority, name: str,
              goauth: str = f"{GOPUSH} goauth acme/private", **creds: str) -> str:
    """Return the h1: go downloads with GOAUTH='gopush goauth acme/private' and
    gopush's settings ``creds``, or ``refused: <go's error>``. HOME is an empty directory
    and NETRC names no file: go has no .netrc."""
    home = tmp_path / f"home-{name}"
    home.mkdir()
    env = {"GOAUTH": goauth,
           "GOPUSH_API_HOST": served.url, "GOPROXY": served.goproxy("acme/private"),
           "SSL_CERT_FILE": str(ca.ca_cert), "HOME": str(home),
           "NETRC": str(home / ".netrc"), "GOFLAGS": "-mod=mod", "GONOSUMDB": MODULE,
           "GOSUMDB": "off", "GOMODCACHE": str(tmp_path / f"cache-{name}"),
           "GOPUSH_NO_KEYRING": "1", **creds}
    assert "@" not in env["GOPROXY"]
    try:
        return str(go.download(MODULE, "v1.0.0", **env)["Sum"])
    except GoError as err:
        return f"refused: {err}"


def test_go_downloads_with_gopush_goauth_and_no_netrc(
        serve: Any, go: GoOracle, tmp_path: Path, test_ca: CertAuthority) -> None:
    """With the read token (GOPUSH_READ_TOKEN) or the API key (GOPUSH_API_KEY) the real go
    downloads the private module; with neither, or a wrong token, go gets 401."""
    served = _private(serve, tmp_path, test_ca)
    token = _download(go, served, tmp_path, test_ca, "token", GOPUSH_READ_TOKEN=TOKEN)
    key = _download(go, served, tmp_path, test_ca, "key", GOPUSH_API_KEY=KEY)
    none = _download(go, served, tmp_path, test_ca, "none")
    wrong = _download(go, served, tmp_path, test_ca, "wrong", GOPUSH_READ_TOKEN="wrong")
    # the GOAUTH line `gopush push` prints for consumers, as printed
    printed = _download(go, served, tmp_path, test_ca, "printed",
                        _pushed_goauth(served, tmp_path, test_ca).replace("gopush", GOPUSH, 1),
                        GOPUSH_READ_TOKEN=TOKEN)
    # `go help goauth`'s "command" is a placeholder: this runs a program named `command`
    placeholder = _download(go, served, tmp_path, test_ca, "placeholder",
                            f"command {GOPUSH} goauth acme/private", GOPUSH_READ_TOKEN=TOKEN)
    assert token.startswith("h1:") and key == token == printed, (token, key, printed)
    assert placeholder.startswith("refused") and "401" in placeholder, placeholder
    assert none.startswith("refused") and "401" in none, none
    assert wrong.startswith("refused") and "401" in wrong, wrong
    assert TOKEN not in wrong + none


def _pushed_goauth(served: Served, tmp_path: Path, ca: CertAuthority) -> str:
    """Push v1.1.0 with `gopush push --json`; return the GOAUTH value of its consumer setup."""
    dest = tmp_path / "v1.1.0.zip"
    create_zip(dest, MODULE, "v1.1.0", [DataFile("go.mod", f"module {MODULE}\n".encode())])
    proc = _goauth("push", "go", "acme/private", str(dest), "--api-host", served.url, "--json",
                   GOPUSH_API_KEY=KEY, SSL_CERT_FILE=str(ca.ca_cert), CI="1",
                   HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    goauth = str(json.loads(proc.stdout)["setup"]["GOAUTH"])
    assert goauth == f"gopush goauth --goproxy {served.goproxy('acme/private')}"
    return goauth


def _goauth(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}
    return subprocess.run([GOPUSH, *args], env={**full, "GOPUSH_NO_KEYRING": "1", **env},
                          capture_output=True, text=True, timeout=60, check=False)


def test_goauth_answers_only_its_prefix_and_keeps_the_secret_off_stderr(tmp_path: Path) -> None:
    """The answer is go's format for the GOPROXY prefix (port included); a URL of another
    host or port, or a plain-http GOPROXY, gets nothing with exit 0; -v never shows the
    token on stderr."""
    env = {"GOPUSH_API_HOST": "https://127.0.0.1:8443", "GOPUSH_READ_TOKEN": TOKEN,
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}  # no config file
    first = _goauth("-v", "goauth", "acme/private", **env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == ("https://127.0.0.1:8443/go/acme/private/\n\n"
                            "Authorization: Basic "
                            "dG9rZW46Z29hdXRoLXJlYWQtdG9rZW4tNWI4MmUw\n\n")
    url = "https://127.0.0.1:8443/go/acme/private/example.com/secret/@v/list"
    assert _goauth("goauth", "acme/private", url, **env).stdout == first.stdout
    for other in ("https://example.com/go/acme/private/x/@v/list",
                  "https://127.0.0.1:9443/go/acme/private/x/@v/list",
                  "https://127.0.0.1:8443/go/acme/other/x/@v/list"):
        answer = _goauth("-v", "goauth", "acme/private", other, **env)
        assert (answer.returncode, answer.stdout) == (0, ""), answer.stderr
        assert TOKEN not in answer.stderr
    plain = _goauth("goauth", "acme/private", **{**env, "GOPUSH_API_HOST": "http://127.0.0.1:8080"})
    assert (plain.returncode, plain.stdout) == (0, "")
    assert TOKEN not in first.stderr + plain.stderr


def test_push_prints_the_goauth_line_beside_netrc() -> None:
    """The consumer setup of a private HTTPS registry names GOAUTH beside the .netrc line."""
    guide = consumer_guide(ConsumerSetup("https://h:8443/go/acme/private/", "h:8443"),
                           [(MODULE, "v1.0.0")])
    lines = guide.lines()
    assert "export GOAUTH='gopush goauth --goproxy https://h:8443/go/acme/private/'" \
        in lines
    assert lines.index(guide.netrc) < lines.index(f"export GOAUTH='{guide.goauth}'")
    assert guide.as_json()["GOAUTH"] == guide.goauth
