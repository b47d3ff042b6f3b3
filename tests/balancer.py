"""A real round-robin balancer for the tests: Debian's HAProxy on loopback, stopped after.

``Balancer.start`` writes a configuration (``config``, the one the README's deployment
section shows, with the ports filled in) into a fresh temporary directory, checks it with
``haproxy -c`` and runs ``haproxy -db`` (foreground) on a free 127.0.0.1 port in front of the
given ``gopush serve`` URLs. HAProxy sends each request to the next instance in turn (HTTP
mode balances request by request, even on a kept-alive client connection), and takes an
instance out of the rotation when two health checks of ``/readyz`` in a row fail.

Request bodies stream through: with ``option http-buffer-request`` off (HAProxy's default)
nothing waits for a whole body, and HAProxy sets no limit of its own on a body's size, so
the server's own upload limits are the only ones. The timeouts are HAProxy's required ones,
set long enough for a 100 MiB part over a slow link.

The web page's sessions live in the memory of the instance that made them
(``server.sessions``), so requests for ``/`` and ``/web/`` go to a backend of their own that
keeps each browser on one instance (a cookie HAProxy adds); the APIs and GOPROXY are balanced
request by request, so the parts of one upload reach different instances.

Each answer names the instance that gave it (``X-Gopush-Instance: gopush0``, …), so a test
knows which instance queued a package and an operator which one to read the log of.

``stats`` reads the admin socket (``show stat``): which instances are up, and how many
requests each one was sent, so a test can show that every instance took its share.

``unavailable`` says why the tests that need HAProxy are skipped.
"""

from __future__ import annotations

import csv
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

INSTALL = "apt-get install haproxy"

# The configuration, as the README shows it. {port}: where clients connect; {socket}: the
# admin socket; {servers}: one `server` line per gopush instance.
CONFIG = """\
global
    maxconn 1000
    stats socket {socket} mode 600 level admin

defaults
    mode http
    option redispatch             # a request whose instance refused the connection goes to another
    retries 3
    timeout connect 5s
    timeout client 10m            # an idle client, or a slow upload between two reads
    timeout server 10m            # a slow download, or a big part being stored
    timeout http-request 60s      # headers only: bodies are not buffered (http-buffer-request off)
    timeout queue 30s

frontend gopush
    bind 127.0.0.1:{port}
    use_backend gopush_web if {{ path / }} || {{ path_beg /web/ }}
    default_backend gopush_instances
    option forwardfor             # X-Forwarded-For: the client (gopush serve --trusted-proxy)
    http-response set-header X-Gopush-Instance %s   # which instance answered (its name here)

backend gopush_instances          # the APIs and GOPROXY: every request to the next instance
    balance roundrobin
    option httpchk GET /readyz    # 503 while the database or blob store is unreachable
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
{servers}

backend gopush_web                # the web page: its sessions live in one instance's memory
    balance roundrobin
    cookie gopush_instance insert indirect nocache httponly
{web_servers}
"""


def haproxy() -> str | None:
    """Return the haproxy command, or None."""
    return shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None)


def unavailable() -> str | None:
    """Return why the balancer tests cannot run here, or None."""
    return None if haproxy() else f"HAProxy is not installed ({INSTALL}; .ci/run does)"


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(port: int, admin_socket: Path, backends: list[str]) -> str:
    """Return HAProxy's configuration for ``backends`` (http://HOST:PORT URLs), in order."""
    addresses = [urlsplit(url).netloc for url in backends]
    servers = "\n".join(f"    server gopush{n} {address} check"
                        for n, address in enumerate(addresses))
    web_servers = "\n".join(f"    server gopush{n} {address} track gopush_instances/gopush{n} "
                            f"cookie gopush{n}" for n, address in enumerate(addresses))
    return CONFIG.format(port=port, socket=admin_socket, servers=servers,
                         web_servers=web_servers)


@dataclass
class Balancer:
    """One running HAProxy; ``url`` is where clients connect."""

    proc: subprocess.Popen[bytes]
    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_socket(self) -> Path:
        return self.root / "admin.sock"

    @classmethod
    def start(cls, backends: list[str]) -> Balancer:
        """Start HAProxy in front of ``backends``; return once every one passed a health check.

        Raises:
            RuntimeError: HAProxy is missing, refused the configuration, or did not start.
        """
        command = haproxy()
        if command is None:
            raise RuntimeError(unavailable())
        root = Path(tempfile.mkdtemp(prefix="gopush-haproxy-"))
        port = free_port()
        cfg = root / "haproxy.cfg"
        cfg.write_text(config(port, root / "admin.sock", backends))
        checked = subprocess.run([command, "-c", "-f", str(cfg)], capture_output=True, text=True,
                                 check=False)
        if checked.returncode != 0:
            shutil.rmtree(root, ignore_errors=True)
            raise RuntimeError(f"haproxy -c refused the configuration: {checked.stderr.strip()}")
        log = (root / "haproxy.log").open("wb")
        proc = subprocess.Popen([command, "-db", "-f", str(cfg)], stdout=log,
                                stderr=subprocess.STDOUT, cwd=root)
        balancer = cls(proc, root, port)
        try:
            balancer.wait_up(len(backends))
        except BaseException:
            balancer.stop()
            raise
        return balancer

    def stats(self) -> dict[str, dict[str, str]]:
        """Return HAProxy's ``show stat`` rows of the instances, by server name (gopush0, …):
        ``status`` (UP, DOWN, …) and ``stot`` (requests sent to it so far) among others."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.admin_socket))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        text = b"".join(chunks).decode().lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(text.splitlines())
                if row["pxname"] == "gopush_instances" and row["svname"] != "BACKEND"}

    def up(self) -> list[str]:
        """Return the names of the instances in the rotation now."""
        return [name for name, row in self.stats().items() if row["status"].startswith("UP")]

    def wait_up(self, count: int, timeout: float = 30) -> None:
        """Wait until exactly ``count`` instances are in the rotation.

        Raises:
            RuntimeError: HAProxy exited, or the count was not reached in ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited ({self.proc.returncode}): {self.log()}")
            try:
                if len(self.up()) == count:
                    return
            except OSError:
                pass  # the admin socket is not there yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"HAProxy did not see {count} instances up within "
                                   f"{timeout:.0f} s: {self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        """Return the end of what HAProxy printed."""
        try:
            return (self.root / "haproxy.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop HAProxy (SIGTERM, then SIGKILL) and delete its directory."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)
