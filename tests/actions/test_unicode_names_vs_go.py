"""File names with the runes Python's Unicode lacks, judged by the real go.

x/mod lets a file name hold any rune Go's ``unicode.IsLetter`` accepts, by the Unicode tables
of the go release (go1.27: Unicode 17), while Python's ``str.isalpha`` knows only the
interpreter's (3.11: Unicode 14). From the runes where the two disagree (Go's side printed
by scripts/unicodetables/main.go) a fixed-seed sample, spread over the runs of the
difference, goes into one git repository, one rune per tag, with a few runes new to Python
that are printable but no letters (go refuses them, quoting them unescaped).
``go mod download -json`` judges every tag in one run; gopush must give go's verdict for
each: go's hashes from its build and from ``check_zip`` of go's own zip, or go's error text.
"""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import pytest
from gen_unicode_tables import GoTables
from gitrepo import GitRepo
from gotool import GoOracle

from gopush.actions.build import BuildRequest, build
from gopush.errors import GopushError
from gopush.modzip.check import check_zip
from gopush.ui.base import NullReporter

MODULE = "github.com/acme/letters"
SAMPLE_SIZE = 40  # letters go accepts
REFUSED_SAMPLE_SIZE = 8  # printable non-letters go refuses
SEED = 11  # issue 11: the sample is the same on every run


def members(bounds: tuple[int, ...]) -> set[int]:
    """Return the code points in a table of half-open range bounds."""
    return {cp for start, end in zip(bounds[::2], bounds[1::2], strict=True)
            for cp in range(start, end)}


def differing_runes(go_set: set[int], python_says: str) -> list[int]:
    """Return the code points where ``str.<python_says>()`` and Go's ``go_set`` differ."""
    return [cp for cp in range(0x110000) if (cp in go_set) != getattr(chr(cp), python_says)()]


def runs(code_points: list[int]) -> list[range]:
    """Group sorted code points into runs of consecutive ones."""
    out: list[range] = []
    for cp in code_points:
        if out and out[-1].stop == cp:
            out[-1] = range(out[-1].start, cp + 1)
        else:
            out.append(range(cp, cp + 1))
    return out


def spread_sample(code_points: list[int], n: int, seed: int) -> list[int]:
    """Pick ``n`` code points (all if fewer), from as many different runs as possible."""
    rng = random.Random(seed)
    order = rng.sample(runs(code_points), len(runs(code_points)))
    picked: set[int] = set()
    while len(picked) < min(n, len(code_points)):
        for run in order:
            if len(picked) < n:
                picked.add(rng.choice(run))
    return sorted(picked)


def download_all(go: GoOracle, versions: list[str]) -> dict[str, dict]:
    """Run one ``go mod download -json`` for every version; return go's document per version
    (a refused version's document carries ``Error``)."""
    proc = go.run(["mod", "download", "-json", *(f"{MODULE}@{v}" for v in versions)])
    docs, text, decoder = {}, proc.stdout.strip(), json.JSONDecoder()
    while text:
        doc, end = decoder.raw_decode(text)
        docs[doc["Version"]] = doc
        text = text[end:].lstrip()
    assert set(docs) == set(versions), proc.stderr
    return docs


def test_runes_unknown_to_python_in_file_names(go: GoOracle, tmp_path: Path,
                                              go_unicode_tables: GoTables) -> None:
    """Every sampled rune: gopush builds what go builds, with go's h1: and /go.mod h1:, and
    checks go's own zip as valid with the same h1:; or refuses with go's error text."""
    if unicodedata.unidata_version == go_unicode_tables.unicode_version:
        pytest.skip(f"this Python has go's Unicode {unicodedata.unidata_version}: no difference")
    letters = members(go_unicode_tables.letter)
    new_letters = differing_runes(letters, "isalpha")
    new_others = [cp for cp in differing_runes(members(go_unicode_tables.print), "isprintable")
                  if cp not in letters]
    sample = (spread_sample(new_letters, SAMPLE_SIZE, SEED)
              + spread_sample(new_others, REFUSED_SAMPLE_SIZE, SEED))
    assert len(sample) == SAMPLE_SIZE + REFUSED_SAMPLE_SIZE

    repo = GitRepo(tmp_path / "letters")
    repo.commit(files={"go.mod": f"module {MODULE}\n\ngo 1.21\n", "letters.go": "package l\n"})
    versions = {}
    for i, cp in enumerate(sample):
        for old in repo.path.glob("name-*.txt"):
            old.unlink()
        repo.commit(files={f"name-{chr(cp)}.txt": f"U+{cp:04X}\n"})
        versions[cp] = f"v1.0.{i}"
        repo.tag(versions[cp])
    go.map_repo(repo.path, f"https://{MODULE}")
    verdicts = download_all(go, list(versions.values()))

    refused = 0
    for cp, version in versions.items():
        rune, want = f"U+{cp:04X} {chr(cp)!r}", verdicts[version]
        try:
            got = build(BuildRequest(repo=repo.path, rev=version, out=tmp_path / version),
                        NullReporter())
        except GopushError as exc:
            assert "Error" in want, f"{rune}: gopush refused what go accepts: {exc}"
            # go's -json error leaves out the MODULE@VERSION prefix its other messages have
            assert str(exc) == f"{MODULE}@{version}: {want['Error']}", rune
            refused += 1
            continue
        assert "Error" not in want, f"{rune}: gopush accepted what go refuses: {want['Error']}"
        assert (got.version, got.sum, got.gomod_sum) == (
            want["Version"], want["Sum"], want["GoModSum"]), rune
        checked = check_zip(want["Zip"], MODULE, version)
        assert (checked.report.error(), checked.sum) == (None, want["Sum"]), rune
    assert refused == sum(cp not in letters for cp in sample)  # exactly go's non-letters
