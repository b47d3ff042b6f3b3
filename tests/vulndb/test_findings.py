"""Must show (issue 12): findings from the test database of real advisories, read through
``file://`` and through a loopback HTTP server with gzip, are right for every kind of version
and range, and ``imported`` is right for a module that imports an affected package, one that
only requires it (and imports it only from a test, testdata/ or vendor/), and one that
imports a sibling package of the same module.

The expected findings below are read off the published advisories (tests/vulndb/data, facts
as golang/vulndb publishes them; scripts/vulndb_testdata.py says which case each stands for).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vulndb_server import DATA

from gopush.gosem import gomod
from gopush.modzip.files import DataFile
from gopush.vuln.db import open_db
from gopush.vuln.ownfiles import imports_of_files
from gopush.vuln.scan import requirements, scan

GO_MOD = b"""module example.com/app

go 1.21.2

require (
	github.com/dgrijalva/jwt-go v3.2.0+incompatible
	github.com/dgrijalva/jwt-go/v4 v4.0.0-preview1
	github.com/docker/distribution v2.7.0-beta.1+incompatible
	github.com/docker/docker v20.10.13+incompatible
	github.com/ory/oathkeeper v0.38.0-beta.1
	golang.org/x/crypto v0.0.0-20220112180741-5e0467b6c7ce
	golang.org/x/net v0.50.0
	golang.org/x/text v0.3.7
	k8s.io/kubernetes v1.20.0
)
"""

# (id, module, version, fixed): every finding GO_MOD has, whatever the module imports.
# Not found, and why: jwt-go/v4 at v4.0.0-preview1 (= the prerelease fix, GO-2020-0017);
# oathkeeper v0.38.0-beta.1 (below the prerelease that introduced GO-2022-0406); x/crypto
# GO-2022-0229 (fixed at an earlier pseudo-version); x/net GO-2023-1495 (introduced later, at
# a pseudo-version, and fixed below v0.50.0), GO-2023-2102, -1988, -1571, GO-2022-0969 (fixed
# below); x/text GO-2021-0113 (fixed at v0.3.7 exactly), GO-2020-0015; stdlib GO-2022-0969,
# GO-2023-1571, GO-2022-0229 (fixed on the 1.21 line or below), GO-2021-0069 (introduced
# later, at 1.14.0-0, and fixed); k8s.io/kubernetes GO-2022-0617 (withdrawn).
FOUND = [
    # +incompatible, introduced at a pseudo-version, no fix
    ("GO-2020-0017", "github.com/dgrijalva/jwt-go", "v3.2.0+incompatible", ""),
    # prerelease +incompatible below a prerelease fix, and below a release fix
    ("GO-2021-0072", "github.com/docker/distribution", "v2.7.0-beta.1+incompatible",
     "v2.7.0-rc.0+incompatible"),
    ("GO-2022-0379", "github.com/docker/distribution", "v2.7.0-beta.1+incompatible",
     "v2.8.0+incompatible"),
    # no packages listed: the whole module
    ("GO-2022-0390", "github.com/docker/docker", "v20.10.13+incompatible",
     "v20.10.14+incompatible"),
    # a pseudo-version below a pseudo-version fix
    ("GO-2021-0356", "golang.org/x/crypto", "v0.0.0-20220112180741-5e0467b6c7ce",
     "v0.0.0-20220314234659-1baeb1ce4c0b"),
    # introduced later (0.50.0), the version at the introduction
    ("GO-2026-4559", "golang.org/x/net", "v0.50.0", "v0.51.0"),
    ("GO-2022-1059", "golang.org/x/text", "v0.3.7", "v0.3.8"),
    # the standard library and the go command, from the go line (1.21.2)
    ("GO-2023-2102", "stdlib", "v1.21.2", "v1.21.3"),
    ("GO-2026-5856", "stdlib", "v1.21.2", "v1.25.12"),
    ("GO-2026-6179", "toolchain", "v1.21.2", "v1.25.13"),
]

# Each module's own files, read as gopush audit reads them (vuln.ownfiles: non-test .go
# files outside testdata/, vendor/ and ./_ directories; vuln.imports reads their imports).
IMPORTS_AFFECTED = {
    "main.go": b"""// Command app serves HTTP/2.
