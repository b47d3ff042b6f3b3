"""Rule tables for modzip.rules.check_files, on in-memory files."""

from __future__ import annotations

import io

import pytest

from gopush.errors import InvalidModuleZip
from gopush.modzip.files import DataFile, FileKind
from gopush.modzip.report import FileReport, Invalid, Omit
from gopush.modzip.rules import (
    MAX_GO_MOD_BYTES,
    MAX_LICENSE_BYTES,
    MAX_ZIP_BYTES,
    FileStat,
    check_files,
    is_vendored,
    omitted_dirs,
    uses_fixed_vendor_rule,
)


def verdicts(report: FileReport) -> dict[str, str]:
    """Map each path to "valid" or its reason."""
    out = {p: "valid" for p in report.valid}
    for item in (*report.omitted, *report.invalid):
        out[item.path] = str(item.reason)
    return out


@pytest.mark.parametrize(("path", "old", "new"), [
    ("vendor/modules.txt", False, True),
    ("vendor/x.go", False, False),
    ("vendor/a/b.go", True, True),
    ("a/vendor/b/c.go", True, True),
    ("a/vendor/x.go", True, False),
    ("pkg/vendor/vendor.go", True, False),
    ("verylongname/vendor/x.go", True, False),
    ("a/b/vendor/x/y.go", True, True),
    ("vendors/x/y.go", False, False),
    ("myvendor/x/y.go", False, False),
    ("x.go", False, False),
])
def test_vendor_rule_by_go_line(path: str, old: bool, new: bool) -> None:
    """The pre-1.24 vendor rule and the fixed one agree with Go's isVendoredPackage."""
    assert is_vendored(path, fixed=False) is old
    assert is_vendored(path, fixed=True) is new


@pytest.mark.parametrize(("go_line", "fixed"), [
    ("", False), ("1.23", False), ("1.23.9", False), ("1.21rc1", False), ("1.24", True),
    ("1.24rc1", True), ("1.24.0", True), ("1.25", True), ("2", True), ("1.024", False),
    ("garbage", False), ("1", False),
])
def test_fixed_vendor_rule_starts_at_go_1_24(go_line: str, fixed: bool) -> None:
    """The fixed vendor rule applies when the go line's language version is >= 1.24."""
    assert uses_fixed_vendor_rule(go_line) is fixed


VENDOR_FILES = [DataFile("vendor/modules.txt"), DataFile("vendor/a/b.go"),
                DataFile("a/vendor/x.go")]
OLD_VENDOR_RULE = {"go.mod": "valid", "vendor/modules.txt": "valid", "vendor/a/b.go": "vendored",
                   "a/vendor/x.go": "vendored"}
NEW_VENDOR_RULE = {"go.mod": "valid", "vendor/modules.txt": "vendored",
                   "vendor/a/b.go": "vendored", "a/vendor/x.go": "valid"}

