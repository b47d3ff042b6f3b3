"""vuln.scan: requirements from go.mod, findings from entries whose facts are published ones.

Every ``Entry`` below carries the id, aliases, modules, range events and packages of a real
advisory of the Go vulnerability database (golang/vulndb ``data/osv/<ID>.json``); only the
summaries are shortened.
"""

from __future__ import annotations

import dataclasses

import pytest

from gopush.gosem import gomod
from gopush.vuln.osv import Affected, Entry, Event
from gopush.vuln.scan import Finding, Requirement, Requirements, requirements, scan


def ev(*pairs: str) -> tuple[Event, ...]:
    kinds = {"i": "introduced", "f": "fixed"}
    return tuple(Event(kinds[k], v) for k, v in zip(pairs[::2], pairs[1::2], strict=True))


def entry(id_: str, aliases: tuple[str, ...], summary: str, *affected: Affected,
          withdrawn: str = "") -> Entry:
    return Entry(id_, "2024-01-01T00:00:00Z", aliases, summary, affected, withdrawn)


GO_2022_0969 = entry(
    "GO-2022-0969", ("CVE-2022-27664", "GHSA-69cg-p879-7622"),
    "Denial of service in net/http and golang.org/x/net/http2",
    Affected("stdlib", (ev("i", "0", "f", "1.18.6", "i", "1.19.0-0", "f", "1.19.1"),),
             ("net/http",)),
    Affected("golang.org/x/net", (ev("i", "0", "f", "0.0.0-20220906165146-f3363e06e74c"),),
             ("golang.org/x/net/http2",)))
GO_2023_1571 = entry(
    "GO-2023-1571", ("CVE-2022-41723", "GHSA-vvpx-j8f3-3w6h"),
    "Denial of service via crafted HTTP/2 stream in net/http and golang.org/x/net",
    Affected("stdlib", (ev("i", "0", "f", "1.19.6", "i", "1.20.0-0", "f", "1.20.1"),),
             ("net/http",)),
    Affected("golang.org/x/net", (ev("i", "0", "f", "0.7.0"),),
             ("golang.org/x/net/http2", "golang.org/x/net/http2/hpack")))
GO_2023_2102 = entry(
    "GO-2023-2102", ("CVE-2023-39325", "GHSA-4374-p667-p6c8"),
    "HTTP/2 rapid reset can cause excessive work in net/http",
    Affected("stdlib", (ev("i", "0", "f", "1.20.10", "i", "1.21.0-0", "f", "1.21.3"),),
             ("net/http",)),
    Affected("golang.org/x/net", (ev("i", "0", "f", "0.17.0"),), ("golang.org/x/net/http2",)))
GO_2020_0017 = entry(  # introduced later (at a pseudo-version), never fixed; v4 fixed at a prerelease
    "GO-2020-0017", ("CVE-2020-26160", "GHSA-w73w-5m7g-f7qc"),
    "Authorization bypass in github.com/dgrijalva/jwt-go",
    Affected("github.com/dgrijalva/jwt-go", (ev("i", "0.0.0-20150717181359-44718f8a89b0"),),
             ("github.com/dgrijalva/jwt-go",)),
    Affected("github.com/dgrijalva/jwt-go/v4", (ev("i", "0", "f", "4.0.0-preview1"),),
             ("github.com/dgrijalva/jwt-go/v4",)))
GO_2020_0005 = entry(  # fixed at a pseudo-version built on a prerelease
    "GO-2020-0005", ("CVE-2020-15106", "CVE-2020-15112", "GHSA-m332-53r6-2w93",
                     "GHSA-p4g4-wgrh-qrg2"),
    "Panic due to malformed WALs in go.etcd.io/etcd",
    Affected("go.etcd.io/etcd",
             (ev("i", "0", "f", "0.5.0-alpha.5.0.20200423152442-f4b650b51dc4"),),
             ("go.etcd.io/etcd/wal",)))
GO_2021_0064 = entry(  # fixed at a prerelease
    "GO-2021-0064", ("CVE-2020-8565", "GHSA-8cfg-vx93-jvxw"),
    "Unauthorized credential disclosure via debug logs in k8s.io/client-go",
    Affected("k8s.io/client-go", (ev("i", "0", "f", "0.20.0-alpha.2"),),
             ("k8s.io/client-go/transport",)))
GO_2022_0249 = entry(  # no packages listed: the whole module
    "GO-2022-0249", ("CVE-2021-3908", "GHSA-g5gj-9ggf-9vmq"),
    "Infinite certificate chain depth results in OctoRPKI running forever",
    Affected("github.com/cloudflare/cfrpki", (ev("i", "0", "f", "1.4.0"),), ()))
GO_2022_0617 = entry(  # withdrawn
    "GO-2022-0617", ("CVE-2020-8562", "GHSA-qh36-44jv-c8xj"),
    "WITHDRAWN: Potential proxy IP restriction bypass in Kubernetes",
    Affected("k8s.io/kubernetes", (ev("i", "0"),), ()), withdrawn="2024-08-21T16:25:56Z")
GO_2026_6179 = entry(  # the go command (toolchain), fixed at a release candidate
    "GO-2026-6179", ("CVE-2026-56865",),
    "Fix transparency log tile verification bypass in golang.org/x/mod/sumdb/tlog",
    Affected("toolchain", (ev("i", "0", "f", "1.25.13", "i", "1.26.0-0", "f", "1.26.6",
                              "i", "1.27.0-0", "f", "1.27.0-rc.3"),), ("cmd/go",)),
    Affected("golang.org/x/mod", (ev("i", "0", "f", "0.40.0"),),
             ("golang.org/x/mod/sumdb/tlog",)))

ALL = [GO_2022_0969, GO_2023_1571, GO_2023_2102, GO_2020_0017, GO_2020_0005, GO_2021_0064,
       GO_2022_0249, GO_2022_0617, GO_2026_6179]


def reqs(go: str, **modules: str) -> Requirements:
    return Requirements(tuple(Requirement(m, v) for m, v in modules.items()), go, False)


def one(findings: list[Finding], id_: str, module: str) -> Finding:
    [found] = [f for f in findings if f.id == id_ and f.module == module]
    return found


def test_pseudo_version_and_stdlib_with_imports() -> None:
    r = Requirements((Requirement("golang.org/x/net", "v0.0.0-20220805012838-04ec6d6a5ef8"),),
                     "1.19", False)
    findings = scan(r, ["net/http", "golang.org/x/net/http2", "fmt"], [GO_2022_0969])
    assert findings == [
        Finding("GO-2022-0969", ("CVE-2022-27664", "GHSA-69cg-p879-7622"), "golang.org/x/net",
                "v0.0.0-20220805012838-04ec6d6a5ef8", "v0.0.0-20220906165146-f3363e06e74c",
                GO_2022_0969.summary, True, ("golang.org/x/net/http2",)),
        Finding("GO-2022-0969", ("CVE-2022-27664", "GHSA-69cg-p879-7622"), "stdlib",
                "v1.19.0", "v1.19.1", GO_2022_0969.summary, True, ("net/http",)),
    ]


def test_fixed_versions_are_not_findings() -> None:
    r = Requirements((Requirement("golang.org/x/net", "v0.0.0-20220906165146-f3363e06e74c"),),
                     "1.18.6", False)
    assert scan(r, ["net/http", "golang.org/x/net/http2"], [GO_2022_0969]) == []


def test_only_required_not_imported() -> None:
    [found] = scan(reqs("", **{"golang.org/x/net": "v0.16.0"}), ["fmt"], [GO_2023_2102])
    assert (found.imported, found.fixed, found.packages) == (
        False, "v0.17.0", ("golang.org/x/net/http2",))


