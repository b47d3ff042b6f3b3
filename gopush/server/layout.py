"""A GOPROXY layout uploaded through the web page: which files it may hold, what each must
say, and its refusal as a whole before anything is stored.

A layout is what ``gopush build --out`` writes and ``gopush push DIR`` reads:
``MODULE/@v/VERSION.zip`` with, perhaps, ``VERSION.mod`` and ``VERSION.info`` beside it (and
``list`` files, which are ignored: the server keeps its own). A browser sends each file's
name as the user picked it: a bare ``v1.2.0.zip`` from a multiple-file input, or a path
relative to the chosen folder (``out/example.com/m/@v/v1.2.0.zip``) from a folder input.
So the name says only the version (``gosem.escape`` escaping) and what kind of file it is;
the module is the zip's own (its entries' ``module@version/`` prefix), checked against the
directories before ``@v`` when the name has them. Files pair by directory and version.

Names are never paths on this server: every file is received into a temporary file of its
own (``blobs.Incoming``), so a name such as ``../../etc/v1.0.0.zip`` is only text to match
and to show. What a layout must pass, every file before any is stored:

- at most ``MAX_FILES`` files, each within its kind's size (a zip ``MAX_ZIP_BYTES``, a
  ``.mod`` and ``.info`` ``proxydir``'s caps), all within the form's limit; a name of at most
  ``MAX_NAME_CHARS``; a known kind (checked as each part begins, before its bytes are kept);
- every ``.mod`` and ``.info`` beside a zip of the same version, each file sent once;
- each zip through the one gate (``validate.check_upload``: what go accepts, for the version
  its name says), the ``.mod`` and ``.info`` by ``proxydir.beside_problems`` (the rules
  ``gopush push`` applies to a layout), no module@version twice, and none that this
  repository serves, or served, with other content (``Storage.known_sum``).

A refusal (``ApiError`` 422) lists every file at fault with the rule it breaks. An accepted
layout's zips then take the zip form's path one by one (``web._package_of``); its ``.mod``
and ``.info`` are not stored: the server serves the zip's go.mod and its own ``.info``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from gopush.errors import GopushError
from gopush.gosem import escape, semver
from gopush.modzip.accept import AcceptedZip
from gopush.modzip.rules import MAX_ZIP_BYTES
from gopush.proxydir import MAX_INFO_BYTES, MAX_MOD_BYTES, beside_problems
from gopush.server.blobs import Incoming
from gopush.server.records import Repo
from gopush.server.responses import ApiError
from gopush.server.storage import Storage
from gopush.server.validate import check_upload
from gopush.text import one_line

MAX_FILES = 96  # 32 versions with their .mod and .info
MAX_NAME_CHARS = 1024  # a file name as the browser sent it, directories included
MAX_LIST_BYTES = 64 * 1024  # a `list` file, received and ignored
LIMITS = {".zip": MAX_ZIP_BYTES, ".mod": MAX_MOD_BYTES, ".info": MAX_INFO_BYTES}
SKIPPED = {"list": MAX_LIST_BYTES, "": 0}  # a `list` file; an input left empty (no name)
NOTHING_STORED = "The layout was refused as a whole: nothing was stored."


class Named(NamedTuple):
    """What a layout file's name says: where it is, which version, and which kind."""

    directory: tuple[str, ...]  # the elements before the base name (none from a file input)
    version: str  # "" for a `list` file
    kind: str  # ".zip", ".mod", ".info"; or, skipped, "list" or "" (an input left empty)


def shown(filename: str) -> str:
    """Return a file name as messages show it: one line, control characters escaped,
    shortened."""
    text = one_line(filename) or "(a file input left empty)"
    return text if len(text) <= 200 else text[:200] + "…"


def refusal(problems: dict[str, list[str]]) -> ApiError:
    """Return the 422 that refuses a layout, naming each file and its rules."""
    return ApiError(422, NOTHING_STORED, problems)


def read_name(filename: str) -> Named:
    """Return what a layout file's name says (see the module docstring).

    Raises:
        ApiError: 422 naming the file, for a name that is not ``[DIRS/]VERSION.zip|mod|info``
            or ``list``.
    """
    if not filename:  # what a browser sends for a file input left empty
        return Named((), "", "")
    if len(filename) > MAX_NAME_CHARS:
        raise _bad_name(filename, f"a name longer than {MAX_NAME_CHARS} characters")
    *directory, base = filename.replace("\\", "/").split("/")
    if "@v" in directory and directory[-1] != "@v":
        raise _bad_name(filename, "not MODULE/@v/VERSION.zip|mod|info: files of a GOPROXY "
                                  "layout sit directly in @v")
    if base == "list":
        return Named(tuple(directory), "", "list")
    stem, dot, ext = base.rpartition(".")
    kind = dot + ext
    if kind not in LIMITS or not stem:
        raise _bad_name(filename, "not a file of a GOPROXY layout: VERSION.zip, VERSION.mod, "
                                  "VERSION.info or list")
    try:
        version = escape.unescape_version(stem)
    except GopushError as err:
        raise _bad_name(filename, err.message) from None
    if not semver.is_valid(version):
        raise _bad_name(filename, f"{version!r} is not a semantic version such as v1.2.3: "
                                  "a layout names its files by version")
    return Named(tuple(directory), version, kind)


