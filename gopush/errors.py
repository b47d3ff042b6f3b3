"""The gopush exception hierarchy and the exit code each kind of failure maps to.

Exceptions are grouped by *who has to act*, and each class carries its exit code, so the
single handler in ``gopush.cli.main`` never guesses. Messages are ready for a user: they say
what went wrong and, through ``hint``, what to do about it. No I/O happens here.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitCode(IntEnum):
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0
    FAILURE = 1  # unexpected; traceback only with --debug
    USAGE = 2  # bad invocation (click's own code)
    CONFIG = 3  # missing or invalid settings or credentials
    INVALID_MODULE = 4  # go.mod, path/version rules, zip rules, bad source revision
    REJECTED = 5  # the registry refused: exists with other content, forbidden, invalid
    UNAVAILABLE = 6  # network failure, timeout, 5xx after retries
    VULNERABLE = 7  # a known vulnerability the audit policy refuses (`audit`, `push --audit`)
    INTERRUPTED = 130  # Ctrl-C
    PIPE_CLOSED = 141  # stdout's reader went away (`| head`): 128 + SIGPIPE, as shells say
    TERMINATED = 143  # SIGTERM (CI cancel, timeout, container stop), after the same cleanup


class GopushError(Exception):
    """Base of every error gopush reports to a user; ``hint`` names the fix."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None,
                 data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.data = data or {}  # facts for the JSON error document (never secrets)

    def __str__(self) -> str:
        return self.message


class UsageError(GopushError):
    """The command line names something that is not there (a file, a pattern's matches)."""

    exit_code = ExitCode.USAGE


class ConfigError(GopushError):
    """Settings or credentials are missing or invalid."""

    exit_code = ExitCode.CONFIG


class InvalidModule(GopushError):
    """The module, its path, version, go.mod or files break one of Go's rules."""

    exit_code = ExitCode.INVALID_MODULE


class InvalidVersion(InvalidModule):
    """A version string is not valid, not canonical, or does not fit the module path."""


class InvalidPath(InvalidModule):
    """A module path, import path or file path breaks Go's path rules."""


class GoModError(InvalidModule):
    """A go.mod file cannot be parsed; the message starts with ``file:line:``."""


class InvalidModuleZip(InvalidModule):
    """A module zip (to build or received) would be refused by the go command."""


class SourceError(GopushError):
    """The source of a module (git repository, revision, directory) cannot be read."""

    exit_code = ExitCode.INVALID_MODULE


class NotARepository(SourceError):
    """A directory that should be a git checkout is not inside one."""


class RegistryError(GopushError):
    """The registry refused a request (4xx)."""

    exit_code = ExitCode.REJECTED

    def __init__(
        self, message: str, *, hint: str | None = None, status: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, hint=hint, data=data)
        self.status = status


class AuthError(RegistryError):
    """The registry refused the credentials (401/403)."""

    exit_code = ExitCode.CONFIG


class VersionExists(RegistryError):
    """The registry already holds this module@version with different content."""


class RegistryUnavailable(RegistryError):
    """The registry could not be reached or kept failing (5xx, timeouts) after retries."""

    exit_code = ExitCode.UNAVAILABLE


class Vulnerable(GopushError):
    """The audited module requires a version with a known vulnerability that the policy
    (``--fail-on``, ``--allow``) refuses; the message says what to upgrade to."""

    exit_code = ExitCode.VULNERABLE


class Interrupted(GopushError):
    """The user pressed Ctrl-C; the message says what state things were left in."""

    exit_code = ExitCode.INTERRUPTED
