"""A tiny builder for real git repositories used as test fixtures."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Fixed identity and dates keep fixture commits reproducible.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.test",
    "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.test",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitRepo:
    """A real git repository in a temporary directory, driven by the git command."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._tick = 0
        self.git("init", "-q", "-b", "main")
        self.git("config", "core.autocrlf", "false")

    def git(self, *args: str, input: bytes | None = None) -> str:
        """Run git in the repository and return its stdout as text."""
        env = {**os.environ, **GIT_ENV,
               "GIT_CONFIG_GLOBAL": os.devnull}
        # Each commit is one hour after the previous one, from 2024-01-01 00:00:00 UTC.
        date = f"@{1704067200 + self._tick} +0000"
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = date
        proc = subprocess.run(["git", *args], cwd=self.path, env=env, input=input,
                              capture_output=True, check=True)
        return proc.stdout.decode()

    def write(self, files: dict[str, str | bytes]) -> None:
        """Write files (slash paths relative to the repository root)."""
        for name, content in files.items():
            target = self.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            data = content.encode() if isinstance(content, str) else content
            target.write_bytes(data)

    def symlink(self, name: str, target: str) -> None:
        """Create a symbolic link ``name`` pointing at ``target``."""
        link = self.path / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)

    def commit(self, message: str = "commit", files: dict[str, str | bytes] | None = None) -> str:
        """Write ``files``, stage everything and commit; return the commit hash."""
        if files:
            self.write(files)
        self.git("add", "-A")
        self._tick += 3600
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.head()

    def tag(self, name: str, rev: str = "HEAD", annotated: bool = False) -> None:
        """Tag ``rev`` (lightweight, or annotated when asked)."""
        if annotated:
            self.git("tag", "-a", "-m", name, name, rev)
        else:
            self.git("tag", name, rev)

    def head(self) -> str:
        """Return the full hash of HEAD."""
        return self.git("rev-parse", "HEAD").strip()
