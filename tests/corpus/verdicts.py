"""Print the corpus as a table: case, go's verdict (from go_answers.json), gopush's verdict.

    .venv/bin/python tests/corpus/verdicts.py [CASE ...]

Builds the repositories in a temporary directory and runs ``gopush build`` on each, and
judges as the test does (``agrees``: same version and hashes, or exit 4 with go's reason);
go's answers come from the cache (run the test first to refresh them).
"""

from __future__ import annotations

import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

from corpus_builder import build_repo
from corpus_cases import CASES
from test_corpus_vs_go import ANSWERS, Built, disagreement, run_gopush


def verdict_of_go(answer: dict) -> str:
    """Return go's verdict in one short cell."""
    return answer["version"] if answer["ok"] else "refuses: " + answer["error"][-90:]


def verdict_of_gopush(code: int, doc: dict) -> str:
    """Return gopush's verdict in one short cell."""
    if code == 0:
        return f"{doc['version']} {doc['sum'][:12]}…"
    message = doc.get("error", {}).get("message", str(doc))
    return f"exit {code}: {message[-90:]}"


def main(names: list[str]) -> None:
    """Print the table for ``names`` (every case when empty)."""
    answers = json.loads(ANSWERS.read_text())
    cases = [c for c in CASES if not names or c.name in names]
    with tempfile.TemporaryDirectory() as top:
        built = []
        for case in cases:
            root = case.vanity or f"github.com/corpus/{case.name}"
            names_ = build_repo(case, Path(top) / case.name, root)
            built.append(Built(case, Path(top) / case.name, {**names_, "root": root}))
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(lambda b: run_gopush(b, Path(top) / "out" / b.case.name,
                                                      subprocess_=True), built))
    print("| case | point | go | gopush | agrees |")
    print("|---|---|---|---|---|")
    for item, (code, doc) in zip(built, runs, strict=True):
        want = answers[item.case.name]
        same = disagreement(item, want, code, doc) is None
        print(f"| {item.case.name} | {item.case.point or ''} | {verdict_of_go(want)} | "
              f"{verdict_of_gopush(code, doc)} | {'yes' if same else 'NO'} |")

if __name__ == "__main__":
    main(sys.argv[1:])
