"""The root ``gopush`` command, lazy subcommand loading, and the one place errors become exits.

Subcommands live in their own modules and are imported only when invoked, so
``gopush --help`` stays fast. Library code raises ``GopushError`` subclasses; ``main`` renders
them (``error: …`` and ``hint: …``) and returns the class's documented exit code.
"""

from __future__ import annotations

import importlib
import itertools
import sys
import traceback
from typing import Any

import click

from gopush import __version__
from gopush.cli import signals
from gopush.cli.app import App, output_options
from gopush.errors import ExitCode, GopushError

# name -> (module, one-line help shown by `gopush --help` without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "build": ("gopush.cli.build", "Build the module zip of a git tag or commit, as go does."),
    "check": ("gopush.cli.check", "Check a directory, revision or zip against Go's zip rules."),
    "push": ("gopush.cli.push", "Upload module zips to a registry."),
    "verify": ("gopush.cli.verify", "Compare a published module with a local build."),
    "whoami": ("gopush.cli.whoami", "Check the registry credentials."),
    "ls": ("gopush.cli.ls", "List the packages of a repository (Cloudsmith's query syntax)."),
    "rm": ("gopush.cli.rm", "Remove a package: its version is no longer served."),
    "serve": ("gopush.cli.serve", "Run the embedded Go module registry."),
    "audit": ("gopush.cli.audit", "Check a module's requirements for known vulnerabilities."),
    "goauth": ("gopush.cli.goauth", "Print registry credentials for go's GOAUTH (go 1.24+)."),
    "tokens": ("gopush.cli.tokens", "Manage a repository's entitlement tokens (GOPROXY reads)."),
    "retention": ("gopush.cli.retention",
                  "Show, change, dry-run or apply a repository's retention rules."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if _importable(module)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _importable(COMMANDS[name][0]):
            return None
        command: click.Command = importlib.import_module(COMMANDS[name][0]).command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if not rows:
            return
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _importable(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gopush")
@output_options
def cli() -> None:
    """Build Go module zips exactly as the go command does, and publish them.

    \b
    Exit codes: 0 ok, 1 unexpected failure, 2 usage, 3 config or credentials,
    4 invalid module or source, 5 rejected by the registry, 6 registry unavailable,
    7 a known vulnerability the audit refuses (audit, push --audit),
    130 interrupted (Ctrl-C), 141 output pipe closed, 143 terminated (SIGTERM; cleaned
    up as after Ctrl-C).
    """


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return the process exit code (never raises)."""
    with signals.sigterm_raises():
        code = _run(argv)
    return int(ExitCode.TERMINATED) if signals.received else code


def _run(argv: list[str] | None) -> int:
    app = App()
    try:
        cli.main(args=argv, prog_name="gopush", obj=app, standalone_mode=False)
    except GopushError as err:
        _report(app, err.message, err.hint, err.data)
        return int(err.exit_code)
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as err:
        err.show()
        if _wants_json(app, argv):  # the document is promised for usage errors too
            _json_error(err.format_message(), "see `gopush COMMAND --help`", "usage-error")
        return int(err.exit_code)
    except (BrokenPipeError, SystemExit):
        # the reader of stdout went away (`gopush build --all | head -1`); click answers
        # that EPIPE itself with sys.exit(1), the only exit it raises outside standalone mode
        _silence_stdout()
        return int(ExitCode.PIPE_CLOSED)
    except (KeyboardInterrupt, click.Abort):  # click turns a KeyboardInterrupt into Abort
        said = "terminated (SIGTERM)" if signals.received else "interrupted"
        print(f"\n{said}", file=sys.stderr)
        if _wants_json(app, argv):
            _json_error(said, None, "interrupted")
        return int(ExitCode.INTERRUPTED)
    except Exception as err:  # noqa: BLE001 - the one place unexpected errors are rendered
        if app.debug:
            traceback.print_exc()
        _report(app, f"unexpected {type(err).__name__}: {err}",
                "please report it with the traceback above" if app.debug else
                "run again with --debug for a traceback, and report it", {})
        return int(ExitCode.FAILURE)
    return int(ExitCode.OK)


def _silence_stdout() -> None:
    """Point stdout (and stderr, often the same pipe) at /dev/null, so that the flush at
    exit does not fail a second time with a message nobody can read."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # not a real file (tests capture the streams)
            pass


def _wants_json(app: App, argv: list[str] | None) -> bool:
    """Tell whether --json (or --output json) was asked for, even if parsing stopped early."""
    args = sys.argv[1:] if argv is None else argv
    args = args[:args.index("--")] if "--" in args else args
    return app.output == "json" or "--json" in args or "--output=json" in args or any(
        pair == ("--output", "json") for pair in itertools.pairwise(args))


def _json_error(message: str, hint: str | None, status: str) -> None:
    """Print the one JSON document of a run that ended before a command could report."""
    import json

    doc = {"ok": False, "status": status, "error": {"message": message, "hint": hint}}
    print(json.dumps(doc, indent=2), flush=True)


def _report(app: App, message: str, hint: str | None, data: dict[str, Any]) -> None:
    reporter: Any = app.reporter
    reporter.error(message, hint, data)
