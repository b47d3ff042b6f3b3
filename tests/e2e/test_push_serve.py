"""End to end: a real git module pushed to `gopush serve` on 127.0.0.1, fetched by real go.

The server runs as a subprocess (`python -m gopush serve`), exactly as a user starts it.
Hashes compared here come from the go command in the same run, never typed by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gitrepo import GitRepo
from gotool import GoOracle

from gopush.cli.main import main
from gopush.config.credentials import Credential, Secret
from gopush.config.settings import Settings, Target
from gopush.errors import ExitCode, RegistryError
from gopush.modzip.accept import AcceptedZip
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile
from gopush.registry.artifact import ModuleArtifact
from gopush.registry.factory import open_registry

KEY = "e2e-key-3b1f9c0d"
MODULE = "example.com/hello"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_argv(root: Path, port: int) -> list[str]:
    """Return the `gopush serve` command line, using the storage/key flags it documents."""
    shown = subprocess.run([sys.executable, "-m", "gopush", "serve", "--help"],
                           check=False, capture_output=True, text=True)
    if shown.returncode != 0:
        pytest.fail(f"`gopush serve` is not available: {shown.stderr[-500:]}")
    help_text = shown.stdout
    argv = [sys.executable, "-m", "gopush", "serve", "--host", "127.0.0.1", "--port", str(port)]
    for flag in ("--root", "--data-dir", "--data", "--storage", "--dir"):
        if f"{flag} " in help_text or f"{flag}=" in help_text:
            argv += [flag, str(root)]
            break
    if "--api-key " in help_text:
        argv += ["--api-key", KEY]
    if "--new-repos" in help_text:  # the tests push to repositories they never declare
        argv += ["--new-repos"]
    return argv


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """Start `gopush serve` on a free loopback port; yield its URL; stop it."""
    port = _free_port()
    env = {**os.environ, "GOPUSH_SERVE_API_KEY": KEY}
    proc = subprocess.Popen(_serve_argv(tmp_path / "registry", port), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"gopush serve exited: {proc.stderr.read().decode()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def client_env(server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point gopush at the server, with the key in the environment, in CI mode."""
    monkeypatch.setenv("GOPUSH_API_HOST", server)
    monkeypatch.setenv("GOPUSH_API_KEY", KEY)
    monkeypatch.setenv("CI", "1")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return f"{server}/go/acme/gomods/"


