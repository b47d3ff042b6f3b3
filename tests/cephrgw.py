"""A real S3-compatible server for the tests: Ceph's RADOS Gateway from Debian's packages.

``RadosGateway.start`` builds the smallest Ceph cluster that can hold objects, all on
127.0.0.1 and in one temporary directory: one monitor, one OSD keeping its objects in
memory (``memstore``, 1 GiB), replication 1, no cephx (nothing listens beyond loopback), and
one ``radosgw`` serving the S3 API with a user whose access key and secret are random.
``stop`` kills the daemons and deletes the directory. No manager daemon runs: it only
gathers statistics, which neither the gateway nor the tests need.

This is the same gateway as in a production Ceph cluster (Debian's radosgw 16.2), not an
imitation of S3: what passes here passes against an S3 endpoint whose semantics the tests
did not write. ``find`` says whether the binaries are installed, or why the tests skip.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

DAEMONS = ("ceph-mon", "ceph-osd", "radosgw", "monmaptool", "radosgw-admin", "ceph")


def find() -> str | None:
    """Return None when every binary is installed, else what is missing."""
    missing = [name for name in DAEMONS if shutil.which(name) is None]
    return f"not installed: {', '.join(missing)} (apt-get install radosgw ceph-mon ceph-osd)" \
        if missing else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config(root: Path, fsid: str, mon_port: int, s3_port: int) -> str:
    return f"""[global]
fsid = {fsid}
mon host = v1:127.0.0.1:{mon_port}
mon initial members = a
public addr = 127.0.0.1
ms bind msgr2 = false
auth cluster required = none
auth service required = none
auth client required = none
osd objectstore = memstore
memstore device bytes = 1073741824
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
mon data avail warn = 1
mon data avail crit = 0
run dir = {root}/run
admin socket = {root}/run/$name.asok
pid file = {root}/run/$name.pid
log file = {root}/log/$name.log
mon data = {root}/mon/$cluster-$id
osd data = {root}/osd/$cluster-$id
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:{s3_port}
rgw dns name = 127.0.0.1
"""


@dataclass
class RadosGateway:
    """One running throwaway cluster and gateway; ``endpoint`` is its S3 URL."""

    root: Path
    s3_port: int
    access_key: str = field(default_factory=lambda: "GOPUSHTEST" + secrets.token_hex(5).upper())
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30))

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def env(self) -> dict[str, str]:
        """The AWS variables an S3 client reads, pointing at this gateway."""
        return {"AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key,
                "AWS_ENDPOINT_URL": self.endpoint, "AWS_DEFAULT_REGION": "us-east-1"}

    @classmethod
    def start(cls, timeout: float = 120) -> RadosGateway:
        """Start monitor, OSD and gateway; return once the S3 API answers and the user exists."""
        root = Path(tempfile.mkdtemp(prefix="gopush-ceph-"))
        gateway = cls(root, _free_port())
        try:
            gateway._boot(_free_port(), time.monotonic() + timeout)
        except BaseException:
            gateway.stop()
            raise
        return gateway

    def _run(self, *argv: str, timeout: float = 60) -> str:
        done = subprocess.run([argv[0], "-c", str(self.root / "ceph.conf"), *argv[1:]],
                              check=False, capture_output=True, text=True, cwd=self.root,
                              timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:3])} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-400:]}")
        return done.stdout

    def _boot(self, mon_port: int, deadline: float) -> None:
        for sub in ("run", "log", "mon", "osd/ceph-0"):
            (self.root / sub).mkdir(parents=True)
        fsid = str(uuid.uuid4())
        (self.root / "ceph.conf").write_text(_config(self.root, fsid, mon_port, self.s3_port))
        subprocess.run(["monmaptool", "--create", "--add", "a", f"v1:127.0.0.1:{mon_port}",
                        "--fsid", fsid, str(self.root / "monmap")],
                       check=True, capture_output=True, timeout=30)
        self._run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(self.root / "monmap"))
        self._run("ceph-mon", "-i", "a")
        osd_uuid = str(uuid.uuid4())  # the OSD's own id: the monitor refuses an OSD without it
        osd = self._run("ceph", "--connect-timeout", "30", "osd", "create", osd_uuid).strip()
        if osd != "0":
            raise RuntimeError(f"expected OSD 0, the monitor made {osd!r}")
        self._run("ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid)
        self._start_osd(deadline)
        self._run("ceph", "osd", "crush", "add", "osd.0", "1.0", "host=localhost", "root=default")
        self._run("radosgw", "-n", "client.rgw")
        self._wait_s3(deadline)
        self._run("radosgw-admin", "-n", "client.rgw", "user", "create", "--uid=gopush-tests",
                  "--display-name=gopush tests", f"--access-key={self.access_key}",
                  f"--secret-key={self.secret_key}", timeout=max(5.0, deadline - time.monotonic()))

    def _start_osd(self, deadline: float) -> None:
        # A just-made OSD is sometimes refused at its first start ("wrong fsid" when it asks
        # the monitor to place it, before the monitor's map names its uuid): try again.
        while True:
            try:
                self._run("ceph-osd", "-i", "0")
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)

    def _wait_s3(self, deadline: float) -> None:
        while True:
            try:
                if httpx.get(self.endpoint, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                log = (self.root / "log" / "client.rgw.log")
                tail = log.read_text(errors="replace")[-600:] if log.exists() else "(no log)"
                raise RuntimeError(f"radosgw did not answer on {self.endpoint}: {tail}")
            time.sleep(0.5)

    def kill_gateway(self, timeout: float = 10) -> None:
        """Kill the gateway only (SIGKILL), as a crash would, and return once its port
        refuses connections; the cluster keeps its objects."""
        self._signal("client.rgw", signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.s3_port)) != 0:
                    return
            time.sleep(0.1)

    def restart_gateway(self, timeout: float = 60) -> None:
        """Start the gateway again after ``kill_gateway``; return once the S3 API answers."""
        self._run("radosgw", "-n", "client.rgw")
        self._wait_s3(time.monotonic() + timeout)

    def _signal(self, name: str, sig: signal.Signals) -> bool:
        pidfile = self.root / "run" / f"{name}.pid"
        try:
            os.kill(int(pidfile.read_text().strip()), sig)
        except (OSError, ValueError):
            return False
        return True

    def stop(self) -> None:
        """Stop every daemon (TERM, then KILL after 10 s) and delete the cluster."""
        names = ("client.rgw", "osd.0", "mon.a")
        pids = {}
        for name in names:
            pidfile = self.root / "run" / f"{name}.pid"
            try:
                pids[name] = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                continue
            self._signal(name, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for pid in pids.values():
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