def test_a_sibling_package_is_not_the_affected_one() -> None:
    r = reqs("", **{"go.etcd.io/etcd": "v0.5.0-alpha.5.0.20200306183522-221f0cc107cb"})
    [sibling] = scan(r, ["go.etcd.io/etcd/raft"], [GO_2020_0005])
    [direct] = scan(r, ["go.etcd.io/etcd/wal"], [GO_2020_0005])
    assert (sibling.imported, direct.imported) == (False, True)
    assert direct.fixed == "v0.5.0-alpha.5.0.20200423152442-f4b650b51dc4"
    # etcd 3.3's +incompatible tags are above the published fix, so they are not affected
    assert scan(reqs("", **{"go.etcd.io/etcd": "v3.3.22+incompatible"}),
                ["go.etcd.io/etcd/wal"], [GO_2020_0005]) == []


def test_one_affected_package_of_several_imported() -> None:
    [found] = scan(reqs("", **{"golang.org/x/net": "v0.6.0"}), ["golang.org/x/net/http2/hpack"],
                   [GO_2023_1571])
    assert found.imported and found.packages == ("golang.org/x/net/http2",
                                                 "golang.org/x/net/http2/hpack")


def test_introduced_later_and_incompatible() -> None:
    jwt = "github.com/dgrijalva/jwt-go"
    [found] = scan(reqs("", **{jwt: "v3.2.0+incompatible"}), [jwt], [GO_2020_0017])
    assert (found.version, found.fixed, found.imported) == ("v3.2.0+incompatible", "", True)
    before = "v0.0.0-20150101000000-aaaaaaaaaaaa"  # older than the introducing commit
    assert scan(reqs("", **{jwt: before}), [jwt], [GO_2020_0017]) == []


@pytest.mark.parametrize(("version", "affected"), [
    ("v4.0.0-20190408214815-ec042acef7ba", True),  # a pseudo-version before the first tag
    ("v4.0.0-preview1", False),
])
def test_fixed_at_a_prerelease(version: str, affected: bool) -> None:
    found = scan(reqs("", **{"github.com/dgrijalva/jwt-go/v4": version}), [], [GO_2020_0017])
    assert bool(found) is affected
    assert all(f.fixed == "v4.0.0-preview1" for f in found)


@pytest.mark.parametrize(("version", "affected"), [
    ("v0.19.5", True), ("v0.20.0-alpha.1", True), ("v0.20.0-alpha.2", False), ("v0.20.0", False),
])
def test_prerelease_versions(version: str, affected: bool) -> None:
    found = scan(reqs("", **{"k8s.io/client-go": version}), ["k8s.io/client-go/transport"],
                 [GO_2021_0064])
    assert bool(found) is affected


def test_no_packages_means_the_whole_module() -> None:
    mod = "github.com/cloudflare/cfrpki"
    r = reqs("", **{mod: "v1.3.0"})
    [used] = scan(r, [mod + "/validator/lib"], [GO_2022_0249])
    [unused] = scan(r, ["github.com/cloudflare/cfrpkix"], [GO_2022_0249])
    assert (used.imported, unused.imported, used.packages, used.fixed) == (
        True, False, (mod,), "v1.4.0")
    # an import inside a longer required module belongs to that module, not to cfrpki
    r2 = reqs("", **{mod: "v1.3.0", mod + "/sub": "v1.0.0"})
    [nested] = scan(r2, [mod + "/sub/x"], [GO_2022_0249])
    assert nested.imported is False


def test_withdrawn_entries_are_ignored() -> None:
    assert scan(reqs("1.21", **{"k8s.io/kubernetes": "v1.20.0"}), ["k8s.io/kubernetes/pkg"],
                [GO_2022_0617]) == []