def _bad_name(filename: str, rule: str) -> ApiError:
    return refusal({shown(filename): [rule]})


def limit_for(named: Named) -> int:
    """Return how many bytes a layout file of this kind may hold."""
    return LIMITS.get(named.kind) or SKIPPED[named.kind]


@dataclass
class Received:
    """A layout's files as they arrived: each one's name, what it says, and its bytes."""

    files: list[tuple[str, Named, Incoming]] = field(default_factory=list)

    def add(self, filename: str, named: Named, incoming: Incoming) -> None:
        """Keep a file that arrived."""
        self.files.append((filename, named, incoming))

    def discard(self) -> None:
        """Delete every temporary file."""
        for _, _, incoming in self.files:
            incoming.discard()


@dataclass(frozen=True)
class LayoutVersion:
    """One version of an accepted layout: its zip, and what the gate found in it."""

    filename: str
    incoming: Incoming
    accepted: AcceptedZip


def check_layout(received: Received, repo: Repo, storage: Storage) -> list[LayoutVersion]:
    """Check every file of a layout (in a worker thread: it runs the zip gate); return its
    versions, in the order their zips came.

    Raises:
        ApiError: 422 naming every file at fault and its rule (nothing was stored), or 400
            for a layout without a zip.
    """
    problems: dict[str, list[str]] = {}

    def refuse(filename: str, rule: str) -> None:
        problems.setdefault(shown(filename), []).append(rule)

    groups = _pair(received, refuse)
    if not groups and not problems:
        raise ApiError(400, "Choose the files of a GOPROXY layout: MODULE/@v/VERSION.zip, "
                            "with its .mod and .info if you have them.")
    versions: list[LayoutVersion] = []
    seen: dict[tuple[str, str], str] = {}
    for group in groups.values():
        version = _check_version(group, repo, storage, refuse)
        if version is None:
            continue
        key = (version.accepted.module, version.accepted.version)
        if key in seen:
            refuse(version.filename, f"{key[0]}@{key[1]} is also in {shown(seen[key])}")
            continue
        seen[key] = version.filename
        versions.append(version)
    if problems:
        raise refusal(problems)
    return versions


Group = dict[str, tuple[str, Incoming]]  # kind -> (file name, bytes)


def _pair(received: Received,
          refuse: Callable[[str, str], None]) -> dict[tuple[tuple[str, ...], str], Group]:
    """Return the layout's files grouped by directory and version, each group with a zip."""
    groups: dict[tuple[tuple[str, ...], str], Group] = {}
    for filename, named, incoming in received.files:
        if named.kind in SKIPPED:
            continue
        group = groups.setdefault((named.directory, named.version), {})
        if named.kind in group:
            refuse(filename, f"sent twice (also as {shown(group[named.kind][0])})")
        else:
            group[named.kind] = (filename, incoming)
    for key, group in list(groups.items()):
        if ".zip" not in group:
            for filename, _ in group.values():
                refuse(filename, f"no {escape.escape_version(key[1])}.zip beside it: the page "
                                 "publishes module zips, a .mod or .info goes with its zip")
            del groups[key]
    return groups


def _check_version(group: Group, repo: Repo, storage: Storage,
                   refuse: Callable[[str, str], None]) -> LayoutVersion | None:
    """Check one version's zip, .mod and .info; None (after ``refuse``) when one is wrong."""
    filename, incoming = group[".zip"]
    named = read_name(filename)
    try:
        accepted = check_upload(incoming.path, None, named.version)
    except GopushError as err:
        refuse(filename, err.message)
        return None
    wrong = False
    if "@v" in named.directory and not _under(named.directory, accepted.module):
        refuse(filename, f"the zip holds {accepted.module}, which this name's directories "
                         "(before @v) do not spell")
        wrong = True
    beside = {kind: group[kind][1].path.read_bytes() if kind in group else None
              for kind in (".mod", ".info")}
    for kind, rule in beside_problems(accepted, beside[".mod"], beside[".info"]):
        refuse(group[kind][0], rule)
        wrong = True
    known = storage.known_sum(repo, accepted.module, accepted.version)
    if known is not None and known != accepted.sum:
        refuse(filename, f"{accepted.module}@{accepted.version} was published here with other "
                         f"content ({known}); consumers' go.sum holds that hash")
        wrong = True
    return None if wrong else LayoutVersion(filename, incoming, accepted)


def _under(directory: tuple[str, ...], module: str) -> bool:
    """Tell whether the elements before ``@v`` agree with ``module``'s escaped path: the
    chosen folder may be above the module (``out/example.com/m/@v``) or inside its path
    (``m/@v``, or the ``@v`` folder itself), so they must match where both have elements."""
    before = directory[:directory.index("@v")]
    want = tuple(escape.escape_path(module).split("/"))
    common = min(len(before), len(want))
    return before[len(before) - common:] == want[len(want) - common:]
