"""The App context object: the one seam between the click layer and everything else.

``App`` holds the output choice and builds the Reporter once. Tests construct their own App
or pass options; nothing below the CLI reads ``sys.stdout.isatty()`` or the environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import click

from gopush.ui.base import Reporter

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class App:
    """Per-invocation state shared by every command (stored on ``ctx.obj``)."""

    output: str = "auto"
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    secrets: list[str] = field(default_factory=list)  # hidden in all output (the API key)
    _reporter: Reporter | None = None

    @property
    def reporter(self) -> Reporter:
        """Return the reporter, choosing it on first use from output mode and terminal.

        It is ``ui.guard.Guarded``: everything printed is redacted of ``secrets`` and has
        its control characters escaped, whichever code built the text.
        """
        if self._reporter is None:
            from gopush.ui.guard import Guarded
            from gopush.ui.select import select_reporter

            self._reporter = Guarded(select_reporter(
                self.output, stderr_isatty=sys.stderr.isatty(), environ=self.environ,
                quiet=self.quiet, verbose=self.verbose), self.secrets)
        return self._reporter

    def hide(self, secret: str) -> None:
        """Hide ``secret`` (the API key, once resolved) in everything printed from now on."""
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    @property
    def interactive(self) -> bool:
        """Tell whether gopush may prompt: stdin is a terminal and CI is not set."""
        return sys.stdin.isatty() and not self.environ.get("CI")


pass_app = click.make_pass_decorator(App, ensure=True)


def _set(attr: str, value_of: Callable[[Any], Any] = lambda v: v) -> Callable[..., Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        app = ctx.ensure_object(App)
        if value not in (None, False) or param.name == "output" and value:
            setattr(app, attr, value_of(value))

    return callback


def output_options(f: F) -> F:
    """Add --json, --output, -q, -v and --debug to a command (also accepted on the group)."""
    return _with_output_options(f, ("-q", "--quiet"))


def output_options_query_q(f: F) -> F:
    """``output_options`` for a command whose own ``-q`` is its query (``ls``, as the
    official ``cloudsmith ls pkgs -q``): quiet is ``--quiet`` only there, since click
    cannot give one flag to two options (it warns, and one of them silently loses)."""
    return _with_output_options(f, ("--quiet",))


def _with_output_options(f: F, quiet_flags: tuple[str, ...]) -> F:
    opts = [
        click.option("--json", "json_", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set("output", lambda v: "json"),
                     help="Print one JSON document on stdout (errors included)."),
        click.option("--output", type=click.Choice(["auto", "rich", "plain", "json"]),
                     expose_value=False, is_eager=True, callback=_set("output"),
                     help="Output style; auto = rich on a terminal, plain in CI or pipes."),
        click.option(*quiet_flags, "quiet", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set("quiet"), help="Only results, warnings and errors."),
        click.option("-v", "--verbose", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set("verbose"), help="More detail about each step."),
        click.option("--debug", is_flag=True, expose_value=False, is_eager=True,
                     callback=_set("debug"),
                     help="Show tracebacks for unexpected errors (secrets stay hidden)."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f
