"""Property tests: any file list or any bytes get a verdict or a clear refusal, never a crash."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gopush.errors import InvalidModuleZip
from gopush.gosem import gomod
from gopush.modzip.check import check_zip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile, FileKind
from gopush.modzip.report import Invalid
from gopush.modzip.rules import check_files

ELEMENTS = st.sampled_from(["a", "A", "vendor", "go.mod", "GO.MOD", "..", ".", "", "x.go",
                            "\u212a", "k", "ß", "con", "a:b", ".hg_archival.txt", "LICENSE"])
PATHS = st.lists(ELEMENTS, min_size=1, max_size=4).map("/".join) | st.text(max_size=12)
FILES = st.lists(st.builds(DataFile, PATHS, st.binary(max_size=20),
                           st.sampled_from(list(FileKind))), max_size=12)
GO_LINES = st.sampled_from(["", "1.23", "1.24", "1.24rc1", "junk"])


@given(FILES, GO_LINES)
@settings(max_examples=300, deadline=None)
def test_check_files_gives_every_file_one_verdict(files: list[DataFile], go_line: str) -> None:
    """Every file lands in exactly one list; the error is None or has a message."""
    report = check_files(files, go_version=go_line)
    assert len(report.valid) + len(report.omitted) + len(report.invalid) == len(files)
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
        created = create_zip(dest, "example.com/m", "v1.0.0", files, go_version=go_line)
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
