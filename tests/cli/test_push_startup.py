"""``gopush push`` start-up: the modules a CI push imports (start-up time is part of a push)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gopush.errors import ExitCode


def imported_by_push(tmp_path: Path) -> tuple[int, set[str]]:
    """Run a CI-mode push of a missing zip under ``-X importtime``; return exit and modules."""
    env = {**os.environ, "CI": "1", "GOPUSH_API_KEY": "startup-key",
           "GOPUSH_API_HOST": "http://127.0.0.1:9", "HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path / "config")}
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gopush", "push", "go",
                           "acme/startup", str(tmp_path / "missing.zip")],
                          env=env, capture_output=True, text=True, check=False)
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    return done.returncode, modules


def test_ci_push_does_not_import_httpx_cli_or_rich(tmp_path: Path) -> None:
    """A CI push opens its HTTP client without httpx's own CLI (rich, pygments: ~30 ms)."""
    code, modules = imported_by_push(tmp_path)
    assert code == ExitCode.USAGE  # the zip named does not exist
    assert {"httpx", "gopush.registry.http", "gopush.actions.push"} <= modules
    assert not {"rich", "pygments"} & modules  # httpx._main is listed: a failed import


def test_ci_push_to_cloudsmith_imports_only_what_it_uses(tmp_path: Path) -> None:
    """A CI push to a Cloudsmith-style registry leaves out the zip writer, the other
    targets, the TOML and INI parsers (no config file), the semver package (no comparison)
    and the retry library (loaded at a call's first failure), nor zipfile (the checker reads
    zips itself)."""
    code, modules = imported_by_push(tmp_path)
    assert code == ExitCode.USAGE  # the zip named does not exist
    assert {"gopush.registry.cloudsmith", "gopush.modzip.check"} <= modules
    unused = {"gopush.modzip.create", "gopush.registry.artifactory", "gopush.registry.gitea",
              "gopush.registry.goproxy_dir", "tomllib", "semver", "gopush.actions.build",
              "stamina", "tenacity", "configparser", "zipfile"}
    assert not unused & modules
