"""JsonReporter: exactly one JSON document on stdout, errors included.

Steps and progress are silent (they would pollute stdout); warnings are collected into the
document under ``warnings`` and also written to stderr as plain lines for people watching.
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

from gopush.ui.base import Progress, _NullProgress


class JsonReporter:
    """Collects the result (or error) and prints it as one JSON object when done."""

    def __init__(self, *, out: IO[str] | None = None, err: IO[str] | None = None) -> None:
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self.warnings: list[str] = []
        self._emitted = False

    def step(self, message: str) -> None:
        pass

    def retry(self, message: str) -> None:
        pass

    def detail(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        print(f"warning: {message}", file=self._err, flush=True)

    def progress(self, description: str, total: int | None, *,
                 unit: str = "bytes") -> Progress:
        return _NullProgress()

    def table(self, title: str, headers: list[str], rows: list[list[str]]) -> None:
        pass  # the same facts travel in the result document

    def result(self, data: dict[str, Any], text: str) -> None:
        self._emit({"ok": True, **data, "warnings": self.warnings})

    def error(self, message: str, hint: str | None, data: dict[str, Any]) -> None:
        """Emit the failure as the one JSON document."""
        body = {"ok": False, **data, "error": {"message": message, "hint": hint},
                "warnings": self.warnings}
        self._emit(body)
        print(f"error: {message}", file=self._err, flush=True)

    def _emit(self, body: dict[str, Any]) -> None:
        if self._emitted:  # one document per run, whatever happens
            return
        self._emitted = True
        # one write: json.dump would write a large document (an audit's findings) in tens
        # of thousands of small pieces
        self._out.write(json.dumps(body, indent=2, sort_keys=False, default=str) + "\n")
        self._out.flush()
