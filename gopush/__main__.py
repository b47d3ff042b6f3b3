"""`python -m gopush` and the `gopush` console script: load the command-line interface, run it.

Loading the interface (click, then the command's modules) takes a noticeable part of a
second; a Ctrl-C in that time exits 130 with one line, like a Ctrl-C later on, instead of
a traceback from the import machinery.
"""

import sys


def run() -> int:
    """Import and run the CLI; return the process exit code."""
    try:
        from gopush.cli.main import main
    except KeyboardInterrupt:
        from gopush.errors import ExitCode

        print("\ninterrupted (nothing was done yet)", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    return main()


if __name__ == "__main__":
    sys.exit(run())
