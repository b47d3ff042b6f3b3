"""Where results go: stdout carries results only, in a form that fits where it goes."""

from __future__ import annotations

import io

from rich.console import Console

from gopush.ui.rich_ui import RichReporter

ROWS = [["go.mod", "valid", ""], ["a.go", "valid", ""]]


def test_rich_mode_prints_tab_separated_rows_into_a_pipe() -> None:
    """Progress on a terminal's stderr (rich mode) while stdout goes to a file or pipe: the
    table arrives as tab-separated lines, with no box drawing, as the README promises."""
    reporter = RichReporter()
    piped = io.StringIO()
    reporter.out = Console(file=piped, highlight=False, soft_wrap=True)
    reporter.table("example.com/m@v1.0.0", ["file", "verdict", "reason"], ROWS)
    assert piped.getvalue() == "go.mod\tvalid\t\na.go\tvalid\t\n"


def test_rich_mode_draws_a_table_on_a_terminal() -> None:
    reporter = RichReporter()
    screen = io.StringIO()
    reporter.out = Console(file=screen, force_terminal=True, width=80, color_system=None)
    reporter.table("example.com/m@v1.0.0", ["file", "verdict", "reason"], ROWS)
    drawn = screen.getvalue()
    assert "┃ file" in drawn and "example.com/m@v1.0.0" in drawn