CASES: list[tuple[str, list[DataFile], dict[str, str]]] = [
    ("nested module omitted, root kept", [
        DataFile("go.mod", b"module m\n"), DataFile("a.go"),
        DataFile("sub/go.mod", b"module m/sub\n"), DataFile("sub/x.go"),
        DataFile("sub/deep/y.go"), DataFile("subx/z.go"),
    ], {"go.mod": "valid", "a.go": "valid", "sub/go.mod": "submodule",
                "sub/x.go": "submodule", "sub/deep/y.go": "submodule", "subx/z.go": "valid"}),
    ("GO.MOD in a subdirectory makes a nested module", [
        DataFile("a/GO.MOD"), DataFile("a/b.go"), DataFile("c.go"),
    ], {"a/GO.MOD": "submodule", "a/b.go": "submodule", "c.go": "valid"}),
    ("GO.MOD at the root is invalid", [DataFile("GO.MOD")], {"GO.MOD": "go-mod-case"}),
    ("a go.mod directory does not make a nested module", [
        DataFile("a/go.mod", kind=FileKind.DIRECTORY), DataFile("a/b.go"),
    ], {"a/go.mod": "not-regular", "a/b.go": "valid"}),
    ("a go.mod symlink does not make a nested module", [
        DataFile("a/go.mod", b"x", kind=FileKind.SYMLINK), DataFile("a/b.go"),
    ], {"a/go.mod": "symlink", "a/b.go": "valid"}),
    ("hg archival file only at the root", [
        DataFile(".hg_archival.txt"), DataFile("a/.hg_archival.txt"),
    ], {".hg_archival.txt": "hg-archival", "a/.hg_archival.txt": "valid"}),
    ("committed VCS directories stay (as with git archive)", [
        DataFile(".hg/store"), DataFile(".svn/entries"),
    ], {".hg/store": "valid", ".svn/entries": "valid"}),
    ("vendor under go 1.23", [
        DataFile("go.mod", b"go 1.23\n"), *VENDOR_FILES,
    ], OLD_VENDOR_RULE),
    ("vendor under go 1.24", [DataFile("go.mod", b"go 1.24\n"), *VENDOR_FILES], NEW_VENDOR_RULE),
    ("go line read leniently: unknown directives, bad toolchain and godebug lines, 1.24-x", [
        DataFile("go.mod", b"module m\r\ngo 1.24-custom\r\ntoolchain banana\r\n"
                 b"godebug (\n\tnot a pair\n)\nfrobnicate 7\nreplace (\n\tjunk\n)\n"),
        *VENDOR_FILES,
    ], NEW_VENDOR_RULE),
    ("a root go.mod that does not parse leniently has no go line", [
        DataFile("go.mod", b"module m\ngo 1.24\nrequire (\n"), *VENDOR_FILES,
    ], OLD_VENDOR_RULE),
    ("a repeated module line fails the lenient parse too", [
        DataFile("go.mod", b"module m\nmodule n\ngo 1.24\n"), *VENDOR_FILES,
    ], OLD_VENDOR_RULE),
    ("UTF-16 bytes in the zip do not parse", [
        DataFile("go.mod", "module m\ngo 1.24\n".encode("utf-16")), *VENDOR_FILES,
    ], OLD_VENDOR_RULE),
    ("a root go.mod symlink gives no go line", [
        DataFile("go.mod", b"go 1.24\n", kind=FileKind.SYMLINK), *VENDOR_FILES,
    ], {**OLD_VENDOR_RULE, "go.mod": "symlink"}),
    ("only the root go.mod counts", [
        DataFile("x/go.mod", b"go 1.24\n"), *VENDOR_FILES,
    ], {**{k: v for k, v in OLD_VENDOR_RULE.items() if k != "go.mod"}, "x/go.mod": "submodule"}),
    ("the last root go.mod listed counts", [
        DataFile("go.mod", b"go 1.23\n"), DataFile("go.mod", b"go 1.24\n"), *VENDOR_FILES,
    ], {**NEW_VENDOR_RULE, "go.mod": "duplicate"}),
    ("unclean and absolute paths", [
        DataFile("a/../b"), DataFile("./a"), DataFile("a//b"), DataFile("/abs"), DataFile(""),
        DataFile("a/"),
    ], {"a/../b": "path-not-clean", "./a": "path-not-clean", "a//b": "path-not-clean",
            "/abs": "path-not-relative", "": "path-not-clean", "a/": "path-not-clean"}),
    ("bad file names", [
        DataFile("a:b"), DataFile("x/CON.txt"), DataFile("q?"), DataFile("ok name (1).go"),
        DataFile("héllo.go"), DataFile("..."),
    ], {"a:b": "bad-path", "x/CON.txt": "bad-path", "q?": "bad-path",
            "ok name (1).go": "valid", "héllo.go": "valid", "...": "bad-path"}),
    ("case-fold collisions", [
        DataFile("README"), DataFile("readme"), DataFile("Dir/a"), DataFile("dir/b"),
        DataFile("k.go"), DataFile("\u212a.go"), DataFile("ß"), DataFile("ss"),
    ], {"README": "valid", "readme": "case-collision", "Dir/a": "valid",
            "dir/b": "case-collision", "k.go": "valid", "\u212a.go": "case-collision",
            "ß": "valid", "ss": "valid"}),
    ("duplicates and file/directory clashes", [
        DataFile("a"), DataFile("a"), DataFile("b"), DataFile("b/c"),
    ], {"a": "duplicate", "b": "valid", "b/c": "file-and-directory"}),
    ("symlinks and other files are omitted", [
        DataFile("l", b"target", kind=FileKind.SYMLINK), DataFile("d", kind=FileKind.OTHER),
    ], {"l": "symlink", "d": "not-regular"}),
    ("vendored beats bad name, nested module beats bad name", [
        DataFile("vendor/a/b?"), DataFile("m/go.mod"), DataFile("m/c?"),
    ], {"vendor/a/b?": "vendored", "m/go.mod": "submodule", "m/c?": "submodule"}),
]


