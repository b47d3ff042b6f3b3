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
   The go line is read, as x/mod's ``CheckFiles`` reads it, from the file at path
   ``go.mod`` among the files offered, when it is a regular file: its bytes as they go into
   the zip (after any ``.gitattributes`` conversion, whatever their encoding), parsed
   leniently (``gomod.zip_go_version``). A missing, non-regular, unreadable or unparsable
   root go.mod, or one without a go line, means the old rule. (If the path is offered twice,
   the last copy counts, as in Go.)
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

Beyond x/mod, where the go command refuses what x/mod lets through: a path element longer
than ``MAX_NAME_BYTES`` is invalid (checked with rule 5). x/mod zips it, but ``go mod
download`` then extracts every zip into the module cache and fails ("file name too long"),
so no consumer can use the version.

The root go.mod is the only file opened here (at most ``MAX_GO_MOD_BYTES`` + 1 bytes are
read; a larger one makes the zip invalid anyway, and is taken as having no go line): a source
may still fail, or lie about sizes, when the zip is written.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

from gopush.errors import InvalidPath
from gopush.gosem import gomod, gover, modpath
from gopush.modzip.files import FileKind, FileStat, SourceFile
from gopush.modzip.paths import clean, fold_key
from gopush.modzip.report import FileIssue, FileReport, Invalid, Omit

MAX_ZIP_BYTES = 500 * 1024 * 1024  # the zip file, and the sum of its files' uncompressed sizes
MAX_GO_MOD_BYTES = 16 * 1024 * 1024  # <module>@<version>/go.mod
MAX_LICENSE_BYTES = 16 * 1024 * 1024  # <module>@<version>/LICENSE
MAX_NAME_BYTES = 255  # one path element, in UTF-8: NAME_MAX of Linux and macOS file systems

# Directories a *directory* source leaves out (Go's CreateFromDir; sources.directory reports
# them as Omit.VCS_DIR); git archive has none of them, and committed copies of them do go
# into the zip, so check_files keeps them.
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
    Invalid.NAME_TOO_LONG: f"file name too long: go mod download cannot extract a path "
                           f"element over {MAX_NAME_BYTES} bytes into the module cache",
    Omit.VCS_DIR: "directory is a version control repository",
    Omit.VENDORED: "file is in vendor directory",
    Omit.SUBMODULE: "file is in another module",
    Omit.HG_ARCHIVAL: "file is inserted by 'hg archive' and is always omitted",
    Omit.SYMLINK: "file is a symbolic link",
    Omit.NOT_REGULAR: "not a regular file",
}
SOURCE_TOO_LARGE = f"module source tree too large (max size is {MAX_ZIP_BYTES} bytes)"
# x/mod zips a directory named go.mod (its files are ordinary files), but the go command then
# fails on the module: ``go mod download`` reads <module>@<version>/go.mod from the extracted
# tree ("read .../go.mod: is a directory"), so no consumer can use it.
GO_MOD_IS_DIRECTORY = ("go.mod is a directory: go makes the zip but cannot use the module "
                       "(go mod download: read go.mod: is a directory)")


def go_mod_is_directory(paths: Iterable[str]) -> bool:
    """Tell whether module-relative ``paths`` (a zip's files) put files below ``go.mod/``."""
    return any(p.startswith("go.mod/") for p in paths)


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


def check_files(files: Sequence[SourceFile]) -> FileReport:
    """Give every file a verdict (valid, omitted or invalid) by the module zip rules.

    The vendor rule follows the go line of the root go.mod among ``files`` (see
    ``root_go_version``). Valid paths keep the order of ``files``. The report's ``error()``
    tells whether a zip may be made; this function never raises for bad files.
    As in x/mod, a path gets at most one omitted or invalid line: a path listed three
    times gives one valid entry and one "multiple entries" line.
    """
    stats = [_stat(f) for f in files]
    module_dirs = _nested_module_dirs(files, stats)
    fixed = uses_fixed_vendor_rule(root_go_version(files, stats))
    valid: list[str] = []
    omitted: list[FileIssue] = []
    invalid: list[FileIssue] = []
    collisions = CollisionChecker()
    budget = MAX_ZIP_BYTES
    size_error: str | None = None
    reported: set[str] = set()
    for f, st in zip(files, stats, strict=True):
        p = f.path
        verdict = _path_verdict(p, module_dirs, fixed=fixed)
        if verdict is None and isinstance(st, FileIssue):  # it could not be stat'ed
            verdict = st
        elif verdict is None and isinstance(st, FileStat):
            verdict = collisions.check(p, is_dir=st.kind == FileKind.DIRECTORY)
            if verdict is None:
                verdict = _kind_verdict(p, st)
            if verdict is None:
                if 0 <= st.size <= budget:
                    budget -= st.size
                elif size_error is None:
                    size_error = SOURCE_TOO_LARGE
                verdict = size_verdict(p, st.size)
        if verdict is None:
            valid.append(p)
        elif p in reported:
            continue  # x/mod reports one problem per path: a third copy adds no line
        elif isinstance(verdict.reason, Omit):
            omitted.append(verdict)
            reported.add(p)
        else:
            invalid.append(verdict)
            reported.add(p)
    return FileReport(tuple(valid), tuple(omitted), tuple(invalid), size_error)


