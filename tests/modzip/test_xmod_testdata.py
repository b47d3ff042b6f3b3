"""golang.org/x/mod's own zip test data, run through gopush's equivalents.

The cases are x/mod's (BSD licensed) txtar files under ``zip/testdata/``, read at test time,
never copied here: from ``$GOPUSH_XMOD_TESTDATA`` (a ``zip/testdata`` directory), else from a
bare clone of golang/mod at ``$GOPUSH_XMOD_REPO`` (default ``/work/.mirror/golang+mod/repo``,
newest cases), else from Debian's ``golang-golang-x-mod-dev`` (``.ci/run`` installs it; x/mod
0.7.0, without the Go 1.24 vendor cases). What each directory expects is what x/mod's
``zip_test.go`` checks:

- ``create``: ``Create`` of the files (regular, sized as their data) gives ``hash``, or an
  error containing ``wantErr``. Here: ``modzip.create.create_zip``.
- ``create_from_dir``: the same from the files written to a directory. Here: the directory as
  ``gopush build`` of a plain directory lists it (``files_from_dir``) and as x/mod lists it
  (``list_dir``), then ``create_zip``.
- ``check_files``: ``CheckFiles`` gives the ``want`` file's valid / omitted / invalid lists.
  Here: ``modzip.rules.check_files``.
- ``check_dir``: ``CheckDir`` of the directory, paths under ``$work``. Here: ``list_dir`` and
  ``check_files`` (what ``gopush check DIR`` reports).
- ``check_zip``: ``CheckZip`` of a zip holding the files. Here: ``modzip.check.check_zip``.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest

from gopush.errors import InvalidModule
from gopush.modzip.check import check_zip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.modzip.report import FileReport
from gopush.modzip.rules import check_files
from gopush.modzip.zipread import hash_zip
from gopush.sources.directory import files_from_dir, list_dir

KINDS = ("create", "create_from_dir", "check_files", "check_dir", "check_zip")
DEBIAN = Path("/usr/share/gocode/src/golang.org/x/mod/zip/testdata")
MIRROR = Path(os.environ.get("GOPUSH_XMOD_REPO", "/work/.mirror/golang+mod/repo"))


class Txtar(NamedTuple):
    """A parsed txtar archive: the comment and the (name, data) files, in order."""

    comment: bytes
    files: list[tuple[str, bytes]]


def parse_txtar(data: bytes) -> Txtar:
    """Parse the txtar format: a comment, then ``-- NAME --`` lines each starting a file.

    As golang.org/x/tools/txtar: a file's data is every line up to the next marker, and a
    non-empty file (or comment) not ending in a newline gets one.
    """
    lines = data.splitlines(keepends=True)
    comment: list[bytes] = []
    files: list[tuple[str, list[bytes]]] = []
    for line in lines:
        bare = line.rstrip(b"\r\n")
        if bare.startswith(b"-- ") and bare.endswith(b" --") and len(bare) >= 7:
            files.append((bare[3:-3].strip().decode(), []))
        elif files:
            files[-1][1].append(line)
        else:
            comment.append(line)
    return Txtar(_nl(b"".join(comment)), [(n, _nl(b"".join(d))) for n, d in files])


def _nl(data: bytes) -> bytes:
    return data + b"\n" if data and not data.endswith(b"\n") else data


class Case(NamedTuple):
    """One x/mod test: the keys of its comment, its files, and its ``want`` text."""

    name: str
    keys: dict[str, str]
    files: list[tuple[str, bytes]]
    want: str | None


def read_case(name: str, data: bytes) -> Case:
    """Read keys (``path=``, ``version=``, ``hash=``, ``wantErr=``) as x/mod's readTest."""
    arc = parse_txtar(data)
    keys: dict[str, str] = {}
    for line in arc.comment.decode("utf-8", "surrogateescape").split("\n"):
        line = line.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    want = next((d.decode() for n, d in arc.files if n == "want"), None)
    return Case(name, keys, [(n, d) for n, d in arc.files if n != "want"], want)


def _testdata_files() -> tuple[str, dict[str, bytes]]:
    """Return where the test data came from and its files (``KIND/NAME.txt`` -> bytes)."""
    given = os.environ.get("GOPUSH_XMOD_TESTDATA")
    if given:
        return given, _read_tree(Path(given))
    if (MIRROR / "HEAD").exists():
        rev = subprocess.run(["git", "-C", str(MIRROR), "rev-parse", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        tar = subprocess.run(["git", "-C", str(MIRROR), "archive", "--format=tar", rev,
                              "zip/testdata"], capture_output=True, check=True).stdout
        out: dict[str, bytes] = {}
        with tarfile.open(fileobj=__import__("io").BytesIO(tar)) as t:
            for m in t.getmembers():
                if m.isfile() and m.name.endswith(".txt"):
                    out[m.name.removeprefix("zip/testdata/")] = t.extractfile(m).read()  # type: ignore[union-attr]
        return f"golang/mod@{rev[:12]} ({MIRROR})", out
    if DEBIAN.is_dir():
        return f"{DEBIAN} (golang-golang-x-mod-dev)", _read_tree(DEBIAN)
    return "", {}


def _read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.glob("*/*.txt")}


SOURCE, TESTDATA = _testdata_files()
NO_DATA = ("x/mod's zip test data is not on this machine: set GOPUSH_XMOD_TESTDATA to a "
           "golang/mod zip/testdata directory, or apt-get install golang-golang-x-mod-dev")


def cases(kind: str) -> list[Case]:
    """Return the cases of one test directory, by name."""
    return [read_case(name, data) for name, data in sorted(TESTDATA.items())
            if name.startswith(kind + "/")]


def _params(kind: str) -> list[object]:
    found = cases(kind)
    if not found:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_DATA))]
    return [pytest.param(c, id=c.name.removeprefix(kind + "/").removesuffix(".txt"))
            for c in found]


