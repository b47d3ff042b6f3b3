"""actions.artifact: load_artifact and HashingReader: check and hash a zip in one read."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from gopush.actions.artifact import HashingReader, load_artifact
from gopush.errors import InvalidModule
from gopush.modzip.check import check_zip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

MODULE, VERSION = "example.com/hashing", "v1.2.3"


def many_files_zip(tmp_path: Path, count: int = 40, size: int = 300_000) -> Path:
    """A module zip of ``count`` incompressible files of ``size`` bytes, plus go.mod."""
    path = tmp_path / f"{VERSION}.zip"
    files = [DataFile("go.mod", f"module {MODULE}\n".encode())]
    files += [DataFile(f"data/long-name-to-skip-{n:04d}.bin", os.urandom(size))
              for n in range(count)]
    create_zip(path, MODULE, VERSION, files)
    return path


def hash_threads() -> list[threading.Thread]:
    """The hashing worker threads still alive."""
    return [t for t in threading.enumerate() if t.name == "gopush-hash"]


def test_digests_equal_hashlib_over_the_whole_file(tmp_path: Path) -> None:
    """MD5 and SHA-256 of load_artifact are those of the file's bytes, and h1: is check_zip's."""
    path = many_files_zip(tmp_path)
    artifact = load_artifact(path)
    data = path.read_bytes()
    assert artifact.md5 == hashlib.md5(data).hexdigest()
    assert artifact.sha256 == hashlib.sha256(data).hexdigest()
    assert artifact.sum == check_zip(path).sum and artifact.sum.startswith("h1:")
    assert (artifact.module, artifact.version, artifact.size) == (MODULE, VERSION, len(data))
    assert hash_threads() == []


def test_check_and_hash_read_the_file_about_once(tmp_path: Path) -> None:
    """Checking and hashing read each byte once; only the central directory is read twice."""
    path = many_files_zip(tmp_path)
    with path.open("rb") as f:
        reader = HashingReader(f)
        try:
            check_zip(reader)
            md5, _ = reader.finish()
        finally:
            reader.close()
    size = path.stat().st_size
    assert md5 == hashlib.md5(path.read_bytes()).hexdigest()
    # beyond the file: the end-record search (last 64 KiB) and the directory (41 entries)
    assert size <= reader.bytes_read < size + 80 * 1024


def test_refused_zip_stops_the_hashing_worker(tmp_path: Path) -> None:
    """A zip that is not a zip raises InvalidModule, and no hashing thread is left behind."""
    path = tmp_path / f"{VERSION}.zip"
    path.write_bytes(os.urandom(200_000))
    with pytest.raises(InvalidModule):
        load_artifact(path)
    assert hash_threads() == []


def test_a_file_that_is_no_zip_is_named_in_the_error(tmp_path: Path) -> None:
    """With several inputs, the user must see which one is not a zip."""
    junk = tmp_path / "v1.0.0.zip"
    junk.write_bytes(os.urandom(4096))
    with pytest.raises(InvalidModule) as err:
        load_artifact(junk)
    assert err.value.message.startswith(f"{junk}: ") and "not a valid zip" in err.value.message
