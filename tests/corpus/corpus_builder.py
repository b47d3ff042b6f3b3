"""Make the git repository of one corpus case (see ``corpus_cases``), reproducibly.

Every commit gets a fixed author, committer and date, so the same case definition always
gives the same commit hashes, hence the same pseudo-versions and the same go answers. Dates
git's porcelain refuses (before 1970) are written as raw commit objects.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from corpus_cases import Case, Commit, Encoded, Gitlink, Sized, Symlink

# Commits are one hour apart from 2024-01-01 00:00:00 UTC unless a case sets a date.
FIRST_DATE = 1704067200
IDENTITY = "Corpus <corpus@example.test>"

ENV = {
    "GIT_AUTHOR_NAME": "Corpus", "GIT_AUTHOR_EMAIL": "corpus@example.test",
    "GIT_COMMITTER_NAME": "Corpus", "GIT_COMMITTER_EMAIL": "corpus@example.test",
    "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "LC_ALL": "C",
}


def build_repo(case: Case, where: Path, root: str) -> dict[str, str]:
    """Create the repository of ``case`` in ``where``; return {"c0": hash, ...} of its commits.

    ``root`` replaces ``{root}`` in file contents; tags may name earlier commits (``{c0}``).
    ``HEAD`` is the last commit made; branches are left as the commits made them.
    """
    where.mkdir(parents=True)
    git = _Git(where)
    git("init", "-q", "-b", "main")
    git("config", "core.autocrlf", "false")
    hashes: dict[str, str] = {}
    for index, commit in enumerate(case.commits):
        when = commit.date if commit.date is not None else FIRST_DATE + 3600 * index
        _switch(git, commit, hashes)
        _apply(git, where, commit, root)
        git("add", "-A")
        hashes[f"c{index}"] = _commit(git, commit, when, f"commit {index}")
        if commit.replaces is not None:
            git("replace", hashes[commit.replaces], hashes[f"c{index}"])
        for tag in commit.tags:
            _tag(git, tag.format(**hashes, HEAD=hashes[f"c{index}"]), hashes[f"c{index}"], when)
    hashes["HEAD"] = git("rev-parse", "HEAD").strip()
    return hashes


class _Git:
    def __init__(self, where: Path) -> None:
        self.where = where

    def __call__(self, *args: str, date: int | None = None, stdin: bytes | None = None) -> str:
        env = {**os.environ, **ENV}
        if date is not None:
            env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{date} +0000"
        proc = subprocess.run(["git", *args], cwd=self.where, env=env, input=stdin,
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.decode()}")
        return proc.stdout.decode()


def _switch(git: _Git, commit: Commit, hashes: dict[str, str]) -> None:
    """Move to the commit's branch, starting it at ``commit.parent`` when it is new."""
    if commit.branch is None:
        return
    exists = subprocess.run(["git", "rev-parse", "--verify", "--quiet",
                             f"refs/heads/{commit.branch}"], cwd=git.where,
                            capture_output=True, check=False).returncode == 0
    if exists:
        git("checkout", "-q", commit.branch)
    else:
        git("checkout", "-q", "-b", commit.branch, hashes[commit.parent or "HEAD"])


def _apply(git: _Git, where: Path, commit: Commit, root: str) -> None:
    for name in commit.delete:
        git("rm", "-r", "-q", "--cached", "--ignore-unmatch", name)
        _remove(where / name)
    for name, content in commit.files.items():
        target = where / name
        _remove(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Symlink):
            target.symlink_to(content.target)
        elif isinstance(content, Gitlink):
            continue  # staged below, after `git add -A`
        elif isinstance(content, Encoded):
            target.write_bytes(content.text.replace("{root}", root).encode(content.encoding))
        elif isinstance(content, Sized):
            target.write_bytes(content.data())
        else:
            text = content.replace("{root}", root) if isinstance(content, str) else content
            target.write_bytes(text.encode() if isinstance(text, str) else text)


def _remove(target: Path) -> None:
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.is_dir():
        for child in sorted(target.rglob("*"), reverse=True):
            child.unlink() if not child.is_dir() or child.is_symlink() else child.rmdir()
        target.rmdir()


def _commit(git: _Git, commit: Commit, when: int, message: str) -> str:
    for name, content in commit.files.items():
        if isinstance(content, Gitlink):
            git("update-index", "--add", "--cacheinfo", f"160000,{content.hash},{name}")
    if commit.raw_time is None and not commit.extra:
        git("commit", "-q", "--allow-empty", "--no-verify", "-m", message, date=when)
        return git("rev-parse", "HEAD").strip()
    # A date git's porcelain refuses, or a tree its index cannot hold: write the objects.
    tree = git("write-tree").strip()
    if commit.extra:
        entries = git("ls-tree", tree)
        for mode, name, content in commit.extra:
            blob = git("hash-object", "-w", "--stdin", stdin=content.encode()).strip()
            entries += f"{mode} blob {blob}\t{name}\n"
        tree = git("mktree", stdin=entries.encode()).strip()
    stamp = commit.raw_time or f"{when} +0000"
    parents = "".join(f"parent {p}\n" for p in _head_parents(git))
    body = (f"tree {tree}\n{parents}author {IDENTITY} {stamp}\n"
            f"committer {IDENTITY} {stamp}\n\n{message}\n").encode()
    made = git("hash-object", "-t", "commit", "-w", "--literally", "--stdin", stdin=body).strip()
    git("update-ref", "HEAD", made)
    return made


def _head_parents(git: _Git) -> list[str]:
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=git.where,
                          capture_output=True, check=False)
    return [proc.stdout.decode().strip()] if proc.returncode == 0 else []


def _tag(git: _Git, tag: str, commit: str, when: int) -> None:
    """Make tag ``name`` (``name^annotated`` for an annotated tag) at ``commit``; with
    ``name@TARGET`` (``v1.1.0^annotated@v1.0.0``, ``v1.2.0@HEAD:go.mod``) at the object git
    names TARGET instead: another tag (a tag of a tag), a tree or a blob."""
    tag, _, target = tag.partition("@")
    name, annotated = tag.removesuffix("^annotated"), tag.endswith("^annotated")
    target = git("rev-parse", "--verify", target).strip() if target else commit
    if annotated:
        git("tag", "-a", "-m", name, name, target, date=when)
    else:
        git("tag", name, target)
