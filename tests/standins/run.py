"""Start a stand-in server process (tests/standins/NAME.py) and talk to its test-only side."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent


@dataclass
class Standin:
    """A running stand-in: its base URL and process."""

    url: str
    proc: subprocess.Popen[bytes]

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """Return the requests the server received (of ``method``), in order."""
        seen = httpx.get(f"{self.url}/-/standin/requests").json()
        return [r for r in seen if method is None or r["method"] == method]

    def fault(self, **faults: dict[str, str]) -> None:
        """Arm faults (``common.py`` describes them); each fires once."""
        httpx.post(f"{self.url}/-/standin/faults", json=faults).raise_for_status()

    def stop(self) -> None:
        """Stop the process (it holds no state worth keeping)."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_standin(name: str, config: dict[str, Any], workdir: Path) -> Standin:
    """Start ``tests/standins/NAME.py`` with ``config``; return once it listens."""
    path = workdir / f"{name}-config.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen([sys.executable, str(HERE / f"{name}.py"), str(path)],
                            stdout=subprocess.PIPE, stderr=(workdir / f"{name}.log").open("wb"))
    assert proc.stdout is not None
    port = proc.stdout.readline().strip()  # printed once the socket is bound and listening
    if not port.isdigit():
        proc.kill()
        raise RuntimeError(f"{name} stand-in did not start: "
                           f"{(workdir / f'{name}.log').read_text()[-2000:]}")
    return Standin(f"http://127.0.0.1:{int(port)}", proc)
