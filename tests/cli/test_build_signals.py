"""A signal while `gopush build` reads `git archive`: it stops, cleans up, and says so.

A real process builds a repository big enough that the signal lands mid-archive (the moment
gopush's spill directory for large files appears). SIGINT goes to gopush alone, as a
supervisor sends it, not to its process group as a terminal's Ctrl-C does: git, blocked
writing a pipe nobody reads any more, must not keep gopush waiting.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli.conftest import stop_with
from gitrepo import GitRepo


@pytest.mark.parametrize(("command", "sig", "code", "said"), [
    (["build"], signal.SIGINT, 130, "interrupted"),
    (["build"], signal.SIGTERM, 143, "terminated"),
    (["push", "go", "acme/gomods", "--api-host", "http://127.0.0.1:9"], signal.SIGTERM, 143,
     "interrupted while building the checkout's module (nothing sent yet)"),
])
def test_signal_mid_archive_stops_and_cleans_up(git_repo: GitRepo, tmp_path: Path,
                                                command: list[str], sig: signal.Signals,
                                                code: int, said: str) -> None:
    git_repo.commit(files={"go.mod": "module example.com/big\n\ngo 1.21\n",
                           **{f"data/{n}.bin": os.urandom(24 << 20) for n in range(4)}})
    git_repo.git("tag", "v1.0.0")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch), "CI": "1", "PYTHONFAULTHANDLER": "1",
           "GOPUSH_API_KEY": "signal-test-key", "HOME": str(tmp_path)}
    if command == ["build"]:
        command = [*command, "--out", str(tmp_path / "dist")]
    proc = subprocess.Popen([sys.executable, "-m", "gopush", *command], cwd=git_repo.path,
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not list(scratch.glob("gopush-spill-*/*")) and proc.poll() is None:
            assert time.monotonic() < deadline, "gopush never started reading the archive"
            time.sleep(0.005)
        assert proc.poll() is None, f"the build ended before the signal: {proc.stderr.read()}"
        _, err = stop_with(proc, sig)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert said in err and "Traceback" not in err
    assert list(scratch.iterdir()) == []  # shadow repository, spill files, push's build gone
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").rglob("*.zip"))
