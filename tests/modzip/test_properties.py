"""Property tests: any file list or any bytes get a verdict or a clear refusal, never a crash,
and the zip reader never holds more than a fixed amount of memory, whatever a zip declares."""

from __future__ import annotations

import io
import re
import tempfile
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gopush.errors import InvalidModuleZip
from gopush.gosem import gomod
from gopush.modzip.check import check_zip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile, FileKind
from gopush.modzip.report import Invalid
from gopush.modzip.rules import check_files
from gopush.modzip.zipread import hash_zip

ELEMENTS = st.sampled_from(["a", "A", "vendor", "go.mod", "GO.MOD", "..", ".", "", "x.go",
                            "\u212a", "k", "ß", "con", "a:b", ".hg_archival.txt", "LICENSE"])
PATHS = st.lists(ELEMENTS, min_size=1, max_size=4).map("/".join) | st.text(max_size=12)
FILES = st.lists(st.builds(DataFile, PATHS, st.binary(max_size=20),
                           st.sampled_from(list(FileKind))), max_size=12)
GO_LINES = st.sampled_from(["", "1.23", "1.24", "1.24rc1", "junk"])


def with_go_line(files: list[DataFile], go_line: str) -> list[DataFile]:
    """Put a root go.mod with ``go_line`` first (none for ""); the files may hold another."""
    if not go_line:
        return files
    return [DataFile("go.mod", f"module example.com/m\ngo {go_line}\n".encode()), *files]


@given(FILES, GO_LINES)
@settings(max_examples=300, deadline=None)
def test_check_files_gives_every_file_one_verdict(files: list[DataFile], go_line: str) -> None:
    """Every path gets a verdict; the error is None or has a message."""
    report = check_files(with_go_line(files, go_line))
    listed = with_go_line(files, go_line)
    assert len(report.valid) + len(report.omitted) + len(report.invalid) <= len(listed)
    verdicts = {*report.valid, *(i.path for i in report.omitted + report.invalid)}
    assert verdicts == {f.path for f in listed}  # one problem line per path, as x/mod
    err = report.error()
    assert err is None or (isinstance(err, InvalidModuleZip) and err.message)


@given(FILES, GO_LINES)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_create_then_check_agree(tmp_path: Path, files: list[DataFile], go_line: str) -> None:
    """Whatever create_zip accepts, check_zip accepts with the same sum, unless go.mod's module
    line names another module (or none): create_zip, like go's modzip.Create, leaves go.mod's
    content to the loader, which refuses it, and so does check_zip."""
    dest = tmp_path / "m.zip"
    try:
        created = create_zip(dest, "example.com/m", "v1.0.0", with_go_line(files, go_line))
    except InvalidModuleZip as err:
        assert err.message
        return
    checked = check_zip(dest, "example.com/m", "v1.0.0")
    if [i.reason for i in checked.report.invalid] == [Invalid.GO_MOD_MODULE_PATH]:
        with zipfile.ZipFile(dest) as z:
            assert gomod.module_path(z.read("example.com/m@v1.0.0/go.mod")) != "example.com/m"
        return
    assert checked.report.error() is None and checked.sum == created.sum


