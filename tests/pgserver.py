"""A real PostgreSQL server for the tests: Debian's binaries, a throwaway cluster, loopback only.

``PostgresServer`` runs ``initdb`` into a fresh temporary directory, starts ``postgres`` on a
free 127.0.0.1 port with password authentication (SCRAM, a random password, as a deployment
would), and ``stop`` shuts it down and deletes the cluster. Nothing listens beyond loopback
and no Unix socket is left outside the temporary directory.

PostgreSQL refuses to run as root. Under root (CI containers) the cluster belongs to the
``postgres`` system user that Debian's package creates, and the binaries run through
``runuser``; as any other user they run directly.

``find_bin`` says where the binaries are, or why the tests that need them are skipped.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SYSTEM_USER = "postgres"  # the owner of clusters when the tests run as root (Debian's user)
DATABASE = "gopush"
ROLE = "gopush"


def find_bin() -> Path | None:
    """Return the directory of the newest installed PostgreSQL server binaries, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """One running throwaway cluster; ``url`` is a ``postgresql://`` URL with its password."""

    bindir: Path
    root: Path
    port: int
    password: str
    as_root: bool

    @property
    def url(self) -> str:
        return f"postgresql://{ROLE}:{self.password}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    @classmethod
    def start(cls, bindir: Path | None = None) -> PostgresServer:
        """Create and start a cluster with one role and one database named gopush."""
        bindir = bindir or find_bin()
        if bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        root = Path(tempfile.mkdtemp(prefix="gopush-pg-"))
        server = cls(bindir, root, _free_port(), secrets.token_urlsafe(18), os.geteuid() == 0)
        try:
            server._init()
            server._pg_ctl_start()
            server._wait_ready()
        except BaseException:
            server.stop()
            raise
        return server

    def _init(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            shutil.chown(self.root, SYSTEM_USER)
            shutil.chown(pwfile, SYSTEM_USER)
        self._run("initdb", "-D", str(self.data), "-U", ROLE, "--pwfile", str(pwfile),
                  "-A", "scram-sha-256", "-E", "UTF8", "--locale", "C.UTF-8", "-N")
        pwfile.unlink()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            done = subprocess.run(
                self._argv("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", ROLE,
                           "-d", "postgres", "-Atc", f"CREATE DATABASE {DATABASE}"),
                env={**os.environ, "PGPASSWORD": self.password}, check=False, capture_output=True,
                text=True)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not accept connections: {done.stderr.strip()}")
            time.sleep(0.2)

    def _argv(self, program: str, *args: str) -> list[str]:
        argv = [str(self.bindir / program), *args]
        return ["runuser", "-u", SYSTEM_USER, "--", *argv] if self.as_root else argv

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(self._argv(program, *args), check=False, capture_output=True, text=True,
                              cwd=self.root, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip()}")

    def _pg_ctl_start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w",
                  "-t", "60", "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 "
                  f"-c unix_socket_directories={self.root} -c fsync=off", "start")

    def start_again(self) -> None:
        """Start the cluster again after ``kill`` (same port, same data: crash recovery)."""
        self._pg_ctl_start()

    def kill(self) -> None:
        """Stop the server at once (as a crash would): immediate shutdown, no checkpoint."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def stop(self) -> None:
        """Stop the server if it runs and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            except (RuntimeError, subprocess.TimeoutExpired):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
