"""A one- or two-character API key leaves `-v` output readable: the key is masked only as a
whole token (gopush/redaction.py, SHORT_SECRET), never every occurrence of its letters
(issue 13, point 5). Run through the CLI against a real `gopush serve`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

CLEAN_ENV = {k: v for k, v in os.environ.items()
             if k != "CI" and not k.startswith(("GOPUSH_", "CLOUDSMITH_"))}


def test_verbose_push_with_a_one_letter_key_is_readable(serve: Any, tmp_path: Path) -> None:
    """Keys "e" and "pu" (letters of "package", "published", "acme/pub"): `gopush -v push`
    and `gopush -v whoami` print every word whole, and "***" nowhere."""
    served = serve("--repo", "acme/pub", env={"GOPUSH_SERVE_API_KEYS": "e pu"},
                   new_repos=False)
    zip_path = tmp_path / "v1.0.0.zip"
    create_zip(zip_path, "example.com/m", "v1.0.0",
               [DataFile("go.mod", b"module example.com/m\n"), DataFile("m.go", b"package m\n")])
    for key in ("e", "pu"):
        env = {**CLEAN_ENV, "GOPUSH_API_KEY": key}
        pushed = gopush(env, "-v", "push", "go", "acme/pub", str(zip_path), "--api-host",
                        served.url)
        asked = gopush(env, "-v", "whoami", "--api-host", served.url)
        for printed in (pushed, asked):
            assert "***" not in printed, printed
            assert "key from GOPUSH_API_KEY" in printed
        assert f"registry: acme/pub at {served.url}" in pushed
        assert "package example-com-m-v1-0-0" in pushed  # published, or found published
        assert "gopush (gopush@localhost)" in asked


def gopush(env: dict[str, str], *argv: str) -> str:
    """Run gopush; return stdout and stderr, after checking it exits 0."""
    proc = subprocess.run([sys.executable, "-m", "gopush", *argv], env=env,
                          capture_output=True, text=True, timeout=120, check=False,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr
