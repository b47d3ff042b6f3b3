"""Checks of a located module (``sources.module.ModuleAtRev``) before it is zipped.

Where go.mod must be and whether its path fits the major version is decided when the module
is located (go's findDir). These checks look further: the path against the origin remote, a
requested version against its tag. They raise where publishing would hurt consumers, and
return warnings where go would accept the module but a user is likely to be surprised
(go.mod errors only `go build` inside the module sees, directives consumers ignore, a tag
that is missing).
"""

from __future__ import annotations

from gopush.errors import InvalidModule
from gopush.gosem import gomod, modpath, pseudo
from gopush.sources.coderepo import CodeRepo, expected_module_prefix, repo_root_from_remote
from gopush.sources.git import Commit
from gopush.sources.module import ModuleAtRev


def path_mismatch(located: ModuleAtRev, insisted: str | None) -> list[str]:
    """Check the module path against go.mod and the repository's origin remote.

    A disagreement with the origin is an error, since consumers could not fetch the module
    under that path; --module insists, and then it is only a warning. (Whether go.mod fits
    the path's major version at all is go's findDir, in ``sources.module``.)

    Raises:
        InvalidModule: the path disagrees with the origin and --module was not given.
    """
    path, layout = located.path, located.layout
    declared = located.declared
    if insisted and declared and declared != insisted:
        return [(f"go.mod declares {declared}, but --module builds it as {insisted}: go would "
                 f"refuse it as a dependency (module declares its path as: {declared})")]
    remote = located.repo.remote_url()
    root = repo_root_from_remote(remote) if remote else None
    if root is None or path.split("/", 1)[0] != root.split("/", 1)[0]:
        return []  # a vanity path, gopkg.in, or an unknown host: nothing to compare
    expected = expected_module_prefix(layout, root)
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


def gomod_warnings(parsed: gomod.GoMod | None, parse_error: str | None) -> list[str]:
    """Warn about what go only notices when the module is the main module: go.mod errors a
    strict parse finds (go builds and serves the module; `go build` inside it fails), and
    directives consumers ignore (replace, exclude)."""
    if parse_error is not None:
        return [f"`go build` inside this module will fail: {parse_error}"]
    if parsed is None:
        return []
    found = [name for name, items in (("replace", parsed.replace), ("exclude", parsed.exclude))
             if items]
    return [f"go.mod has {name} directives: they apply only when this module is the main "
            "module; consumers ignore them" for name in found]


def unusable_tag_warnings(code: CodeRepo, commit: Commit, version: str) -> list[str]:
    """Name each tag at ``commit`` that looks like a version of the module but that go
    passes over (``CodeRepo.unusable_tags``), when the build got a pseudo-version for it."""
    if not pseudo.is_pseudo_version(version):
        return []
    return [f"tag {tag} at commit {commit.short} is not a version of {code.layout.path}: "
            f"{why}; go ignores it, so this commit is the pseudo-version {version}"
            for tag, why in code.unusable_tags(commit)]


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