def format_report(report: FileReport, prefix: str = "") -> str:
    """Render verdicts as x/mod's formatCheckedFiles does (``prefix`` joins dir paths)."""
    lines = ["valid:", *(prefix + p for p in report.valid), "", "omitted:"]
    lines += [f"{prefix}{i.path}: {i.detail}" for i in report.omitted]
    lines += ["", "invalid:"]
    lines += [f"{prefix}{i.path}: {i.detail}" for i in report.invalid]
    return "\n".join(lines) + "\n"


def _data_files(case: Case) -> list[DataFile]:
    return [DataFile(name, data) for name, data in case.files]


def _write_tree(case: Case, root: Path) -> Path:
    root.mkdir()
    for name, data in case.files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def _assert_created(case: Case, make: object, dest: Path) -> None:
    """Run ``make()`` (a create_zip call); compare the hash or the error with the case."""
    want_err = case.keys.get("wantErr", "")
    try:
        created = make()  # type: ignore[operator]
    except InvalidModule as err:
        assert want_err, f"unexpected error: {err.message}"
        assert want_err in err.message, (err.message, want_err)
        assert not dest.exists()
        return
    assert not want_err, f"unexpected success; wanted an error containing {want_err!r}"
    assert created.sum == case.keys["hash"]
    with dest.open("rb") as f:
        assert hash_zip(f) == case.keys["hash"]  # the zip's own entries, read back


def test_testdata_source_is_known() -> None:
    """Say where the cases came from (shown with -rA); skip when there are none."""
    if not TESTDATA:
        pytest.skip(NO_DATA)
    assert all(cases(kind) for kind in KINDS), (SOURCE, sorted(TESTDATA))
    print(f"x/mod zip test data from {SOURCE}: "
          + ", ".join(f"{kind} {len(cases(kind))}" for kind in KINDS))


@pytest.mark.parametrize("case", _params("create"))
def test_create(case: Case, tmp_path: Path) -> None:
    """create_zip of the files gives x/mod's hash, or its error."""
    dest = tmp_path / "m.zip"
    _assert_created(case, lambda: create_zip(dest, case.keys["path"], case.keys["version"],
                                             _data_files(case)), dest)


@pytest.mark.parametrize("lister", ["files_from_dir", "list_dir"])
@pytest.mark.parametrize("case", _params("create_from_dir"))
def test_create_from_dir(case: Case, lister: str, tmp_path: Path) -> None:
    """A directory, listed as `gopush build` does and as x/mod does, zips to x/mod's hash."""
    root = _write_tree(case, tmp_path / "work")
    files = files_from_dir(root) if lister == "files_from_dir" else list_dir(root).files
    dest = tmp_path / "m.zip"
    _assert_created(case, lambda: create_zip(dest, case.keys["path"], case.keys["version"],
                                             files), dest)


@pytest.mark.parametrize("case", _params("check_files"))
def test_check_files(case: Case) -> None:
    """check_files gives x/mod's valid, omitted and invalid lists, and the same error."""
    report = check_files(_data_files(case))
    assert format_report(report) == case.want
    err = report.error()
    assert (err.message if err else "") == "\n".join(str(i) for i in report.invalid)


@pytest.mark.parametrize("case", _params("check_dir"))
def test_check_dir(case: Case, tmp_path: Path) -> None:
    """A directory's walk omissions and check_files verdicts are x/mod's CheckDir lists."""
    root = _write_tree(case, tmp_path / "work")
    listing = list_dir(root)
    report = check_files(listing.files)
    report = report._replace(omitted=report.omitted + tuple(listing.omitted))
    assert format_report(report, "$work/") == case.want


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the duplicate is the point
@pytest.mark.parametrize("case", _params("check_zip"))
def test_check_zip(case: Case, tmp_path: Path) -> None:
    """check_zip of a zip holding the files gives x/mod's CheckZip lists."""
    path = tmp_path / "txtar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:  # as x/mod's zip.Writer
        for name, data in case.files:
            z.writestr(name, data)
    checked = check_zip(path, case.keys["path"], case.keys["version"])
    assert format_report(checked.report) == case.want


# Where `gopush check DIR` answers otherwise than x/mod's CreateFromDir, and why.
GO_COMMAND_REFUSES = {  # x/mod makes the zip; the go command then cannot use the module
    "go_mod_dir": "go.mod is a directory",
}


@pytest.mark.parametrize("case", _params("create_from_dir"))
def test_gopush_check_of_the_directory(case: Case, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """`gopush check DIR --module P --version V` gives x/mod's hash, or exit 4 with its
    error (or with the go command's, where go refuses what x/mod's Create makes)."""
    from gopush.cli.main import main

    root = _write_tree(case, tmp_path / "work")
    code = main(["check", str(root), "--module", case.keys["path"], "--version",
                 case.keys["version"], "--json"])
    out, err = capsys.readouterr()
    doc = json.loads(out)
    name = case.name.removeprefix("create_from_dir/").removesuffix(".txt")
    want_err = GO_COMMAND_REFUSES.get(name) or case.keys.get("wantErr")
    if want_err:
        assert code == 4, doc
        assert want_err in json.dumps(doc, ensure_ascii=False) + err, doc
    else:
        assert code == 0, doc
        assert doc["sum"] == case.keys["hash"]
