"""Generate a large Go vulnerability database (vuln.go.dev layout) for the audit benchmark.

The real database (golang/vulndb, August 2026) holds 4,291 entries over 1,373 modules
(6,125 ``affected`` items: 168 for ``stdlib``, 32 for ``toolchain``). This writes one of
``--entries`` entries (default 5,000) in the same proportions: about 1.4 affected modules
per entry, 3 % ``stdlib`` and 0.5 % ``toolchain`` items, the rest over ``--entries * 0.32``
modules ``github.com/vulnbench/mNNNN``. The range shapes are the real ones: introduced "0"
and one fix (most), a fix per release branch, introduced later, no fix, pseudo-version and
``+incompatible`` fixes, prereleases; 0 to 3 affected packages (none: the whole module);
summaries and details of real length (an entry is about 1.2 kB, as published). Deterministic
for a given ``--seed``; written by the same code as the test database
(scripts/vulndb_testdata.py: indexes, compact JSON).

``requirements(n)`` gives ``n`` (module, version) pairs for a go.mod: the database's modules,
at versions some of whose entries affect and some not.

Run:  python benchmarks/vulndb_gen.py OUT [--entries 5000] [--seed 12]
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from vulndb_testdata import rfc3339, write_db

STDLIB_SHARE = 0.03
TOOLCHAIN_SHARE = 0.005
MODULES_PER_ENTRY = 0.32  # 1,373 modules for 4,291 entries
SECOND_MODULE = 0.4  # 6,125 affected items for 4,291 entries
STD_PACKAGES = ["net/http", "crypto/tls", "crypto/x509", "encoding/xml", "archive/zip",
                "math/big", "net/url", "html/template", "os/exec", "path/filepath"]
WORDS = ["denial", "of", "service", "via", "crafted", "input", "in", "the", "parser",
         "allows", "an", "attacker", "to", "cause", "excessive", "memory", "use", "when",
         "handling", "requests", "with", "untrusted", "headers", "path", "traversal",
         "improper", "validation", "certificates", "leads", "authentication", "bypass"]


def module_path(j: int) -> str:
    return f"github.com/vulnbench/m{j:04d}"


def module_count(entries: int) -> int:
    return max(1, int(entries * MODULES_PER_ENTRY))


def generate(out: Path, *, entries: int = 5000, seed: int = 12) -> list[str]:
    """Write the database under ``out``; return its module paths (not stdlib/toolchain)."""
    rng = random.Random(seed)
    modules = [module_path(j) for j in range(module_count(entries))]
    docs = [_entry(rng, i, entries, modules) for i in range(entries)]
    write_db(out, docs)
    return modules


def requirements(n: int = 300, *, entries: int = 5000) -> list[tuple[str, str]]:
    """Return ``n`` requirements on the database's modules (the first ``n``), at v1.4.N:
    below the most common fixes (v1.5.x), so about half of their entries affect them."""
    return [(module_path(j), f"v1.4.{j % 7}") for j in range(min(n, module_count(entries)))]


def _entry(rng: random.Random, i: int, total: int, modules: list[str]) -> dict:
    year = 2020 + i * 7 // total
    published = datetime(year, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(364 * 86400))
    modified = published + timedelta(seconds=rng.randrange(400 * 86400))
    cve = f"CVE-{year}-{rng.randrange(1000, 99999)}"
    ghsa = "GHSA-" + "-".join("".join(rng.choice("23456789cfghjmpqrvwx") for _ in range(4))
                              for _ in range(3))
    affected = [_affected(rng, _first_module(rng, i, modules))]
    if rng.random() < SECOND_MODULE:
        second = rng.choice(modules)
        if second != affected[0]["package"]["name"]:
            affected.append(_affected(rng, second))
    summary = " ".join(rng.choice(WORDS) for _ in range(8)).capitalize()
    details = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(40, 110))).capitalize()
    return {"schema_version": "1.3.1", "id": f"GO-{year}-{i:04d}",
            "modified": rfc3339(min(modified, datetime(2026, 8, 20, tzinfo=UTC))),
            "published": rfc3339(published), "aliases": [cve, ghsa],
            "summary": f"{summary} in {affected[0]['package']['name']}", "details": details,
            "affected": affected,
            "references": [{"type": "ADVISORY", "url": f"https://github.com/advisories/{ghsa}"}],
            "database_specific": {"url": f"https://pkg.go.dev/vuln/GO-{year}-{i:04d}",
                                  "review_status": "REVIEWED"}}


def _first_module(rng: random.Random, i: int, modules: list[str]) -> str:
    draw = rng.random()
    if draw < STDLIB_SHARE:
        return "stdlib"
    if draw < STDLIB_SHARE + TOOLCHAIN_SHARE:
        return "toolchain"
    return modules[i % len(modules)]


def _affected(rng: random.Random, module: str) -> dict:
    if module in ("stdlib", "toolchain"):
        minor = rng.randrange(10, 26)
        events = [{"introduced": "0"}, {"fixed": f"1.{minor}.{rng.randrange(1, 12)}"},
                  {"introduced": f"1.{minor + 1}.0-0"},
                  {"fixed": f"1.{minor + 1}.{rng.randrange(1, 8)}"}]
        packages = ["cmd/go"] if module == "toolchain" else rng.sample(STD_PACKAGES, 1)
    else:
        events = _events(rng)
        packages = [f"{module}/{p}" for p in rng.sample(["", "api", "internal/codec", "server",
                                                          "client"], rng.randrange(0, 4))]
        packages = [p.rstrip("/") for p in packages]
    specific = {"imports": [{"path": p, "symbols": ["Parse", "Handler.ServeHTTP"]}
                            for p in packages]} if packages else {}
    return {"package": {"name": module, "ecosystem": "Go"},
            "ranges": [{"type": "SEMVER", "events": events}], "ecosystem_specific": specific}


def _events(rng: random.Random) -> list[dict]:
    """One of the real range shapes, drawn with their rough real frequencies."""
    patch = rng.randrange(0, 9)
    shape = rng.random()
    if shape < 0.55:
        return [{"introduced": "0"}, {"fixed": f"1.5.{patch}"}]
    if shape < 0.70:
        return [{"introduced": "0"}, {"fixed": f"1.3.{patch}"},
                {"introduced": "1.4.0"}, {"fixed": f"1.5.{patch}"}]
    if shape < 0.78:
        return [{"introduced": f"1.{rng.randrange(2, 5)}.0"}, {"fixed": f"1.6.{patch}"}]
    if shape < 0.84:
        return [{"introduced": "0"}]
    if shape < 0.90:
        stamp = f"2024{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}101010"
        return [{"introduced": "0"},
                {"fixed": f"1.5.1-0.{stamp}-{rng.randrange(16**12):012x}"}]
    if shape < 0.95:
        return [{"introduced": "0"}, {"fixed": f"{rng.randrange(2, 9)}.1.{patch}+incompatible"}]
    return [{"introduced": "0"}, {"fixed": f"1.5.0-rc.{rng.randrange(1, 4)}"}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    modules = generate(args.out, entries=args.entries, seed=args.seed)
    print(f"wrote {args.entries} entries over {len(modules)} modules (and stdlib, toolchain) "
          f"to {args.out}")


if __name__ == "__main__":
    main()
