"""The module zip rules of golang.org/x/mod/zip (``CheckFiles``), as the go command applies them.

Given the files of a module (paths relative to its root), every file gets exactly one verdict,
checked in this order (the first rule that applies wins, as in Go):

1. The path must be clean (``path.Clean``) and relative, else it is invalid.
2. Files in vendored packages are omitted. The rule depends on the language version of the
   root go.mod's ``go`` line (Go 1.24 fixed golang.org/issue/37397; older modules keep the old
   rule so that their sums never change):
   - a path starting ``vendor/`` is vendored when more than one element follows it
     (``vendor/a/b.go`` yes, ``vendor/x.go`` no);
   - otherwise, for the first ``/vendor/`` in the path: since go 1.24 the same test applies to
     what follows it (``a/vendor/b/c.go`` yes, ``a/vendor/x.go`` no); before go 1.24 the test
     looks, by mistake, at everything after the first 8 bytes of the whole path, so
     ``a/vendor/x.go`` and ``pkg/vendor/vendor.go`` are vendored too;
   - since go 1.24, ``vendor/modules.txt`` is vendored as well.
   A missing or unparsable go line counts as older than every version (the old rule).
3. Files below a directory holding a regular file whose name equals ``go.mod`` under case
   folding (``a/go.mod``, ``a/GO.MOD``) belong to a nested module and are omitted.
4. ``.hg_archival.txt`` at the root is omitted (whatever the VCS).
5. The path must pass ``module.CheckFilePath``; a root file named like ``go.mod`` in another
   case is invalid.
6. Paths equal under Unicode simple case folding collide; a file listed twice, or a path used
   both as a file and as a directory, is invalid.
7. Symbolic links and other non-regular files are omitted.
8. The valid files may total at most ``MAX_ZIP_BYTES``; ``go.mod`` and ``LICENSE`` at the root
   may be at most ``MAX_GO_MOD_BYTES`` / ``MAX_LICENSE_BYTES``.

No file is opened here: a source may still fail, or lie about sizes, when the zip is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gopush.errors import InvalidPath
from gopush.gosem import gover, modpath
from gopush.modzip.files import FileKind, FileStat, SourceFile
from gopush.modzip.paths import clean, fold_key
from gopush.modzip.report import FileIssue, FileReport, Invalid, Omit

MAX_ZIP_BYTES = 500 * 1024 * 1024  # the zip file, and the sum of its files' uncompressed sizes
MAX_GO_MOD_BYTES = 16 * 1024 * 1024  # <module>@<version>/go.mod
MAX_LICENSE_BYTES = 16 * 1024 * 1024  # <module>@<version>/LICENSE

# Directories a *directory* source leaves out (Go's CreateFromDir); git archive has none of
# them, and committed copies of them do go into the zip, so check_files keeps them.
VCS_DIR_NAMES = frozenset({".bzr", ".git", ".hg", ".svn"})

# The go line from which the corrected vendor rule applies (golang.org/issue/37397).
FIXED_VENDOR_RULE_GO = "1.24"

TEXTS = {
    Invalid.PATH_NOT_CLEAN: "file path is not clean",
    Invalid.PATH_NOT_RELATIVE: "file path is not relative",
    Invalid.GO_MOD_CASE: "go.mod files must have lowercase names",
    Invalid.GO_MOD_NOT_ROOT: "go.mod file not in module root directory",
    Invalid.GO_MOD_TOO_LARGE: f"go.mod file too large (max size is {MAX_GO_MOD_BYTES} bytes)",
    Invalid.LICENSE_TOO_LARGE: f"LICENSE file too large (max size is {MAX_LICENSE_BYTES} bytes)",
    Omit.VCS_DIR: "directory is a version control repository",
    Omit.VENDORED: "file is in vendor directory",
    Omit.SUBMODULE: "file is in another module",
    Omit.HG_ARCHIVAL: "file is inserted by 'hg archive' and is always omitted",
    Omit.SYMLINK: "file is a symbolic link",
    Omit.NOT_REGULAR: "not a regular file",
}
SOURCE_TOO_LARGE = f"module source tree too large (max size is {MAX_ZIP_BYTES} bytes)"


def issue(path: str, reason: Omit | Invalid, detail: str | None = None) -> FileIssue:
    """Return a FileIssue with the go command's text for ``reason`` unless ``detail`` is given."""
    return FileIssue(path, reason, detail if detail is not None else TEXTS[reason])


def uses_fixed_vendor_rule(go_version: str) -> bool:
    """Tell whether a root go.mod with this ``go`` line gets the Go 1.24 vendor rule."""
    # go/version.Lang(v) >= go1.24 is the same as v >= 1.24: "1.24" is the lowest 1.24.x.
    return gover.compare(go_version, FIXED_VENDOR_RULE_GO) >= 0


def is_vendored(path: str, *, fixed: bool) -> bool:
    """Tell whether ``path`` lies in a vendored package (see the module docstring, rule 2)."""
    if fixed and path == "vendor/modules.txt":
        return True
    if path.startswith("vendor/"):
        start = len("vendor/")
    elif (j := path.find("/vendor/")) >= 0:
        # The old rule offsets from 0, not from j: Go's historical bug, kept for old sums.
        start = j + len("/vendor/") if fixed else len("/vendor/")
    else:
        return False
    return "/" in path[start:]


