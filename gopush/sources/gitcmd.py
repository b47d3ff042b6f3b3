"""GitRunner: the one place gopush runs the git command.

Argv in, bytes out. Every failure becomes a ``SourceError`` carrying git's own message, so
callers never see ``CalledProcessError``. Output is always requested in machine formats
(``-z``, explicit ``--format``), never parsed from text meant for people. Every git process
gopush starts is started here and counted (``GitRunner.started``), so ``gopush build -v`` can
say how many a build took.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from gopush.errors import SourceError

# git must never stop to ask for a password or open an editor: gopush runs unattended in CI.
# Local refs/replace/ objects are ignored: go reads commits from its own clone, which never
# fetches them, so a replaced commit is the original one for go (its time, tree and tags).
_QUIET_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C",
              "GIT_NO_REPLACE_OBJECTS": "1"}

# git's words when an object the command needs is not in the repository (a blob a partial
# clone never fetched, history a shallow clone cut off, a damaged object store), and the id.
_MISSING_OBJECT = re.compile(r"(?:invalid object [0-7]+ |cannot read '|unable to read (?:tree )?"
                             r"|missing (?:blob |tree )?object '?|bad object |could not read '?)"
                             r"([0-9a-f]{64}|[0-9a-f]{40})\b")
# git's environment switches for the meaning of every pathspec
_PATHSPEC_ENV = ("GIT_LITERAL_PATHSPECS", "GIT_GLOB_PATHSPECS", "GIT_NOGLOB_PATHSPECS",
                 "GIT_ICASE_PATHSPECS")
CUT_SHORT_WAIT = 5.0  # seconds a git whose output ended early gets to exit and say why


class GitRunner:
    """Runs git against one repository (``git_dir``), optionally with a work tree.

    ``git_dir`` None runs git where it is told (``-C DIR``), to find a repository.
    """

    started = 0  # git processes started by every runner of this process

    def __init__(self, git_dir: Path | None, *, env: Mapping[str, str] | None = None) -> None:
        exe = shutil.which("git")
        if exe is None:
            raise SourceError("the git command was not found",
                              hint="install git (https://git-scm.com) and make sure it is on PATH")
        self.exe = exe
        self.git_dir = Path(git_dir) if git_dir is not None else None
        self._env = {**os.environ, **_QUIET_ENV, **(env or {})}

    def default_pathspecs(self) -> bool:
        """Tell whether pathspecs keep their default meaning for this runner's git: none of
        the environment variables that make every pathspec literal, glob or case-blind is
        set (``:(literal)`` is then honoured, and matching is by exact bytes)."""
        return not any(self._env.get(name) for name in _PATHSPEC_ENV)

    def run(self, *args: str, config: Sequence[str] = (), input: bytes | None = None,
            check: bool = True) -> bytes:
        """Run ``git [-c config]... args`` and return stdout; raise SourceError on failure."""
        GitRunner.started += 1
        proc = subprocess.run(self._argv(args, config), input=input, capture_output=True,
                              env=self._env, check=False)
        _raise_if_interrupted(proc.returncode)
        if check and proc.returncode != 0:
            raise git_error(proc.stderr, args)
        return proc.stdout

    def ok(self, *args: str) -> bool:
        """Run git and report whether it exited 0 (for existence checks)."""
        GitRunner.started += 1
        proc = subprocess.run(self._argv(args, ()), capture_output=True, env=self._env,
                              check=False)
        return proc.returncode == 0

    def stream(self, *args: str, config: Sequence[str] = (),
               input: bool = False) -> subprocess.Popen[bytes]:
        """Start git with stdout as a pipe; the caller reads it and calls ``finish``.

        With ``input``, git's stdin is a pipe too: the caller writes it (small inputs only:
        git may block on a full stdout pipe while the caller is still writing).
        """
        GitRunner.started += 1
        return subprocess.Popen(self._argv(args, config), stdout=subprocess.PIPE,
                                stdin=subprocess.PIPE if input else subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=self._env)

    @staticmethod
    def finish(proc: subprocess.Popen[bytes], args: Sequence[str]) -> None:
        """Wait for a streamed git whose output was read to the end; raise SourceError if it
        failed, KeyboardInterrupt if a Ctrl-C stopped it."""
        stderr: IO[bytes] | None = proc.stderr
        err = stderr.read() if stderr else b""
        _close_pipes(proc)
        if proc.wait() != 0:
            _raise_if_interrupted(proc.returncode)
            raise git_error(err, args)

    @staticmethod
    def cut_short(proc: subprocess.Popen[bytes], args: Sequence[str],
                  seen: SourceError) -> SourceError:
        """Return the error to report when a streamed git's output ended too early.

        A git that fails mid-way (an object it cannot read) dies with its last output
        buffer unwritten, so the reader sees a stream cut off, often in the middle of a
        file; git's stderr, not the truncation, names the cause. git is given
        ``CUT_SHORT_WAIT`` seconds to exit (its output is closed, so a git still writing
        stops too); its error is returned if it failed, else ``seen``. Raises
        KeyboardInterrupt if a Ctrl-C stopped it.
        """
        if proc.stdout is not None:
            proc.stdout.close()
        try:
            proc.wait(CUT_SHORT_WAIT)
        except subprocess.TimeoutExpired:
            GitRunner.abandon(proc)
            return seen
        err = proc.stderr.read() if proc.stderr is not None else b""
        _close_pipes(proc)
        _raise_if_interrupted(proc.returncode)
        return git_error(err, args) if proc.returncode > 0 and err.strip() else seen

    @staticmethod
    def abandon(proc: subprocess.Popen[bytes]) -> None:
        """Stop a streamed git whose reader gave up early (an error, Ctrl-C, SIGTERM).

        git may be blocked writing a full pipe that nobody will read again, so it is killed,
        not waited for; raises KeyboardInterrupt if a Ctrl-C had already stopped it (the
        reader then saw a truncated stream, which is not the error to report).
        """
        if proc.poll() is None:
            proc.kill()
        _close_pipes(proc)
        _raise_if_interrupted(proc.wait())

    @staticmethod
    def end_input(proc: subprocess.Popen[bytes]) -> None:
        """End a streamed git that reads requests on its input (``cat-file --batch``) and
        whose answers are all read: its input is closed, it exits (or is killed after
        ``CUT_SHORT_WAIT`` seconds); what it would still say is of no use."""
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(CUT_SHORT_WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _close_pipes(proc)

    def _argv(self, args: Sequence[str], config: Sequence[str]) -> list[str]:
        argv = [self.exe] + ([f"--git-dir={self.git_dir}"] if self.git_dir else [])
        for item in config:
            argv += ["-c", item]
        return argv + list(args)


def _close_pipes(proc: subprocess.Popen[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


def _raise_if_interrupted(returncode: int) -> None:
    """A Ctrl-C reaches git with gopush (one process group): report the interruption, not
    git's failure, even when git's exit is seen before Python's own KeyboardInterrupt."""
    if returncode == -signal.SIGINT:
        raise KeyboardInterrupt


def git_error(stderr: bytes, args: Sequence[str]) -> SourceError:
    """Return the SourceError for a failed git: git's own words, and the fix when the
    cause is an object missing from the repository."""
    text = stderr.decode("utf-8", "replace").strip()
    lines = [line.removeprefix("fatal: ").removeprefix("error: ") for line in text.splitlines()]
    detail = "; ".join(line for line in lines if line) or "no message"
    message = f"git {args[0] if args else ''} failed: {detail}"
    missing = _MISSING_OBJECT.search(text)
    if missing is None:
        return SourceError(message)
    return SourceError(
        f"{message} (the repository lacks object {missing[1]})",
        hint="fetch the missing objects: in a partial clone `git fetch --refetch "
             "--no-filter`, in a shallow one `git fetch --unshallow`; a damaged repository: "
             "`git fsck` names what else is lost")