def push(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    """Run `gopush push go acme/gomods ... --json`; return code, JSON document, stderr."""
    code = main(["push", "go", "acme/gomods", "--json", *args])
    out, err = capsys.readouterr()
    assert KEY not in out + err
    return code, json.loads(out), err


def test_push_repush_refuse_and_go_download(git_repo: GitRepo, client_env: str, go: GoOracle,
                                            capsys, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    """Build+push a tagged checkout; re-push is identical; another zip under the version is
    refused; go downloads it through the server's GOPROXY with the pushed h1:."""
    git_repo.commit("v1", {"go.mod": f"module {MODULE}\n\ngo 1.21\n",
                           "hello.go": "package hello\n\nfunc Hello() string { return \"hi\" }\n",
                           "LICENSE": "MIT\n"})
    git_repo.git("tag", "v1.0.0")
    monkeypatch.chdir(git_repo.path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    code, doc, err = push(capsys)
    assert code == ExitCode.OK, err
    assert (doc["module"], doc["version"], doc["status"]) == (MODULE, "v1.0.0", "published")
    assert doc["goproxy"] == client_env and doc["package"]
    # the zip built for the push is not left behind in the temporary directory
    assert doc["zip"] is None and list(scratch.iterdir()) == []

    code, again, err = push(capsys)
    assert code == ExitCode.OK and again["status"] == "identical", err

    other = tmp_path / "other" / "v1.0.0.zip"
    other.parent.mkdir()
    create_zip(other, MODULE, "v1.0.0", [DataFile("go.mod", f"module {MODULE}\n".encode()),
                                         DataFile("hello.go", b"package hello\n// changed\n")])
    code, refused, err = push(capsys, str(other))
    assert code == ExitCode.REJECTED and refused["published_sum"] == doc["sum"]
    assert "different content" in refused["error"]["message"]

    info = go.download(MODULE, "v1.0.0", GOPROXY=client_env, GOSUMDB="off",
                       NO_PROXY="127.0.0.1")
    assert info["Sum"] == doc["sum"]


@pytest.mark.slow
def test_an_incompatible_version_is_found_by_the_existence_lookup(
        git_repo: GitRepo, client_env: str, go: GoOracle, capsys, tmp_path: Path) -> None:
    """A +incompatible version (a v2.0.0 tag of a module without go.mod, built by `gopush
    build`) pushed once is found by the next push's lookup in the package list ('+' is an
    ordinary character of the query): the re-push is identical and names the same package
    (it used to miss it and fall back to downloading the zip, with no package to name)."""
    git_repo.commit("v2 without go.mod", {"hello.go": "package hello\n", "LICENSE": "MIT\n"})
    git_repo.git("tag", "v2.0.0")
    built = subprocess.run([sys.executable, "-m", "gopush", "build", "--repo", str(git_repo.path),
                            "--rev", "v2.0.0", "--module", MODULE, "--out",
                            str(tmp_path / "dist"), "--json"],
                           capture_output=True, text=True, check=False)
    doc = json.loads(built.stdout)
    assert built.returncode == 0 and doc["version"] == "v2.0.0+incompatible", built.stderr
    code, pushed, err = push(capsys, doc["zip"])
    assert code == ExitCode.OK and pushed["status"] == "published", err
    code, again, err = push(capsys, doc["zip"])
    assert code == ExitCode.OK and again["status"] == "identical", err
    assert again["package"] == pushed["package"] and pushed["package"]
    info = go.download(MODULE, "v2.0.0+incompatible", GOPROXY=client_env, GOSUMDB="off",
                       NO_PROXY="127.0.0.1")
    assert info["Sum"] == doc["sum"] == pushed["sum"]


def test_large_module_goes_in_parts(client_env: str, go: GoOracle, capsys,
                                    tmp_path: Path) -> None:
    """A module zip of >= 100 MiB is uploaded in parts and go downloads the same h1:."""
    files = [DataFile("go.mod", b"module example.com/big\n")]
    files += [DataFile(f"data/{n:02d}.bin", os.urandom(8 << 20)) for n in range(14)]
    zip_path = tmp_path / "v1.0.0.zip"
    create_zip(zip_path, "example.com/big", "v1.0.0", files)
    assert zip_path.stat().st_size >= 100 * 1024 * 1024
    code, doc, err = push(capsys, str(zip_path), "-v")
    assert code == ExitCode.OK, err
    info = go.download("example.com/big", "v1.0.0", GOPROXY=client_env, GOSUMDB="off")
    assert info["Sum"] == doc["sum"]


def _run_on_a_terminal(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run argv with stdin, stdout and stderr on a pseudo-terminal; return exit code, output."""
    import pty
    import select

    main_fd, tty_fd = pty.openpty()
    proc = subprocess.Popen(argv, env=env, stdin=tty_fd, stdout=tty_fd, stderr=tty_fd,
                            close_fds=True)
    os.close(tty_fd)
    chunks, deadline = [], time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if not select.select([main_fd], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(main_fd, 65536)
            except OSError:  # EIO: the terminal's other end is closed, the process is done
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(main_fd)
        if proc.poll() is None and time.monotonic() >= deadline:
            proc.kill()
    return proc.wait(30), b"".join(chunks).decode("utf-8", "replace")


def _push_on_a_terminal(server: str, tmp_path: Path, repo: str,
                        extra_env: dict[str, str]) -> tuple[int, str]:
    zip_path = tmp_path / repo / "v1.0.0.zip"
    zip_path.parent.mkdir()
    create_zip(zip_path, "example.com/tty", "v1.0.0",
               [DataFile("go.mod", b"module example.com/tty\n"),
                DataFile("data.bin", os.urandom(300_000))])
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "TERM")}
    env.update({"GOPUSH_API_HOST": server, "GOPUSH_API_KEY": KEY, "TERM": "xterm-256color",
                "COLUMNS": "120", "NO_PROXY": "127.0.0.1", **extra_env})
    code, shown = _run_on_a_terminal(
        [sys.executable, "-m", "gopush", "push", "go", f"acme/{repo}", str(zip_path)], env)
    assert KEY not in shown
    return code, shown


def test_push_on_a_terminal_draws_progress(server: str, tmp_path: Path) -> None:
    """On a terminal (no CI), push marks steps with a green ✓, draws progress bars for the
    upload and the sync, and prints the result and the consumer setup."""
    code, shown = _push_on_a_terminal(server, tmp_path, "tty", {})
    assert code == ExitCode.OK, shown
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert "\x1b[1;32m✓" in shown  # bold green
    assert "✓ validated example.com/tty@v1.0.0" in text
    assert re.search(r"upload v1\.0\.0\.zip ━+ +[0-9.]+/[0-9.]+ kB", text)  # bytes sent
    assert re.search(r"sync \S+ ━+ +100%", text) and "✓ package" in text
    assert "published example.com/tty@v1.0.0 h1:" in text
    assert "go get example.com/tty@v1.0.0" in text


def test_push_on_a_terminal_with_no_color_prints_plain_lines(server: str,
                                                             tmp_path: Path) -> None:
    """NO_COLOR on a terminal: the same steps as plain lines, no escape sequences at all."""
    code, shown = _push_on_a_terminal(server, tmp_path, "nocolor", {"NO_COLOR": "1"})
    assert code == ExitCode.OK, shown
    assert "\x1b[" not in shown
    assert "validated example.com/tty@v1.0.0" in shown
    assert "upload v1.0.0.zip: done" in shown
    assert "published example.com/tty@v1.0.0 h1:" in shown


def test_several_modules_in_one_push(client_env: str, go: GoOracle, capsys,
                                     tmp_path: Path) -> None:
    """Three module zips pushed by one command are all published, and go downloads each
    with the h1: the JSON document reports."""
    zips = []
    for name in ("alpha", "beta", "gamma"):
        path = tmp_path / name / "v1.2.0.zip"
        path.parent.mkdir()
        create_zip(path, f"example.com/{name}", "v1.2.0",
                   [DataFile("go.mod", f"module example.com/{name}\n".encode()),
                    DataFile(f"{name}.go", f"package {name}\n".encode())])
        zips.append(str(path))
    code, doc, err = push(capsys, *zips)
    assert code == ExitCode.OK, err
    published = {m["module"]: m for m in doc["modules"]}
    assert sorted(published) == ["example.com/alpha", "example.com/beta", "example.com/gamma"]
    for module, result in published.items():
        assert result["status"] == "published"
        got = go.download(module, "v1.2.0", GOPROXY=client_env, GOSUMDB="off")
        assert got["Sum"] == result["sum"]


def test_a_package_that_failed_processing_is_replaced(client_env: str, server: str,
                                                      go: GoOracle, capsys,
                                                      tmp_path: Path) -> None:
    """A version whose package the registry failed (uploaded by a client without gopush's
    local check) was never served: pushing that version again is not "identical" success,
    and a fixed zip replaces it without --republish; go then downloads the fixed one."""
    bad = tmp_path / "bad" / "v1.0.0.zip"
    bad.parent.mkdir()
    create_zip(bad, MODULE, "v1.0.0", [DataFile("go.mod", b"module example.com/other\n"),
                                       DataFile("hello.go", b"package hello\n")])
    data = bad.read_bytes()
    unchecked = AcceptedZip(MODULE, "v1.0.0", "h1:unused", b"module example.com/other\n",
                            gomod_synthesized=False, valid=(), pseudo_time=None)
    artifact = ModuleArtifact(zip_path=bad, accepted=unchecked, info=b"{}", size=len(data),
                              md5=hashlib.md5(data).hexdigest(),
                              sha256=hashlib.sha256(data).hexdigest())
    settings = Settings(target=Target(kind="cloudsmith", location=server,
                                      repository="acme/gomods"),
                        credential=Credential(Secret(KEY), "test"))
    registry = open_registry(settings)
    try:
        sent = registry.publish(artifact, republish=False, on_progress=lambda n: None)
        with pytest.raises(RegistryError, match="failed to process"):
            registry.wait(sent, timeout=60, on_status=lambda *a: None)
    finally:
        registry.close()

    good = tmp_path / "good" / "v1.0.0.zip"
    good.parent.mkdir()
    create_zip(good, MODULE, "v1.0.0", [DataFile("go.mod", f"module {MODULE}\n".encode()),
                                        DataFile("hello.go", b"package hello\n")])
    code, doc, err = push(capsys, str(good))
    assert code == ExitCode.OK, err
    assert doc["status"] == "published" and "failed to process (never served)" in err
    info = go.download(MODULE, "v1.0.0", GOPROXY=client_env, GOSUMDB="off",
                       NO_PROXY="127.0.0.1")
    assert info["Sum"] == doc["sum"]
