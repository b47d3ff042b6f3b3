"""Choose the Reporter once, from the output mode, the terminal and the environment."""

from __future__ import annotations

from collections.abc import Mapping

from gopush.ui.base import Reporter


def select_reporter(output: str, *, stderr_isatty: bool, environ: Mapping[str, str],
                    quiet: bool = False, verbose: bool = False) -> Reporter:
    """Return the reporter for ``output`` ("auto", "rich", "plain" or "json").

    "auto" means rich when stderr is a terminal and neither ``CI`` nor ``NO_COLOR`` nor
    ``TERM=dumb`` is set, plain lines otherwise.
    """
    if output == "json":
        from gopush.ui.json_ui import JsonReporter

        return JsonReporter()
    if output == "auto":
        plain_env = environ.get("CI") or environ.get("NO_COLOR") or environ.get("TERM") == "dumb"
        output = "rich" if stderr_isatty and not plain_env else "plain"
    if output == "rich":
        from gopush.ui.rich_ui import RichReporter

        return RichReporter(quiet=quiet, verbose=verbose)
    from gopush.ui.plain import PlainReporter

    return PlainReporter(quiet=quiet, verbose=verbose)
