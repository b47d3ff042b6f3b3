"""`gopush verify` and `gopush whoami` read as consumers do: a public repository needs no API
key (never a prompt), a private one says the key is what is missing, and both take the
`go OWNER/REPO` that `push` requires (issue 13, point 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from server.conftest import KEY, gopush_build, tagged_module

CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k != "CI" and not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}
MODULE = "example.com/readable"


def gopush(cwd: Path, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run gopush in ``cwd`` as a user would, stdin closed (no terminal to prompt on)."""
    env = {**CLEAN_ENV, **({"GOPUSH_API_KEY": key} if key else {})}
    return subprocess.run([sys.executable, "-m", "gopush", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)


def published(serve: Any, tmp_path: Path, visibility: str) -> tuple[Any, Path]:
    """A `gopush serve` with acme/mods (``visibility``) holding MODULE@v1.0.0 from a checkout."""
    served = serve("--repo", f"acme/mods:{visibility}", new_repos=False)
    repo = tagged_module(tmp_path / "checkout", MODULE, ["v1.0.0"])
    doc = gopush_build(repo.path, "v1.0.0", tmp_path / "built")
    pushed = gopush(repo.path, "push", "go", "acme/mods", doc["zip"], "--api-host", served.url,
                    key=KEY)
    assert pushed.returncode == 0, pushed.stderr
    return served, repo.path


def test_verify_a_public_repository_without_a_key(serve: Any, tmp_path: Path) -> None:
    """No key anywhere: verify downloads and compares (exit 0), with OWNER/REPO, with
    `go OWNER/REPO` and with --goproxy."""
    served, checkout = published(serve, tmp_path, "public")
    for args in (["acme/mods"], ["go", "acme/mods"],
                 ["go", "acme/mods", "--goproxy", served.goproxy("acme/mods")]):
        proc = gopush(checkout, "verify", *args, f"{MODULE}@v1.0.0", "--api-host", served.url)
        assert proc.returncode == 0, (args, proc.stderr)
        assert "identical" in proc.stdout
        assert "API key" not in proc.stderr


def test_verify_a_private_repository_names_the_missing_key(serve: Any, tmp_path: Path) -> None:
    """No key, private repository: exit 3, and the hint says a key is needed to read it;
    with the key, the same command verifies."""
    served, checkout = published(serve, tmp_path, "private")
    argv = ["verify", "go", "acme/mods", f"{MODULE}@v1.0.0", "--api-host", served.url]
    proc = gopush(checkout, *argv)
    assert proc.returncode == 3, proc.stderr
    assert "no API key was given" in proc.stderr and "GOPUSH_API_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr
    keyed = gopush(checkout, *argv, key=KEY)
    assert keyed.returncode == 0 and "identical" in keyed.stdout, keyed.stderr


def test_whoami_takes_go_owner_repo_and_says_why_without_a_key(serve: Any,
                                                              tmp_path: Path) -> None:
    """`whoami go OWNER/REPO` works as push's form does; with no key it says there is nothing
    to check and that reading a public repository needs none (exit 3, no prompt)."""
    served = serve("--repo", "acme/mods")
    keyed = gopush(tmp_path, "whoami", "go", "acme/mods", "--api-host", served.url, key=KEY)
    assert keyed.returncode == 0 and keyed.stdout.startswith("gopush"), keyed.stderr
    bare = gopush(tmp_path, "whoami", "go", "acme/mods", "--api-host", served.url)
    assert bare.returncode == 3
    assert "no API key is set" in bare.stderr and "needs none" in bare.stderr
    assert "Traceback" not in bare.stderr
