"""The output boundary: every text a Reporter prints passes here first.

``Guarded`` wraps the Reporter the CLI chose. Each message, hint, warning, step, table cell
and result passes ``gopush.redaction.redact`` with the secrets of the run (the API key,
once resolved) and ``gopush.text``: control characters are shown escaped, and a message's
continuation lines are indented, so no text, whoever built it, can start a line of its own
that reads as gopush's ``error:`` or ``hint:``. The JSON document's strings are redacted;
``json`` escapes their control characters itself. Messages are also made safe where they are
built (``Session.scrub``, ``error_detail``); this is the one place nothing can bypass.
"""

from __future__ import annotations

from typing import Any

from gopush.redaction import redact
from gopush.text import lines, one_line
from gopush.ui.base import Progress, Reporter


class Guarded:
    """A Reporter that redacts and neutralises everything before ``inner`` prints it.

    ``secrets`` is the run's list, shared with ``App``: a key resolved after the reporter
    was made is still hidden.
    """

    def __init__(self, inner: Reporter, secrets: list[str]) -> None:
        self.inner, self.secrets = inner, secrets

    def message(self, text: str) -> str:
        """Return a message for people: redacted, controls escaped, continuation lines
        indented (each line after the first starts with two spaces)."""
        first, *rest = lines(redact(str(text), self.secrets)).split("\n")
        return "\n".join([first, *(line if line.startswith("  ") else f"  {line}"
                                   for line in rest)])

    def cell(self, text: str) -> str:
        """Return one line (a table cell): redacted, every control character escaped."""
        return one_line(redact(str(text), self.secrets))

    def data(self, value: Any) -> Any:
        """Return a JSON value with the same shape, its strings (keys too) redacted."""
        if isinstance(value, str):
            return redact(value, self.secrets)
        if isinstance(value, dict):
            return {self.data(k) if isinstance(k, str) else k: self.data(v)
                    for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value

    def step(self, message: str) -> None:
        self.inner.step(self.message(message))

    def retry(self, message: str) -> None:
        self.inner.retry(self.message(message))

    def detail(self, message: str) -> None:
        self.inner.detail(self.message(message))

    def warn(self, message: str) -> None:
        self.inner.warn(self.message(message))

    def progress(self, description: str, total: int | None, *,
                 unit: str = "bytes") -> Progress:
        return self.inner.progress(self.cell(description), total, unit=unit)

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        self.inner.table(self.cell(title), headers,
                         [[self.cell(c) for c in row] for row in rows])

    def result(self, data: dict[str, Any], text: str) -> None:
        """Emit the result: its text keeps its lines (stdout data, one fact a line)."""
        self.inner.result(self.data(data), lines(redact(text, self.secrets)))

    def error(self, message: str, hint: str | None, data: dict[str, Any]) -> None:
        """Report a failure: message and hint as ``message``, data as ``data``."""
        inner: Any = self.inner
        inner.error(self.message(message), self.message(hint) if hint else hint,
                    self.data(data))

    def __getattr__(self, name: str) -> Any:  # the inner reporter's own attributes
        return getattr(self.inner, name)