def check_files(files: Sequence[SourceFile], *, go_version: str) -> FileReport:
    """Give every file a verdict (valid, omitted or invalid) by the module zip rules.

    ``go_version`` is the ``go`` line of the module's root go.mod ("" when absent or
    unparsable); it selects the vendor rule. Valid paths keep the order of ``files``.
    The report's ``error()`` tells whether a zip may be made; this function never raises
    for bad files, and never opens one.
    """
    stats = [_stat(f) for f in files]
    module_dirs = _nested_module_dirs(files, stats)
    fixed = uses_fixed_vendor_rule(go_version)
    valid: list[str] = []
    omitted: list[FileIssue] = []
    invalid: list[FileIssue] = []
    collisions = CollisionChecker()
    budget = MAX_ZIP_BYTES
    size_error: str | None = None
    for f, st in zip(files, stats, strict=True):
        p = f.path
        verdict = _path_verdict(p, module_dirs, fixed=fixed)
        if verdict is None and isinstance(st, FileIssue):
            verdict = st
        if verdict is None:
            verdict = collisions.check(p, is_dir=st.kind == FileKind.DIRECTORY)  # type: ignore[union-attr]
        if verdict is None:
            verdict = _kind_verdict(p, st)  # type: ignore[arg-type]
        if verdict is None:
            size = st.size  # type: ignore[union-attr]
            if 0 <= size <= budget:
                budget -= size
            elif size_error is None:
                size_error = SOURCE_TOO_LARGE
            verdict = _size_verdict(p, size)
        if verdict is None:
            valid.append(p)
        elif isinstance(verdict.reason, Omit):
            omitted.append(verdict)
        else:
            invalid.append(verdict)
    return FileReport(tuple(valid), tuple(omitted), tuple(invalid), size_error)


def _stat(f: SourceFile) -> FileStat | FileIssue:
    try:
        return f.stat()
    except OSError as err:
        return issue(f.path, Invalid.UNREADABLE, err.strerror or str(err))


def _nested_module_dirs(files: Sequence[SourceFile], stats: Sequence[object]) -> set[str]:
    """Return the directories ("a/b/") below the root that hold a regular go.mod file."""
    dirs: set[str] = set()
    for f, st in zip(files, stats, strict=True):
        head, _, base = f.path.rpartition("/")
        if head and fold_key(base) == "go.mod" and isinstance(st, FileStat) \
                and st.kind == FileKind.REGULAR:
            dirs.add(head + "/")
    return dirs


def _in_nested_module(p: str, module_dirs: set[str]) -> bool:
    i = p.find("/")
    while i >= 0:
        if p[: i + 1] in module_dirs:
            return True
        i = p.find("/", i + 1)
    return False


def _path_verdict(p: str, module_dirs: set[str], *, fixed: bool) -> FileIssue | None:
    if p != clean(p):
        return issue(p, Invalid.PATH_NOT_CLEAN)
    if p.startswith("/"):
        return issue(p, Invalid.PATH_NOT_RELATIVE)
    if is_vendored(p, fixed=fixed):
        return issue(p, Omit.VENDORED)
    if module_dirs and _in_nested_module(p, module_dirs):
        return issue(p, Omit.SUBMODULE)
    if p == ".hg_archival.txt":
        return issue(p, Omit.HG_ARCHIVAL)
    try:
        modpath.check_file_path(p)
    except InvalidPath as err:
        return issue(p, Invalid.BAD_PATH, str(err))
    if p != "go.mod" and p.isascii() and p.lower() == "go.mod":
        return issue(p, Invalid.GO_MOD_CASE)
    return None


def _kind_verdict(p: str, st: FileStat) -> FileIssue | None:
    if st.kind == FileKind.SYMLINK:
        return issue(p, Omit.SYMLINK)
    if st.kind != FileKind.REGULAR:
        return issue(p, Omit.NOT_REGULAR)
    return None


def _size_verdict(p: str, size: int) -> FileIssue | None:
    if p == "go.mod" and size > MAX_GO_MOD_BYTES:
        return issue(p, Invalid.GO_MOD_TOO_LARGE)
    if p == "LICENSE" and size > MAX_LICENSE_BYTES:
        return issue(p, Invalid.LICENSE_TOO_LARGE)
    return None


class CollisionChecker:
    """Finds paths equal under case folding, duplicates, and paths both file and directory.

    Each path registers its parent directories too, so ``a/b`` and ``A/c`` collide on ``a``.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, bool]] = {}

    def check(self, p: str, *, is_dir: bool) -> FileIssue | None:
        """Record ``p`` and return the problem it makes with earlier paths, if any."""
        return self._check(p, p, is_dir)

    def _check(self, entry: str, p: str, is_dir: bool) -> FileIssue | None:
        key = fold_key(p)
        other = self._seen.get(key)
        if other is None:
            self._seen[key] = (p, is_dir)
        elif other[0] != p:
            return issue(entry, Invalid.CASE_COLLISION,
                         f"case-insensitive file name collision: {_q(other[0])} and {_q(p)}")
        elif other[1] != is_dir:
            return issue(entry, Invalid.FILE_AND_DIRECTORY,
                         f"entry {_q(p)} is both a file and a directory")
        elif not is_dir:
            return issue(entry, Invalid.DUPLICATE, f"multiple entries for file {_q(p)}")
        # A directory seen before still walks up: an earlier walk may have stopped at a
        # collision above it, which this path must report too (as Go does).
        parent = p.rpartition("/")[0]
        return self._check(entry, parent, True) if parent else None


def _q(s: str) -> str:
    """Quote like Go's %q for the common case (no escapes needed in valid paths)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def valid_files(files: Iterable[SourceFile], report: FileReport) -> list[SourceFile]:
    """Return the files ``report`` found valid, in the order of ``files``."""
    keep = set(report.valid)
    return [f for f in files if f.path in keep]
