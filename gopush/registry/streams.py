"""Request bodies streamed from a file: a byte range, or a multipart/form-data POST.

Bodies are generators over fixed-size reads, so a 100 MiB part is never held in memory,
and each call builds a fresh generator, so a retry re-reads the file instead of re-sending
a drained stream. ``on_progress`` is told the bytes of the file just handed to the network.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

READ_SIZE = 1 << 20  # 1 MiB per read keeps memory flat for any file size
Progress = Callable[[int], None]


def file_range(path: Path, offset: int, length: int, on_progress: Progress) -> Iterator[bytes]:
    """Yield ``length`` bytes of ``path`` from ``offset``, in reads of ``READ_SIZE``.

    Raises:
        OSError: the file shrank or cannot be read (it changed under us).
    """
    with path.open("rb") as handle:
        handle.seek(offset)
        left = length
        while left > 0:
            chunk = handle.read(min(READ_SIZE, left))
            if not chunk:
                raise OSError(f"{path} shrank while it was being uploaded")
            left -= len(chunk)
            on_progress(len(chunk))
            yield chunk


def form_body(fields: dict[str, str], filename: str, path: Path, size: int,
              on_progress: Progress) -> tuple[Iterator[bytes], dict[str, str]]:
    """Return a streamed multipart/form-data body and its headers (with Content-Length).

    The text fields come first, in their order, then the file as the part named ``file``
    with no per-part Content-Type, as S3-style presigned POST targets expect.
    """
    boundary = secrets.token_hex(16)
    head = b"".join(_part_head(boundary, name) + value.encode() + b"\r\n"
                    for name, value in fields.items())
    safe_name = filename.replace('"', "%22").replace("\r", "").replace("\n", "")
    head += _part_head(boundary, "file", safe_name)
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body() -> Iterator[bytes]:
        yield head
        yield from file_range(path, 0, size, on_progress)
        yield tail

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}",
               "Content-Length": str(len(head) + size + len(tail))}
    return body(), headers


def _part_head(boundary: str, name: str, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