def root_go_version(files: Sequence[SourceFile],
                    stats: Sequence[FileStat | FileIssue] | None = None) -> str:
    """Return the go line of the root go.mod among ``files`` as the zip rules read it, or "".

    Only a regular file at path ``go.mod`` counts (the last one, if listed twice); it is
    opened and read, and an error reading it counts as no go line, as in x/mod.
    ``stats`` are the files' ``stat()`` results when the caller has them already.
    """
    version = ""
    for i, f in enumerate(files):
        if f.path != "go.mod":
            continue
        st = stats[i] if stats is not None else _stat(f)
        if isinstance(st, FileStat) and st.kind == FileKind.REGULAR:
            version = _read_go_version(f)
    return version


def _read_go_version(f: SourceFile) -> str:
    try:
        with f.open() as handle:
            data = handle.read(MAX_GO_MOD_BYTES + 1)
    except OSError:
        return ""
    if len(data) > MAX_GO_MOD_BYTES:
        return ""  # invalid (too large) anyway; not worth holding 16 MiB more in memory
    return gomod.zip_go_version(data)


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


def omitted_dirs(files: Sequence[SourceFile]) -> list[str]:
    """Return the directories ("a/b", no trailing slash) below which ``check_files`` gives
    every file its verdict from its path alone: omitted (or invalid, for a path that is not
    clean), whatever the files hold and whatever the root go.mod's go line says.

    Those are a directory directly inside one named ``vendor`` (``vendor/x``, ``a/vendor/x``:
    its files are vendored under both vendor rules) and a directory holding a regular file
    named go.mod under case folding (a nested module); rules 1 to 3 of the module docstring
    decide their files before any stat or read. So a source may list such files by path
    and kind without reading them, and the report is the same. Only the outermost
    directories are returned, in the order of ``files``; never one that is also the path of
    a file in ``files`` (a malformed tree may list both), nor one whose name is not clean.
    """
    module_dirs = _nested_module_dirs(files, [_stat(f) for f in files])
    found: dict[str, None] = {}
    for f in files:
        p, start, parent = f.path, 0, ""
        while (end := p.find("/", start)) >= 0:
            head = p[:end]
            if parent == "vendor" or head + "/" in module_dirs:
                found.setdefault(head)
                break
            parent, start = p[start:end], end + 1
    paths = {f.path for f in files}
    # a directory that is a file too, or whose name is not clean, is left to be read
    return [d for d in found if d not in paths and d == clean(d) and not d.startswith("/")]


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
    if has_too_long_name(p):
        return issue(p, Invalid.NAME_TOO_LONG)
    return None


