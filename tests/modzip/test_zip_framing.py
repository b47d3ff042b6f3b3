"""Zips framed as Go's archive/zip allows: bytes before the zip (a self-extracting stub) and
an end record whose directory size is short. The real go accepts both; so does gopush check,
with go's h1:."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from gotool import GoOracle
from zipbomb import go_download

from gopush.errors import InvalidModuleZip
from gopush.modzip.check import check_zip

MODULE, VERSION = "example.com/m", "v1.0.0"


def _plain(path: Path) -> bytes:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{MODULE}@{VERSION}/go.mod", f"module {MODULE}\n")
        z.writestr(f"{MODULE}@{VERSION}/a.go", "package m\n")
    return path.read_bytes()


def _prefixed(data: bytes) -> bytes:
    """100 bytes before the zip; offsets still count from the zip's own start."""
    return b"#!/bin/sh\n" + b"x" * 90 + data


def _directory_size_short(data: bytes) -> bytes:
    """The end record declares a central directory 10 bytes shorter than it is."""
    end = data.rfind(struct.pack("<I", 0x06054B50))
    size = struct.unpack_from("<I", data, end + 12)[0]
    return data[:end + 12] + struct.pack("<I", size - 10) + data[end + 16:]


FRAMINGS = {"100 bytes before the zip": _prefixed,
            "directory size 10 bytes short": _directory_size_short}


@pytest.mark.parametrize("framing", list(FRAMINGS), ids=list(FRAMINGS))
def test_framing_go_accepts_is_accepted_with_gos_h1(go: GoOracle, tmp_path: Path,
                                                    framing: str) -> None:
    """go mod download accepts the zip; gopush's checker accepts it with the same h1:
    (it said "zip: not a valid zip file")."""
    zip_path = tmp_path / "m.zip"
    zip_path.write_bytes(FRAMINGS[framing](_plain(tmp_path / "plain.zip")))
    want, err = go_download(go, tmp_path / "go", zip_path, MODULE, VERSION)
    assert want is not None, err
    result = check_zip(zip_path)
    assert result.report.error(f"{MODULE}@{VERSION}") is None
    assert result.sum == want


def test_a_directory_size_too_long_is_refused_as_go_refuses_it(go: GoOracle,
                                                               tmp_path: Path) -> None:
    """Declaring 10 bytes more than the directory holds makes the base offset negative: go
    finds no directory where it then looks and refuses the zip; so does gopush."""
    data = _plain(tmp_path / "plain.zip")
    end = data.rfind(struct.pack("<I", 0x06054B50))
    size = struct.unpack_from("<I", data, end + 12)[0]
    zip_path = tmp_path / "m.zip"
    zip_path.write_bytes(data[:end + 12] + struct.pack("<I", size + 10) + data[end + 16:])
    want, err = go_download(go, tmp_path / "go", zip_path, MODULE, VERSION)
    assert want is None and "zip: not a valid zip file" in err, err
    with pytest.raises(InvalidModuleZip, match="zip: not a valid zip file"):
        check_zip(zip_path)
