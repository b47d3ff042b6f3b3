"""The private scratch directory of a server with nothing on local disk (``server.scratch``):
removed at a normal stop, and by the next start after a kill -9 — but never while its
server lives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from gopush.server.scratch import OWNER, PREFIX, reclaim_abandoned

HOLD = """
import sys, time
from gopush.server.scratch import private_scratch
with private_scratch() as path:
    (path / "tmp").mkdir()
    (path / "tmp" / "joined-1").write_bytes(b"x" * 4096)  # a part being received
    print(path, flush=True)
    time.sleep(60)
"""


def _holder(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-c", HOLD], env=env, stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    return proc, Path(proc.stdout.readline().strip())


def test_a_killed_servers_scratch_goes_at_the_next_start_a_live_ones_stays(
        tmp_path: Path) -> None:
    killed, left = _holder(tmp_path)
    alive, held = _holder(tmp_path)
    try:
        killed.send_signal(signal.SIGKILL)
        killed.wait(10)
        assert (left / OWNER).is_file() and (left / "tmp" / "joined-1").is_file()
        assert reclaim_abandoned(tmp_path) == 1
        assert not left.exists() and (held / "tmp" / "joined-1").is_file()
        assert reclaim_abandoned(tmp_path) == 0  # the live one is never taken
        (tmp_path / f"{PREFIX}not-ours").mkdir()  # no owner file: not made by a server
        assert reclaim_abandoned(tmp_path) == 0 and (tmp_path / f"{PREFIX}not-ours").is_dir()
    finally:
        alive.terminate()
        alive.wait(10)
        killed.kill()


def test_a_normal_end_removes_the_directory(tmp_path: Path) -> None:
    import tempfile

    from gopush.server.scratch import private_scratch

    tempfile.tempdir = str(tmp_path)
    try:
        with private_scratch() as path:
            (path / "tmp").mkdir()
            assert path.parent == tmp_path and (path / OWNER).is_file()
        assert not path.exists() and list(tmp_path.iterdir()) == []
    finally:
        tempfile.tempdir = None