@pytest.mark.parametrize(("go", "affected", "fixed"), [
    ("1.27rc2", True, "v1.27.0-rc.3"),
    ("1.27rc3", False, ""),
    ("1.26.5", True, "v1.26.6"),
    ("1.25", True, "v1.25.13"),
    ("1.27.0", False, ""),
])
def test_toolchain_against_the_go_line(go: str, affected: bool, fixed: str) -> None:
    found = [f for f in scan(reqs(go), ["os"], [GO_2026_6179]) if f.module == "toolchain"]
    assert bool(found) is affected
    assert all((f.fixed, f.imported) == (fixed, False) for f in found)


def test_without_a_go_line_stdlib_is_not_checked() -> None:
    assert scan(reqs(""), ["net/http"], [GO_2022_0969, GO_2026_6179]) == []
    # a go.mod cannot require "stdlib": only the go line gives its version
    assert scan(reqs("", stdlib="v1.18.0"), ["net/http"], [GO_2022_0969]) == []


def test_findings_sorted_by_module_then_id() -> None:
    r = reqs("1.19", **{"golang.org/x/net": "v0.0.0-20220805012838-04ec6d6a5ef8",
                        "k8s.io/client-go": "v0.19.0", "golang.org/x/mod": "v0.30.0"})
    found = scan(r, [], list(reversed(ALL)) + ALL)  # duplicates counted once
    assert [(f.module, f.id) for f in found] == [
        ("golang.org/x/mod", "GO-2026-6179"),
        ("golang.org/x/net", "GO-2022-0969"),
        ("golang.org/x/net", "GO-2023-1571"),
        ("golang.org/x/net", "GO-2023-2102"),
        ("k8s.io/client-go", "GO-2021-0064"),
        ("stdlib", "GO-2022-0969"),
        ("stdlib", "GO-2023-1571"),
        ("stdlib", "GO-2023-2102"),
        ("toolchain", "GO-2026-6179"),
    ]


def test_fix_over_all_items_of_one_module() -> None:
    # GO-2022-0969's stdlib ranges split over two items of one entry: the fix must hold for both
    split = entry("GO-2022-0969", (), "split",
                  Affected("stdlib", (ev("i", "0", "f", "1.18.6"),), ("net/http",)),
                  Affected("stdlib", (ev("i", "1.19.0-0", "f", "1.19.1"),), ("net/http",)))
    [found] = scan(reqs("1.18"), [], [split])
    assert found.fixed == "v1.18.6" and found.packages == ("net/http",)
    whole = entry("GO-X", (), "x", Affected("stdlib", (ev("i", "0", "f", "1.18.6"),), ()),
                  Affected("stdlib", (), ("net/http",)))
    [found] = scan(reqs("1.18"), ["os"], [whole])
    assert (found.fixed, found.imported) == ("", True)  # one item affects every version


# ---- requirements --------------------------------------------------------------------

GO_MOD = b"""module example.com/app

go 1.21

require (
	golang.org/x/net v0.16.0
	golang.org/x/text v0.3.7 // indirect
	github.com/old/lib v1.2.0
	example.com/local v0.1.0
	example.com/pinned v1.0.0
	example.com/twice v1.1.0
)

require example.com/twice v1.3.0

replace github.com/old/lib => github.com/new/lib v1.4.1
replace example.com/local => ../local
replace example.com/pinned v0.9.0 => example.com/other v0.9.9
replace example.com/pinned v1.0.0 => example.com/fork v1.0.1
replace example.com/pinned => example.com/every v2.0.0+incompatible
"""


def test_requirements_apply_replacements() -> None:
    """Replacements applied (the module's own build), and the requirements as written
    (what its users build with: go ignores a dependency's replace directives)."""
    got = requirements(gomod.parse(GO_MOD))
    assert got == Requirements(
        (Requirement("example.com/fork", "v1.0.1"),  # the versioned replacement wins
         Requirement("example.com/local", "v0.1.0"),  # a directory: the required version
         Requirement("example.com/pinned", "v1.0.0"),  # as written
         Requirement("example.com/twice", "v1.3.0"),  # the higher of the two
         Requirement("github.com/new/lib", "v1.4.1"),
         Requirement("github.com/old/lib", "v1.2.0"),  # as written
         Requirement("golang.org/x/net", "v0.16.0"),
         Requirement("golang.org/x/text", "v0.3.7")),
        "1.21", False)


