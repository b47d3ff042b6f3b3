"""`gopush check` on zip bombs and huge modules: a legal bomb is accepted with go's h1:, lying
ones are refused with go's reason, a module of 100,000 files is checked, and the process stays
under 100 MB in every case (the real go is the oracle)."""

from __future__ import annotations

import os
import sys
import tracemalloc
from pathlib import Path

import pytest
from gotool import GoOracle
from zipbomb import BOMB_BYTES, go_download, run_measured, write_bomb

from gopush.errors import ExitCode
from gopush.modzip.check import check_zip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

MODULE, VERSION = "example.com/bomb", "v1.0.0"
CLIENT_LIMIT_MB = 100


def gopush_check(zip_path: Path) -> tuple[int, str, float]:
    """Run `gopush check ZIP` as a process; return exit code, all output and peak RSS (MB)."""
    done = run_measured([sys.executable, "-m", "gopush", "check", str(zip_path)],
                        {**os.environ, "CI": "1"})
    return done.code, done.out + done.err, done.peak_mb


def test_check_of_a_legal_bomb_agrees_with_go_in_bounded_memory(go: GoOracle,
                                                                 tmp_path: Path) -> None:
    """A 408 kB zip holding 400 MiB of zeros is a module go accepts: gopush check accepts
    it with go's h1: and peaks under 100 MB (it reached 850 MB when entries were inflated
    in one piece)."""
    bomb = write_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 500_000
    want, err = go_download(go, tmp_path / "go", bomb, MODULE, VERSION)
    assert want is not None, err
    code, out, peak = gopush_check(bomb)
    print(f"gopush check peak {peak:.0f} MB")
    assert code == ExitCode.OK, out
    assert f"{MODULE} {VERSION} {want}" in out
    assert peak < CLIENT_LIMIT_MB, f"gopush check peaked at {peak:.0f} MB"


LIES = {
    # declares 1 MiB, inflates to 400 MiB: stopped at the first piece past 1 MiB
    "more than declared": ({"declared": 1 << 20}, "zip: not a valid zip file"),
    # declares 400 MiB, holds 300 MiB
    "less than declared": ({"size": 300 << 20, "declared": BOMB_BYTES}, "unexpected EOF"),
    "checksum": ({"crc": 0x12345678}, "zip: checksum error"),
}


@pytest.mark.parametrize("lie", list(LIES), ids=list(LIES))
def test_check_refuses_a_lying_bomb_with_gos_reason(go: GoOracle, tmp_path: Path,
                                                    lie: str) -> None:
    """Sizes or a CRC that lie: go refuses the zip, and gopush check refuses it (exit 4)
    with go's own words, naming the entry, under 100 MB."""
    fields, reason = LIES[lie]
    bomb = write_bomb(tmp_path / "bomb.zip", **fields)  # type: ignore[arg-type]
    theirs, go_error = go_download(go, tmp_path / "go", bomb, MODULE, VERSION)
    assert theirs is None and reason in go_error
    code, out, peak = gopush_check(bomb)
    print(f"gopush check peak {peak:.0f} MB ({lie})")
    assert code == ExitCode.INVALID_MODULE, out
    assert f"{MODULE}@{VERSION}/zeros.bin" in out and reason in out
    assert "Traceback" not in out
    assert peak < CLIENT_LIMIT_MB, f"gopush check peaked at {peak:.0f} MB"


def test_check_of_100000_files_stays_compact(tmp_path: Path) -> None:
    """A module of 100,000 small files: gopush check agrees with the writer's h1: and peaks
    under 100 MB with its whole table of verdicts; the checker alone traces under 40 MiB
    (the central directory is walked from the file, not held; per entry stay the folded
    path while names are checked, then the valid name and a 32-byte digest)."""
    files = [DataFile("go.mod", b"module example.com/many\n")]
    files += [DataFile(f"pkg{i // 1000:03d}/file{i:06d}.go", f"package pkg{i // 1000:03d}\n"
                       .encode()) for i in range(99_999)]
    many = tmp_path / "many.zip"
    created = create_zip(many, "example.com/many", "v1.0.0", files)
    del files
    tracemalloc.start()
    try:
        checked = check_zip(many)
        traced = tracemalloc.get_traced_memory()[1] / (1 << 20)
    finally:
        tracemalloc.stop()
    assert checked.sum == created.sum and len(checked.report.valid) == 100_000
    code, out, peak = gopush_check(many)
    print(f"100,000 files: check_zip traced {traced:.1f} MiB; gopush check peak {peak:.0f} MB")
    assert code == ExitCode.OK and created.sum in out
    assert traced < 40
    assert peak < CLIENT_LIMIT_MB, f"gopush check peaked at {peak:.0f} MB"