def _zip_of(names: list[str], data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in dict.fromkeys(names):
            z.writestr(name, data)
    return buf.getvalue()


ZIPS = st.builds(_zip_of, st.lists(PATHS.map(lambda p: "example.com/m@v1.0.0/" + p), max_size=5),
                 st.binary(max_size=50))


@given(st.binary(max_size=300) | ZIPS.flatmap(
    lambda z: st.tuples(st.integers(0, max(0, len(z) - 1)), st.integers(0, 255)).map(
        lambda mut: z[:mut[0]] + bytes([mut[1]]) + z[mut[0] + 1:]) | st.just(z)))
@settings(max_examples=400, deadline=None)
def test_check_zip_never_crashes(data: bytes) -> None:
    """Arbitrary or corrupted zip bytes are accepted or refused with InvalidModuleZip."""
    try:
        checked = check_zip(io.BytesIO(data))
    except InvalidModuleZip as err:
        assert err.message
        return
    err = checked.report.error()
    assert err is None or err.message
    assert (checked.sum != "") == (err is None)


# -- the zip reader on malformed zips: never a traceback, never more than MEMORY_BOUND --------

MEMORY_BOUND = 8 << 20  # bytes traced at the peak of one check; a piece is 64 KiB
M, V = "example.com/m", "v1.0.0"
PREFIX = f"{M}@{V}/"


def _valid_zips() -> list[bytes]:
    """Module zips go accepts, in the shapes the reader meets: our own writer, stored and
    deflated entries, data descriptors (a zip streamed to a pipe), directory entries, and a
    12 MiB file of zeros packed into 12 kB (a reader that inflates in one piece needs 12 MiB)."""
    files = [DataFile("go.mod", f"module {M}\n".encode()), DataFile("a.go", b"package m\n"),
             DataFile("sub/b.go", b"package sub\n" * 50)]
    with tempfile.TemporaryDirectory() as scratch:
        dest = Path(scratch) / "m.zip"
        create_zip(dest, M, V, files)
        ours = dest.read_bytes()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(PREFIX + "go.mod", f"module {M}\n")
        z.writestr(PREFIX + "zeros.bin", bytes(12 << 20))
    stored = io.BytesIO()
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as z:
        z.writestr(PREFIX, b"")
        z.writestr(PREFIX + "d/", b"")
        z.writestr(PREFIX + "go.mod", f"module {M}\n")
        z.writestr(PREFIX + "d/x.go", b"package d\n")
    return [ours, bomb.getvalue(), stored.getvalue(), _streamed(files)]


def _streamed(files: list[DataFile]) -> bytes:
    """Return a zip written to a pipe-like stream: every entry ends with a data descriptor."""
    class Unseekable(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, b: Any) -> int:
            self.data += b
            return len(b)

    sink = Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        for f in files:
            with z.open(PREFIX + f.path, "w") as entry:
                entry.write(f.data)
    return bytes(sink.data)


VALID_ZIPS = _valid_zips()
# where each record starts, and the (offset, width) of the fields a liar changes
_FIELDS = {b"PK\x03\x04": [(6, 2), (8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)],
           b"PK\x01\x02": [(8, 2), (10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2),
                           (32, 2), (42, 4)],
           b"PK\x05\x06": [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)]}


def _records(data: bytes) -> list[tuple[int, bytes]]:
    return [(m.start(), m.group()) for m in re.finditer(b"PK\x03\x04|PK\x01\x02|PK\x05\x06",
                                                        data)]


@st.composite
def _lying_header(draw: st.DrawFn, data: bytes) -> bytes:
    """Rewrite one header field (sizes, CRC, method, flags, lengths, offsets, counts)."""
    at, sig = draw(st.sampled_from(_records(data)))
    field, width = draw(st.sampled_from(_FIELDS[sig]))
    top = (1 << (8 * width)) - 1
    value = draw(st.sampled_from([0, 1, top, top - 1]) | st.integers(0, top))
    out = bytearray(data)
    if at + field + width <= len(out):
        out[at + field:at + field + width] = value.to_bytes(width, "little")
    return bytes(out)


@st.composite
def _flipped_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 8))):
        out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out)


MALFORMED = st.sampled_from(VALID_ZIPS).flatmap(lambda z: st.one_of(
    _lying_header(z), _flipped_bytes(z), st.integers(0, len(z)).map(lambda n: z[:n]),
    _lying_header(z).flatmap(_lying_header)))


def _traced_peak(call: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _check(data: bytes) -> None:
    try:
        checked = check_zip(io.BytesIO(data))
    except InvalidModuleZip as err:
        assert err.message
        return
    assert (checked.sum != "") == (checked.report.error() is None)


def _hash(data: bytes) -> None:
    try:
        assert hash_zip(io.BytesIO(data)).startswith("h1:")
    except InvalidModuleZip as err:
        assert err.message


@given(MALFORMED)
@settings(max_examples=300, deadline=None)
def test_malformed_zips_get_a_verdict_in_bounded_memory(data: bytes) -> None:
    """Mutated bytes, truncations, lying sizes, CRCs, methods, lengths and offsets: check_zip
    gives a verdict or raises InvalidModuleZip, and so does hash_zip (the reader for
    downloaded zips), each within MEMORY_BOUND of traced memory."""
    for call in (_check, _hash):
        peak = _traced_peak(lambda call=call: call(data))  # type: ignore[misc]
        assert peak < MEMORY_BOUND, f"{call.__name__} peaked at {peak} bytes"


def test_valid_zips_are_accepted_in_bounded_memory() -> None:
    """The unmutated zips are valid modules; the 12 MiB bomb among them stays in bounds."""
    for data in VALID_ZIPS:
        checked = check_zip(io.BytesIO(data))
        assert checked.report.error() is None and checked.sum == hash_zip(io.BytesIO(data))
        assert _traced_peak(lambda data=data: check_zip(io.BytesIO(data))) < MEMORY_BOUND