GO_2022_1059 = entry(
    "GO-2022-1059", ("CVE-2022-32149", "GHSA-69ch-w2m2-3vjp"),
    "Denial of service via crafted Accept-Language header in golang.org/x/text/language",
    Affected("golang.org/x/text", (ev("i", "0", "f", "0.3.8"),),
             ("golang.org/x/text/language",)))


def test_a_replacement_by_the_fixed_version_hides_nothing() -> None:
    """go.mod requires golang.org/x/text v0.3.7 (GO-2022-1059) and replaces it by v0.3.8:
    every module requiring this one builds with v0.3.7, so the finding stands, at v0.3.7;
    the replacement itself is not affected."""
    text = (b"module example.com/app\n\ngo 1.22\n\nrequire golang.org/x/text v0.3.7\n\n"
            b"replace golang.org/x/text v0.3.7 => golang.org/x/text v0.3.8\n")
    reqs = requirements(gomod.parse(text))
    assert {(r.module, r.version) for r in reqs.modules} == {
        ("golang.org/x/text", "v0.3.7"), ("golang.org/x/text", "v0.3.8")}
    found = scan(reqs, ["golang.org/x/text/language"], [GO_2022_1059])
    assert [(f.id, f.version, f.fixed, f.imported) for f in found] == [
        ("GO-2022-1059", "v0.3.7", "v0.3.8", True)]


@pytest.mark.parametrize(("go_line", "partial"), [
    ("go 1.16\n", True), ("go 1.17\n", False), ("go 1.21rc1\n", False), ("", True),
])
def test_requirements_partial_before_go_1_17(go_line: str, partial: bool) -> None:
    got = requirements(gomod.parse(b"module m\n" + go_line.encode()))
    assert got.partial is partial and got.modules == ()


class _CountedReplaces(tuple):  # type: ignore[type-arg]
    """A go.mod's replace directives that count how often they are walked."""

    walks = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        type(self).walks += 1
        return super().__iter__()


def test_requirements_read_the_replacements_once() -> None:
    """A go.mod of 3,000 requirements, each replaced (a hostile zip can hold 16 MiB of
    them): the replacements are walked once, not once per requirement (10,000 of each
    took 6.6 s, quadratically more with more), and each applies as before."""
    n = 3000
    text = "module example.com/big\n\ngo 1.22\n\n" + "".join(
        f"require example.com/m{i} v1.0.{i}\n" for i in range(n)) + "".join(
        f"replace example.com/m{i} => example.com/r{i} v2.0.{i}\n" for i in range(n))
    parsed = gomod.parse(text.encode())
    counted = dataclasses.replace(parsed, replace=_CountedReplaces(parsed.replace))
    reqs = requirements(counted)
    assert _CountedReplaces.walks <= 1
    assert len(reqs.modules) == 2 * n  # as written, and replaced
    assert Requirement("example.com/r7", "v2.0.7") in reqs.modules


def test_a_module_requiring_itself_is_not_a_requirement() -> None:
    """golang.org/x/text's go.mod requiring golang.org/x/text v0.3.7: go builds the module
    at its own version (`go list -m all` in such a checkout lists only the module), so no
    finding says to upgrade it to v0.3.8."""
    text = (b"module golang.org/x/text\n\ngo 1.22\n\nrequire (\n\tgolang.org/x/text v0.3.7\n"
            b"\tgolang.org/x/net v0.16.0\n)\n")
    reqs = requirements(gomod.parse(text))
    assert reqs.modules == (Requirement("golang.org/x/net", "v0.16.0"),)
    assert scan(reqs, ["golang.org/x/text/language"], [GO_2022_1059]) == []
