"""Module zips the go command refuses, made byte by byte for the server's refusal tests."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path


def write_zip(path: Path, prefix: str, files: dict[str, bytes],
              method: int = zipfile.ZIP_DEFLATED) -> Path:
    """Write ``files`` under ``prefix`` (``module@version/``) into a zip at ``path``."""
    with zipfile.ZipFile(path, "w", compression=method) as archive:
        for name, data in files.items():
            archive.writestr(prefix + name, data)
    return path


def size_lie(path: Path, prefix: str, name: str, data: bytes, claimed: int) -> Path:
    """Write a valid module zip, then make ``name`` claim ``claimed`` uncompressed bytes."""
    write_zip(path, prefix, {"go.mod": f"module {prefix.split('@')[0]}\n".encode(),
                             name: data}, method=zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    target = (prefix + name).encode()
    central = raw.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", raw, central + 28)[0]
        if raw[central + 46: central + 46 + name_len] == target:
            struct.pack_into("<I", raw, central + 24, claimed)
            local = struct.unpack_from("<I", raw, central + 42)[0]
            struct.pack_into("<I", raw, local + 22, claimed)
            break
        central = raw.find(b"PK\x01\x02", central + 4)
    else:
        raise AssertionError("entry not found")
    path.write_bytes(bytes(raw))
    return path