package main

import (
	"fmt"
	"net/http" // the standard library's net/http: GO-2023-2102

	docker "github.com/docker/docker/client"
	"golang.org/x/net/http2"
)

func main() { fmt.Println(http.StatusOK, docker.DefaultDockerHost, http2.ClientPreface) }
""",
    "lang/lang.go": b"""package lang

import "golang.org/x/text/language"

var Default = language.English
""",
}
ONLY_REQUIRES = {
    "main.go": b"""package main

import "fmt"

func main() { fmt.Println("hello") }
""",
    "main_test.go": b"""package main

import (
	"testing"

	"golang.org/x/text/language" // a test: not built into the module's users
)

func TestLang(t *testing.T) { _ = language.English }
""",
    "testdata/gen.go": b'package gen\n\nimport _ "golang.org/x/net/http2"\n',
    "vendor/golang.org/x/net/http2/http2.go": b'package http2\n\nimport "net/http"\n',
}
IMPORTS_SIBLINGS = {
    "main.go": b"""package main

import (
	"net/url"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/net/html"
	norm "golang.org/x/text/unicode/norm"
	jwt "github.com/dgrijalva/jwt-go/v4"
)

func main() { _, _, _, _, _ = url.Parse, chacha20.KeySize, html.Parse, norm.NFC, jwt.New }
""",
}

# The findings imported by IMPORTS_AFFECTED: an affected package (x/net/http2, x/text/language,
# net/http) or, for an entry naming none, any package of the module (docker/docker/client).
IMPORTED = {"GO-2022-0390", "GO-2026-4559", "GO-2022-1059", "GO-2023-2102"}


@pytest.fixture(params=["file", "http-gzip"])
def db_url(request: pytest.FixtureRequest, vulndb_http) -> str:
    """The test database as ``file://`` and behind the loopback gzip server."""
    if request.param == "file":
        return DATA.as_uri()
    server = vulndb_http()
    request.node.server = server
    return server.url


def _findings(url: str, cache: Path, files: dict[str, bytes]) -> list[tuple]:
    db = open_db(url, cache)
    reqs = requirements(gomod.parse(GO_MOD))
    entries = db.entries_for(r.module for r in reqs.modules)
    return [(f.id, f.module, f.version, f.fixed, f.imported)
            for f in scan(reqs, _imports(files), entries)]


def _imports(files: dict[str, bytes]) -> frozenset[str]:
    return imports_of_files(DataFile(path, data) for path, data in files.items())


def _expected(imported: set[str]) -> list[tuple]:
    return sorted(((*f, f[0] in imported) for f in FOUND), key=lambda f: (f[1], f[0]))


def test_a_module_importing_affected_packages(db_url: str, tmp_path: Path,
                                              request: pytest.FixtureRequest) -> None:
    assert _findings(db_url, tmp_path, IMPORTS_AFFECTED) == _expected(IMPORTED)
    server = getattr(request.node, "server", None)
    if server is not None:
        assert {s.encoding for s in server.log} == {"gzip"}


def test_a_module_that_only_requires_them(db_url: str, tmp_path: Path) -> None:
    assert _findings(db_url, tmp_path, ONLY_REQUIRES) == _expected(set())


def test_a_module_importing_sibling_packages_of_the_affected_ones(db_url: str,
                                                                 tmp_path: Path) -> None:
    assert _findings(db_url, tmp_path, IMPORTS_SIBLINGS) == _expected(set())


def test_findings_carry_aliases_summary_and_packages(db_url: str, tmp_path: Path) -> None:
    db = open_db(db_url, tmp_path)
    reqs = requirements(gomod.parse(GO_MOD))
    findings = scan(reqs, _imports(IMPORTS_AFFECTED), db.entries_for(
        r.module for r in reqs.modules))
    by_id = {f.id: f for f in findings}
    assert by_id["GO-2022-1059"].aliases == ("CVE-2022-32149", "GHSA-69ch-w2m2-3vjp")
    assert by_id["GO-2022-1059"].packages == ("golang.org/x/text/language",)
    assert by_id["GO-2022-0390"].packages == ("github.com/docker/docker",)
    assert by_id["GO-2020-0017"].summary == "Authorization bypass in github.com/dgrijalva/jwt-go"