@pytest.mark.parametrize(("files", "want"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check_files_table(files: list[DataFile], want: dict[str, str]) -> None:
    """Each file gets the verdict the go command would give it."""
    report = check_files(files)
    assert len(report.valid) + len(report.omitted) + len(report.invalid) == len(files)
    got = verdicts(report)
    for path, verdict in want.items():
        assert got[path] == verdict, (path, report)


def test_error_lists_invalid_files_in_go_wording() -> None:
    """The error names each invalid file with the go command's text."""
    report = check_files([DataFile("GO.MOD"), DataFile("a"), DataFile("A")])
    err = report.error()
    assert isinstance(err, InvalidModuleZip)
    assert "GO.MOD: go.mod files must have lowercase names" in err.message
    assert 'A: case-insensitive file name collision: "a" and "A"' in err.message
    assert err.hint


def test_omitted_files_do_not_make_an_error() -> None:
    """A module whose only problems are omissions is fine."""
    report = check_files([DataFile("vendor/a/b.go"), DataFile("x", kind=FileKind.SYMLINK)])
    assert report.error() is None
    assert report.valid == ()


class SizedFile:
    """A file that claims a size without holding the bytes."""

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size

    def stat(self) -> FileStat:
        return FileStat(self.size, FileKind.REGULAR)

    def open(self):  # type: ignore[no-untyped-def]
        if self.path != "go.mod":
            raise AssertionError("check_files opens no file but the root go.mod")
        return io.BytesIO(bytes(self.size))


def test_size_limits() -> None:
    """go.mod and LICENSE over 16 MiB are invalid; over 500 MiB in total is a size error."""
    report = check_files([SizedFile("go.mod", MAX_GO_MOD_BYTES + 1),
                          SizedFile("LICENSE", MAX_LICENSE_BYTES + 1),
                          SizedFile("sub/LICENSE", MAX_LICENSE_BYTES + 1)])
    assert verdicts(report) == {"go.mod": "go-mod-too-large", "LICENSE": "license-too-large",
                                "sub/LICENSE": "valid"}
    exact = check_files([SizedFile("go.mod", MAX_GO_MOD_BYTES)])
    assert exact.error() is None
    big = check_files([SizedFile("a", MAX_ZIP_BYTES // 2), SizedFile("b", MAX_ZIP_BYTES // 2),
                       SizedFile("c", 1)])
    assert big.size_error is not None and "module source tree too large" in big.size_error
    assert str(big.error()) == big.size_error
    at_limit = check_files([SizedFile("a", MAX_ZIP_BYTES)])
    assert at_limit.error() is None


def test_unreadable_stat_is_invalid() -> None:
    """A file whose stat fails is invalid, not a crash."""

    class Broken(SizedFile):
        def stat(self) -> FileStat:
            raise PermissionError(13, "Permission denied")

    report = check_files([Broken("a.go", 0)])
    assert verdicts(report) == {"a.go": str(Invalid.UNREADABLE)}


def test_reason_values_are_stable() -> None:
    """Reason values are part of the JSON output and must not drift."""
    assert Omit.SUBMODULE == "submodule" and Omit.VENDORED == "vendored"
    assert Omit.VCS_DIR == "vcs-dir" and Omit.HG_ARCHIVAL == "hg-archival"


def test_omitted_dirs_are_those_whose_files_get_a_verdict_from_the_path_alone() -> None:
    """omitted_dirs names the outermost vendor subdirectories and nested modules (a go.mod
    in any case, a regular file); below them every file is omitted under both vendor
    rules, whatever it holds. Not a vendor directory itself (vendor/x.go, and before go 1.24
    vendor/modules.txt, are zipped), not a directory whose go.mod is a symlink, not one
    that is also listed as a file."""
    files = [DataFile(p) for p in (
        "go.mod", "a.go", "vendor/modules.txt", "vendor/x.go", "vendor/golang.org/x/y/z.go",
        "vendor/rsc.io/q.go", "lib/vendor/dep/d.go", "lib/vendor/top.go", "nested/GO.MOD",
        "nested/n.go", "nested/vendor/v/w.go", "deep/er/go.mod", "deep/er/e.go",
        "deep/keep.go", "linked/x.go", "dup/vendor/f", "dup/vendor/f/g.go")]
    files += [DataFile("linked/go.mod", kind=FileKind.SYMLINK)]
    dirs = omitted_dirs(files)
    assert dirs == ["vendor/golang.org", "vendor/rsc.io", "lib/vendor/dep", "nested", "deep/er"]
    for go_line in ("", "go 1.24\n"):
        report = check_files([DataFile("go.mod", b"module m\n" + go_line.encode()), *files[1:]])
        below = [p for p in (f.path for f in files)
                 if any(p.startswith(d + "/") for d in dirs)]
        found = verdicts(report)
        assert below and all(found[p] in (Omit.VENDORED, Omit.SUBMODULE) for p in below)
