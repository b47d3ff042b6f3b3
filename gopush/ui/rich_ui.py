"""RichReporter: colour, progress bars and spinners on stderr, for people at a terminal."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape  # messages hold registry text: "[...]" is not markup
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import (
    Progress as RichProgress,
)

from gopush.ui.base import Progress, _NullProgress


class _RichTask:
    def __init__(self, bars: RichProgress, task: Any) -> None:
        self._bars, self._task = bars, task

    def advance(self, amount: int) -> None:
        self._bars.advance(self._task, amount)

    def close(self) -> None:
        self._bars.stop()


class RichReporter:
    """Draws steps and progress on stderr with rich; result text goes to stdout."""

    def __init__(self, *, quiet: bool = False, verbose: bool = False,
                 bytes_unit: bool = True) -> None:
        self.quiet, self.verbose = quiet, verbose
        self.err = Console(stderr=True)
        self.out = Console(highlight=False, soft_wrap=True)

    def step(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[bold green]✓[/] {escape(message)}", highlight=False)

    def retry(self, message: str) -> None:
        if not self.quiet:
            self.err.print(f"[bold yellow]↻[/] {escape(message)}", highlight=False)

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self.err.print(f"[dim]{escape(message)}[/]", highlight=False)

    def warn(self, message: str) -> None:
        self.err.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False)

    def progress(self, description: str, total: int | None, *, unit: str = "bytes") -> Progress:
        if self.quiet:
            return _NullProgress()
        columns: list[Any] = [TextColumn("{task.description}"), BarColumn()]
        if unit == "bytes":
            columns += [DownloadColumn(), TransferSpeedColumn()]
        elif unit == "percent":
            columns += [TextColumn("{task.percentage:>3.0f}%")]
        else:
            columns += [TextColumn(f"{{task.completed}}/{{task.total}} {unit}")]
        columns.append(TimeRemainingColumn())
        bars = RichProgress(*columns, console=self.err, transient=True)
        task = bars.add_task(description, total=total)
        bars.start()
        return _RichTask(bars, task)

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        """Draw a table on stdout; when stdout is a pipe or file (progress still drawn on a
        terminal's stderr), print tab-separated lines as in plain mode."""
        if not self.out.is_terminal:
            for row in rows:  # straight to the file: rich would expand the tabs
                self.out.file.write("\t".join(row) + "\n")
            self.out.file.flush()
            return
        from rich.table import Table

        grid = Table(title=title, header_style="bold")
        for header in headers:
            grid.add_column(header)
        for row in rows:
            grid.add_row(*row)
        self.out.print(grid)

    def result(self, data: dict[str, Any], text: str) -> None:
        if text:
            self.out.print(text, markup=False)

    def error(self, message: str, hint: str | None, data: dict[str, Any]) -> None:
        """Report a failure in red on stderr, with the hint beneath it."""
        self.err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        if hint:
            self.err.print(f"[bold]hint:[/] {escape(hint)}", highlight=False)
