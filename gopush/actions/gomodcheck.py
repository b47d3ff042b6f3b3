"""Checks of a module before it is zipped: go.mod against the path, the version and the repository.

They raise where go would refuse the module, and return warnings where go would accept it
but a user is likely to be surprised (directives consumers ignore, a tag that is missing).
"""

from __future__ import annotations

from gopush.errors import InvalidModule
from gopush.gosem import gomod, modpath, pseudo
from gopush.sources.coderepo import (
    CodeRepo,
    expected_module_prefix,
    repo_root_from_remote,
)
from gopush.sources.git import Commit, GitRepository


def module_path(go_mod_data: bytes | None, insisted: str | None, module_dir: str) -> str:
    """Return the module path from go.mod, or from --module (which wins, with a check)."""
    declared = gomod.module_path(go_mod_data) if go_mod_data is not None else ""
    if go_mod_data is not None and not declared:
        raise InvalidModule(f"{_join(module_dir, 'go.mod')} has no module line",
                            hint="add `module PATH` as the first line of go.mod")
    path = insisted or declared
    if not path:
        raise InvalidModule("this module has no go.mod and no --module was given",
                            hint="pass --module PATH (e.g. --module github.com/OWNER/REPO)")
    try:
        modpath.check_module_path(path)
    except InvalidModule as err:
        if insisted:
            raise
        raise InvalidModule(f"go.mod: {err.message}",
                            hint="pass --module IMPORT/PATH: go serves such a module under the "
                                 "path it is fetched by") from None
    return path


def path_mismatch(repo: GitRepository, code: CodeRepo, go_mod_data: bytes | None,
                   insisted: str | None) -> list[str]:
    """Check the module path against go.mod and the repository's origin remote.

    A disagreement is an error, since go would refuse the module ("module declares its path
    as ..."); --module insists, and then it is only a warning.

    Raises:
        InvalidModule: the path disagrees and --module was not given.
    """
    path = code.layout.path
    declared = gomod.module_path(go_mod_data) if go_mod_data else ""
    if insisted and declared and not _same_major(declared, code.layout.path_major):
        raise InvalidModule(
            f"go.mod declares {declared}, whose major version differs from {insisted}: go "
            "refuses such a module (go.mod has post-v1 module path)",
            hint=f"build it as {declared} (drop --module), or check out a revision whose "
                 f"go.mod declares a path compatible with {insisted}")
    if insisted and declared and declared != insisted:
        return [(f"go.mod declares {declared}, but --module builds it as {insisted}: go would "
                 f"refuse it (module declares its path as: {declared})")]
    remote = repo.remote_url()
    root = repo_root_from_remote(remote) if remote else None
    if root is None or path.split("/", 1)[0] != root.split("/", 1)[0]:
        return []  # a vanity path, gopkg.in, or an unknown host: nothing to compare
    expected = expected_module_prefix(code.layout, root)
    prefix, _, _ = modpath.split_path_version(path)
    if prefix == expected:
        return []
    if prefix.lower() == expected.lower():
        return [f"module path {path} differs from the repository {root} in letter case only"]
    message = (f"module path {path} does not match the repository: origin is {root}, so go "
               f"expects {expected} here")
    if insisted:
        return [message]
    raise InvalidModule(message, hint=f"fix the module line of go.mod, or pass --module {path} "
                                      "to build it anyway")


def _same_major(declared: str, path_major: str) -> bool:
    """Tell whether a go.mod path fits ``path_major`` as go's findDir requires (isMajor)."""
    _, declared_major, ok = modpath.split_path_version(declared)
    if not ok:
        return not path_major  # go reads an invalid path's major as v0/v1
    if not path_major:
        return declared_major.lstrip("/.").removesuffix("-unstable") in ("", "v0", "v1")
    return bool(declared_major) and declared_major[1:] == path_major[1:]


def gomod_warnings(go_mod_data: bytes | None) -> list[str]:
    """Warn about go.mod directives that only the main module obeys (replace, exclude)."""
    if go_mod_data is None:
        return []
    parsed = gomod.parse(go_mod_data, "go.mod")
    found = [name for name, items in (("replace", parsed.replace), ("exclude", parsed.exclude))
             if items]
    return [f"go.mod has {name} directives: they apply only when this module is the main "
            "module; consumers ignore them" for name in found]


def tag_warnings(code: CodeRepo, commit: Commit, version: str) -> list[str]:
    """Check the tag of an explicitly requested ``version`` against ``commit``.

    Raises:
        InvalidModule: the tag exists but points at another commit (a moved tag, or the
            wrong checkout): go would serve that other commit under this version.
    """
    if pseudo.is_pseudo_version(version):
        return []
    tag = code.layout.tag_prefix + version.removesuffix("+incompatible")
    target = code.repo.read_tag(tag)
    if target is None:
        return [(f"no tag {tag} in the repository: go cannot fetch {version} from it, only "
                 "from the registry you push to")]
    if target != commit.hash:
        raise InvalidModule(
            f"tag {tag} points at {target[:12]}, but you are building {commit.short}",
            hint=f"build the tagged commit with --rev {tag}, or move the tag")
    return []


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name
