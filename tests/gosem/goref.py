"""Go's own golang.org/x/mod, compiled into a small oracle program, as the reference for gosem.

The go toolchain under test vendors golang.org/x/mod in ``GOROOT/src/cmd/vendor``. ``build``
copies the packages gosem mirrors (module, semver, modfile, sumdb/dirhash) next to
``oracle/main.go`` and builds it offline; ``GoRef`` then asks it questions over a pipe. The
binary is cached per go version and oracle source, so only the first test session pays for
the build.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

ORACLE_SOURCE = Path(__file__).parent / "oracle" / "main.go"
XMOD_PACKAGES = ("module", "semver", "modfile", "sumdb/dirhash", "internal/lazyregexp")


def _go_env(go: str, cache: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""), "HOME": str(cache), "GOPATH": str(cache / "gopath"),
        "GOCACHE": str(cache / "gocache"), "GOENV": "off", "GOTOOLCHAIN": "local",
        "GOPROXY": "off", "GOFLAGS": "-mod=mod", "GOWORK": "off", "CGO_ENABLED": "0",
    }


def build(go: str, cache: Path) -> Path:
    """Build (or reuse) the oracle binary under ``cache`` and return its path."""
    version = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                             check=True, env=_go_env(go, cache)).stdout.strip()
    key = hashlib.sha256(version.encode() + ORACLE_SOURCE.read_bytes()).hexdigest()[:16]
    binary = cache / f"oracle-{key}"
    if binary.exists():
        return binary
    src = cache / "src"
    shutil.rmtree(src, ignore_errors=True)
    _copy_xmod(go, cache, src / "xmod")
    shutil.copy(ORACLE_SOURCE, src / "main.go")
    (src / "go.mod").write_text("module gopush.test/oracle\n\ngo 1.24\n\n"
                                "require golang.org/x/mod v0.0.0\n\n"
                                "replace golang.org/x/mod => ./xmod\n")
    subprocess.run([go, "build", "-o", str(binary), "."], cwd=src, check=True,
                   env=_go_env(go, cache), capture_output=True)
    return binary


def _copy_xmod(go: str, cache: Path, dest: Path) -> None:
    goroot = subprocess.run([go, "env", "GOROOT"], capture_output=True, text=True, check=True,
                            env=_go_env(go, cache)).stdout.strip()
    vendored = Path(goroot) / "src" / "cmd" / "vendor" / "golang.org" / "x" / "mod"
    for package in XMOD_PACKAGES:
        shutil.copytree(vendored / package, dest / package,
                        ignore=shutil.ignore_patterns("*_test.go"))
    (dest / "go.mod").write_text("module golang.org/x/mod\n\ngo 1.24\n")


def _b64(s: str | bytes) -> str:
    data = s if isinstance(s, bytes) else s.encode("utf-8", "surrogateescape")
    return base64.b64encode(data).decode()


class GoRef:
    """A running oracle process: ``call(op, *args)`` returns ``(outputs, error text)``."""

    def __init__(self, binary: Path) -> None:
        self.proc = subprocess.Popen([str(binary)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def call(self, op: str, *args: str | bytes) -> tuple[list[str], str]:
        """Ask Go ``op(*args)``; strings come back decoded with surrogateescape."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op, "args": [_b64(a) for a in args]}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        out = [base64.b64decode(s).decode("utf-8", "surrogateescape")
               for s in reply["out"] or []]
        err = base64.b64decode(reply["err"]).decode("utf-8", "surrogateescape")
        return out, err

    def close(self) -> None:
        """Stop the oracle process."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