def has_too_long_name(p: str) -> bool:
    """Tell whether an element of ``p`` is over ``MAX_NAME_BYTES`` in UTF-8 (no module cache
    can hold it: see the module docstring)."""
    return len(p) > MAX_NAME_BYTES and any(
        len(elem.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for elem in p.split("/"))


def _kind_verdict(p: str, st: FileStat) -> FileIssue | None:
    if st.kind == FileKind.SYMLINK:
        return issue(p, Omit.SYMLINK)
    if st.kind != FileKind.REGULAR:
        return issue(p, Omit.NOT_REGULAR)
    return None


def size_verdict(p: str, size: int) -> FileIssue | None:
    """Return the issue for a module-relative file ``p`` over its own cap (go.mod, LICENSE)."""
    if p == "go.mod" and size > MAX_GO_MOD_BYTES:
        return issue(p, Invalid.GO_MOD_TOO_LARGE)
    if p == "LICENSE" and size > MAX_LICENSE_BYTES:
        return issue(p, Invalid.LICENSE_TOO_LARGE)
    return None


class CollisionChecker:
    """Finds paths equal under case folding, duplicates, and paths both file and directory.

    Each path registers its parent directories too, so ``a/b`` and ``A/c`` collide on ``a``;
    the verdicts and messages are those of x/mod's collisionChecker, which records every
    prefix of every path under its folded form and walks a path from the leaf up.

    Bounded: memory is linear in the bytes of the paths, whatever their depth, and no call
    recurses. (Go keeps each prefix as a whole string, quadratic in the depth.) Here a prefix
    is interned as "<id of its parent>/<its last element>" under its folded form, and again
    as written when that differs: a path of n elements adds at most 2n keys of one element.
    A prefix written as it folds (all lower case, as most are) has the id of its folded
    form, negated, as its written id, so it costs one key.
    """

    def __init__(self) -> None:
        # Folded prefixes: key -> id (0 is the root, which has no key); by id, the key, and
        # 2 * (written id of the first spelling seen) + is_dir.
        self._folded: dict[str, int] = {}
        self._folded_keys: list[str] = [""]
        self._first: array[int] = array("q", [0])
        # Prefixes written otherwise than folded: key -> id > 0; by id, the key.
        self._written: dict[str, int] = {}
        self._written_keys: list[str] = [""]
        # The directory of the last path whose walk found no problem there, and its ids.
        self._dir: str | None = None
        self._dir_ids = (0, 0)

    def check(self, p: str, *, is_dir: bool) -> FileIssue | None:
        """Record ``p`` and return the problem it makes with earlier paths, if any.

        Go walks from ``p`` up to its first element, records each prefix it has not seen
        and stops at the first problem; a prefix seen before has all its parents recorded
        already. So walking down, recording what is new and keeping the problem of the
        deepest prefix seen before gives Go's records and verdict.

        Files come mostly directory by directory: when ``p`` is in the directory of the
        previous path and walking that directory found no problem, the walk starts at the
        file's name. (Records never change once made, so the directory's walk would find
        no problem again.)
        """
        head, slash, name = p.rpartition("/")
        if slash and head == self._dir:
            written, folded = self._dir_ids
            return self._walk(p, [name], len(head) + 1, written, folded, is_dir)
        return self._walk(p, p.split("/"), 0, 0, 0, is_dir)

    def _walk(self, p: str, elems: list[str], start: int, written: int, folded: int,
              is_dir: bool) -> FileIssue | None:
        """Walk ``elems``, the elements of ``p`` from index ``start`` on, below the prefix
        whose ids are ``written`` and ``folded``; see ``check``."""
        problem: FileIssue | None = None
        end, last = start - 1, len(elems) - 1
        for depth, elem in enumerate(elems):
            end += len(elem) + 1  # p[:end] is the prefix up to this element
            prefix_is_dir = is_dir or depth < last
            folded_elem = fold_key(elem)
            key = f"{folded}/{folded_elem}"
            found = self._folded.get(key)
            if found is None:
                found = self._folded[key] = len(self._folded_keys)
                self._folded_keys.append(key)
            folded = found
            if written <= 0 and elem == folded_elem:
                written = -folded
            else:
                written = self._intern(written, elem)
            if found == len(self._first):  # new
                self._first.append(2 * written + prefix_is_dir)
            else:
                problem = self._problem(p, p[:end], found, written, prefix_is_dir) or problem
            if depth == last - 1 and problem is None:
                self._dir, self._dir_ids = p[:end], (written, folded)
        return problem

    def _problem(self, p: str, prefix: str, found: int, written: int,
                 prefix_is_dir: bool) -> FileIssue | None:
        """Return the problem of ``prefix`` (of ``p``), seen before as folded prefix
        ``found``, now written as ``written``."""
        first_written, first_is_dir = divmod(self._first[found], 2)
        if first_written != written:
            return issue(p, Invalid.CASE_COLLISION, "case-insensitive file name "
                         f"collision: {_q(self._spell(first_written))} and {_q(prefix)}")
        if first_is_dir != prefix_is_dir:
            return issue(p, Invalid.FILE_AND_DIRECTORY,
                         f"entry {_q(prefix)} is both a file and a directory")
        if not prefix_is_dir:
            return issue(p, Invalid.DUPLICATE, f"multiple entries for file {_q(prefix)}")
        return None

    def _intern(self, parent: int, elem: str) -> int:
        """Return the id of the written prefix ``parent``/``elem``, recording it if new."""
        key = f"{parent}/{elem}"
        found = self._written.get(key)
        if found is None:
            found = self._written[key] = len(self._written_keys)
            self._written_keys.append(key)
        return found

    def _spell(self, written: int) -> str:
        """Return the prefix whose written id is ``written``, as written."""
        elems: list[str] = []
        while written:
            keys = self._written_keys if written > 0 else self._folded_keys
            parent, _, elem = keys[abs(written)].partition("/")
            elems.append(elem)
            written = int(parent) if written > 0 else -int(parent)
        return "/".join(reversed(elems))


def _q(s: str) -> str:
    """Quote like Go's %q for the common case (no escapes needed in valid paths)."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def valid_files(files: Iterable[SourceFile], report: FileReport) -> list[SourceFile]:
    """Return the files ``report`` found valid, in the order of ``files``."""
    keep = set(report.valid)
    return [f for f in files if f.path in keep]
