"""Zip bombs that are legal modules (and ones whose headers lie), and the real go's verdict.

``write_bomb`` packs a file of zeros (400 MiB by default) into a few hundred kB, as one
deflate stream, with go.mod first. ``declared`` makes both headers claim another size, and
``crc`` another checksum: the lies go's reader catches while it reads. ``go_download`` offers
a zip to a fresh go through a ``file://`` GOPROXY and returns go's h1: or its error text.
``run_measured`` and ``peak_rss_mb`` measure the memory of real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

from gotool import GoError, GoOracle

from gopush.modzip import zipfmt

BOMB_BYTES = 400 << 20
_ZEROS = bytes(1 << 20)


def write_bomb(path: Path, module: str = "example.com/bomb", version: str = "v1.0.0", *,
               size: int = BOMB_BYTES, declared: int | None = None,
               crc: int | None = None) -> Path:
    """Write ``module@version`` holding go.mod and ``zeros.bin`` (``size`` zero bytes)."""
    prefix = f"{module}@{version}/".encode()
    gomod = f"module {module}\n".encode()
    entries = [(prefix + b"go.mod", _packed([gomod]), len(gomod), zlib.crc32(gomod))]
    full, rest = divmod(size, len(_ZEROS))
    pieces = [_ZEROS] * full + ([_ZEROS[:rest]] if rest else [])
    real_crc = 0
    for piece in pieces:
        real_crc = zlib.crc32(piece, real_crc)
    entries.append((prefix + b"zeros.bin", _packed(pieces),
                    size if declared is None else declared, real_crc if crc is None else crc))
    central, offset = [], 0
    with path.open("wb") as out:
        for name, body, usize, entry_crc in entries:
            header = zipfmt.local_header(name, entry_crc, len(body), usize)
            out.write(header + body)
            central.append(zipfmt.central_record(name, entry_crc, len(body), usize, offset))
            offset += len(header) + len(body)
        directory = b"".join(central)
        out.write(directory + zipfmt.end_records(len(central), len(directory), offset))
    return path


def _packed(pieces: list[bytes]) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    return b"".join(packer.compress(piece) for piece in pieces) + packer.flush()


def write_deep(path: Path, module: str, version: str, entries: int, depth: int) -> Path:
    """Write a module zip of ``entries`` files, each ``depth`` directories deep (and a
    go.mod): go accepts it."""
    prefix = f"{module}@{version}/"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(prefix + "go.mod", f"module {module}\n")
        for i in range(entries):
            z.writestr(f"{prefix}x{i}/" + "d/" * depth + "a.go", "package m\n")
    return path


def remove_deep(path: Path) -> None:
    """Remove a tree too deep for pytest's own cleanup (Python 3.11's rmtree recurses per
    level): the module caches that hold a deep module."""
    subprocess.run(["chmod", "-R", "u+w", str(path)], check=False, capture_output=True)
    subprocess.run(["rm", "-rf", str(path)], check=True)


def go_download(go: GoOracle, where: Path, zip_path: Path, module: str,
                version: str) -> tuple[str | None, str]:
    """Offer the zip to a fresh go (its own module cache); return (h1: or None, go's error)."""
    proxy = where / "proxy"
    vdir = proxy / module / "@v"
    vdir.mkdir(parents=True, exist_ok=True)
    (vdir / "list").write_text(version + "\n")
    (vdir / f"{version}.info").write_text(json.dumps({"Version": version}))
    (vdir / f"{version}.mod").write_text(f"module {module}\n")
    (vdir / f"{version}.zip").write_bytes(zip_path.read_bytes())
    fresh = GoOracle(where / "go", go.go)
    try:
        info = fresh.download(module, version, GOPROXY=proxy.as_uri(), GOFLAGS="-modcacherw")
    except GoError as err:
        return None, str(err)
    return str(info["Sum"]), ""


class Measured(NamedTuple):
    """A finished process: exit code, output, and its peak resident set size in MB."""

    code: int
    out: str
    err: str
    peak_mb: float


# A launcher as small as Python gets: the peak a child reports includes what its parent had
# mapped when it forked (Linux keeps the pre-exec high-water mark), so the test process
# itself, which may be large late in a suite, must not be that parent.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_measured(argv: list[str], env: dict[str, str], timeout: float = 120) -> Measured:
    """Run ``argv`` (an absolute program path first) to its end; return what it printed and
    its peak RSS, from ``wait4`` in a small launcher (an upper bound by the launcher's own
    few MB)."""
    with tempfile.TemporaryDirectory() as scratch:
        peak = Path(scratch) / "maxrss"
        done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, str(peak), *argv],
                              env=env, capture_output=True, timeout=timeout, check=False)
        return Measured(done.returncode, done.stdout.decode(errors="replace"),
                        done.stderr.decode(errors="replace"), int(peak.read_text()) / 1024)


def peak_rss_mb(pid: int) -> float:
    """Return a running process's peak resident set size so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for process {pid}")
