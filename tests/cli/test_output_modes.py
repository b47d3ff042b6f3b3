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


def test_a_reader_closing_stdout_ends_gopush_quietly(tmp_path) -> None:
    """`gopush check BIG.zip | head -1`: once the reader is gone, gopush stops with 141
    (128 + SIGPIPE, what shells report) and no "unexpected" error or traceback."""
    import os
    import subprocess
    import sys

    from gopush.modzip.create import create_zip
    from gopush.modzip.files import DataFile

    zip_path = tmp_path / "v1.0.0.zip"
    files = [DataFile("go.mod", b"module example.com/many\n")]
    files += [DataFile(f"pkg/file_{n:05d}.go", b"package pkg\n") for n in range(6000)]
    create_zip(zip_path, "example.com/many", "v1.0.0", files)
    env = {**os.environ, "CI": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gopush", "check", str(zip_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(100)  # like head: read a little, then go away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "unexpected" not in err and "Traceback" not in err and "Exception" not in err


def test_the_readme_exit_141_example_exits_141(tmp_path) -> None:
    """The README's example for exit 141, run as written by a shell (BIG.zip: a zip of 6,000
    files), exits 141; gopush's status is the pipeline's first."""
    import os
    import re
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    from gopush.modzip.create import create_zip
    from gopush.modzip.files import DataFile

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| 141 |"))
    example = re.search(r"`(gopush [^`]*)`", row).group(1).replace("\\|", "|")
    big = tmp_path / "BIG.zip"
    files = [DataFile("go.mod", b"module example.com/many\n")]
    files += [DataFile(f"pkg/file_{n:05d}.go", b"package pkg\n") for n in range(6000)]
    create_zip(big, "example.com/many", "v1.0.0", files)
    gopush = f"{shlex.quote(sys.executable)} -m gopush"
    script = example.replace("gopush ", f"{gopush} ", 1) + '; echo "status=${PIPESTATUS[0]}"'
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=False,
                          env={**os.environ, "CI": "1"})
    assert done.stdout.splitlines()[-1] == "status=141", (example, done.stderr)
