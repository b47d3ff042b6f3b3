"""``gopush verify`` and ``gopush whoami`` end to end on a static GOPROXY directory."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from gopush.cli.main import main
from gopush.errors import ExitCode
from gopush.modzip.create import create_zip
from gopush.modzip.files import DataFile

MODULE, VERSION = "example.com/hello", "v1.0.0"


def make_zip(directory: Path, files: dict[str, bytes]) -> Path:
    """Write a module zip of MODULE@VERSION with ``files`` plus go.mod."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{VERSION}.zip"
    data = [DataFile("go.mod", f"module {MODULE}\n".encode())]
    data += [DataFile(name, content) for name, content in files.items()]
    create_zip(path, MODULE, VERSION, data)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run gopush; return exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def published(tmp_path: Path, capsys) -> Path:
    """A GOPROXY directory holding MODULE@VERSION with LF line endings and a LICENSE."""
    proxy = tmp_path / "proxy"
    zip_path = make_zip(tmp_path / "pub", {"a.go": b"package a\n\nvar A = 1\n",
                                           "LICENSE": b"MIT\n"})
    code, _, err = run(capsys, "push", "--to", f"dir:{proxy}", str(zip_path))
    assert code == ExitCode.OK, err
    return proxy


def test_verify_identical(published: Path, tmp_path: Path, capsys) -> None:
    """The same content verifies (exit 0) even from a freshly written zip."""
    same = make_zip(tmp_path / "same", {"a.go": b"package a\n\nvar A = 1\n", "LICENSE": b"MIT\n"})
    code, out, _ = run(capsys, "verify", "--to", f"dir:{published}", f"{MODULE}@{VERSION}",
                       "--zip", str(same))
    assert code == ExitCode.OK and "identical" in out


def test_verify_explains_differences(published: Path, tmp_path: Path, capsys) -> None:
    """Differences are listed file by file with named causes: CRLF, LICENSE, added files."""
    other = make_zip(tmp_path / "other", {"a.go": b"package a\r\n\r\nvar A = 1\r\n",
                                          "b.go": b"package a\n"})
    code, out, _ = run(capsys, "verify", "--json", "--to", f"dir:{published}",
                       f"{MODULE}@{VERSION}", "--zip", str(other))
    doc = json.loads(out)
    assert code == ExitCode.INVALID_MODULE and doc["ok"] is False
    changes = {f["path"]: (f["change"], f["cause"]) for f in doc["files"]}
    assert changes == {"a.go": ("changed", "line endings (CRLF vs LF)"),
                       "b.go": ("added", None), "LICENSE": ("missing", "root LICENSE copy")}
    assert any(c.startswith("line endings") for c in doc["causes"])
    assert any(c.startswith("root LICENSE") for c in doc["causes"])
    assert doc["published_sum"] != doc["local_sum"]


def test_verify_unknown_version(published: Path, tmp_path: Path, capsys) -> None:
    """Verifying a version that is not published exits 5 saying so."""
    code, _, err = run(capsys, "verify", "--to", f"dir:{published}", f"{MODULE}@v9.9.9",
                       "--zip", str(published / "x.zip"))
    assert code == ExitCode.USAGE  # click: --zip must exist
    zip_path = make_zip(tmp_path / "z", {"a.go": b"package a\n"})
    code, _, err = run(capsys, "verify", "--to", f"dir:{published}", f"{MODULE}@v9.9.9",
                       "--zip", str(zip_path))
    assert code == ExitCode.REJECTED and "is not published" in err


def test_whoami_missing_key_in_ci(capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """whoami without a key in CI exits 3 naming the variable."""
    monkeypatch.setenv("CI", "1")
    code, _, err = run(capsys, "whoami", "--api-host", "http://127.0.0.1:9")
    assert code == ExitCode.CONFIG and "GOPUSH_API_KEY" in err


GO_MOD = "module {}\n\ngo 1.21\n"


@pytest.mark.parametrize(("files", "tag", "module", "version"), [
    ({"go.mod": GO_MOD.format("github.com/acme/vf"),
      "sub/go.mod": GO_MOD.format("github.com/acme/vf/sub"), "sub/s.go": "package sub\n"},
     "sub/v1.0.0", "github.com/acme/vf/sub", "v1.0.0"),
    ({"go.mod": GO_MOD.format("github.com/acme/maj"),
      "v2/go.mod": GO_MOD.format("github.com/acme/maj/v2"), "v2/a.go": "package a\n"},
     "v2.0.0", "github.com/acme/maj/v2", "v2.0.0"),
    ({"a.go": "package a\n"}, "v2.0.0", "github.com/acme/inc", "v2.0.0+incompatible"),
    ({"go.mod": GO_MOD.format("github.com/acme/pse"), "a.go": "package a\n"}, None,
     "github.com/acme/pse", None),
])
def test_verify_finds_where_go_reads_the_version(
        git_repo, go, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch,
        files: dict[str, str], tag: str | None, module: str, version: str | None) -> None:
    """With no --rev or --subdir, verify builds what go reads for module@version: the sub/
    tag and its directory, a v2/ major subdirectory, the tag of a +incompatible version, the
    commit of a pseudo-version; the published side comes from go's own download."""
    git_repo.commit(files=files)
    if tag:
        git_repo.tag(tag)
    go.map_repo(git_repo.path, "https://" + module.removesuffix("/v2").removesuffix("/sub"))
    query = version or git_repo.git("rev-parse", "HEAD").strip()
    want = go.download(module, query)
    version = want["Version"]
    proxy = tmp_path / "proxy"
    code, _, err = run(capsys, "push", "--to", f"dir:{proxy}", want["Zip"])
    assert code == ExitCode.OK, err
    git_repo.commit(files={"later.txt": "after the release\n"})  # HEAD is not the release
    monkeypatch.chdir(git_repo.path)
    code, out, err = run(capsys, "verify", "--to", f"dir:{proxy}", f"{module}@{version}")
    assert code == ExitCode.OK, err
    assert f"identical: {module}@{version} {want['Sum']}" in out


def test_a_license_changed_on_both_sides_is_not_blamed_on_the_copy_rule(
        git_repo, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """A root module's LICENSE whose text changed under a moved tag: a content change (the
    copy rule only adds or leaves out a whole LICENSE), and the cause says other content
    was published under the version (a moved tag, or a working-tree zip)."""
    git_repo.commit(files={"go.mod": GO_MOD.format(MODULE), "LICENSE": "MIT\n",
                           "a.go": "package a\n"})
    git_repo.tag(VERSION)
    proxy = tmp_path / "proxy"
    monkeypatch.chdir(git_repo.path)
    code, _, err = run(capsys, "push", "--to", f"dir:{proxy}")
    assert code == ExitCode.OK, err
    git_repo.commit(files={"LICENSE": "Apache-2.0\n"})
    git_repo.git("tag", "-f", VERSION)
    code, out, _ = run(capsys, "verify", "--json", "--to", f"dir:{proxy}", f"{MODULE}@{VERSION}")
    doc = json.loads(out)
    assert code == ExitCode.INVALID_MODULE
    assert [(f["path"], f["change"], f["cause"]) for f in doc["files"]] == [
        ("LICENSE", "changed", None)]
    assert not any(c.startswith("root LICENSE") for c in doc["causes"])
    assert any("tag was moved" in c and "working tree" in c for c in doc["causes"])


def test_a_zip_of_another_version_is_refused_not_compared(published: Path, tmp_path: Path,
                                                          capsys) -> None:
    """--zip holding v1.1.0 for v1.0.0: said plainly (exit 4), not "every file missing"."""
    other = tmp_path / "other" / "v1.1.0.zip"
    other.parent.mkdir()
    create_zip(other, MODULE, "v1.1.0", [DataFile("go.mod", f"module {MODULE}\n".encode())])
    code, _, err = run(capsys, "verify", "--to", f"dir:{published}", f"{MODULE}@{VERSION}",
                       "--zip", str(other))
    assert code == ExitCode.INVALID_MODULE
    assert f"holds {MODULE}@v1.1.0, not {MODULE}@{VERSION}" in err


@pytest.mark.parametrize(("user", "line"), [
    ({"authenticated": True, "slug": "dev", "name": "Dev Example", "email": "d@x.test"},
     "dev (Dev Example d@x.test)"),
    ({"authenticated": True, "slug": "dev"}, "dev"),
    ({"authenticated": True, "slug": None, "name": "local directory"}, "local directory"),
])
def test_whoami_line_names_each_fact_once(user: dict, line: str, capsys,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """whoami's line: who, then the name and email it has, each once (no "x (x)")."""
    from gopush.registry.goproxy_dir import GoproxyDirRegistry

    monkeypatch.setattr(GoproxyDirRegistry, "whoami", lambda self: user)
    code, out, _ = run(capsys, "whoami", "--to", "dir:proxy")
    assert code == ExitCode.OK and out.strip() == line


def test_a_published_zip_go_refuses_is_named_first(tmp_path: Path, capsys) -> None:
    """A registry serving a zip go refuses (two paths equal under case folding, written
    there without gopush's check): verify names that first, with go's reason."""
    proxy = tmp_path / "proxy" / MODULE / "@v"
    proxy.mkdir(parents=True)
    with zipfile.ZipFile(proxy / f"{VERSION}.zip", "w") as z:
        for name, data in {"go.mod": f"module {MODULE}\n", "a.go": "package a\n",
                           "A.go": "package a\n"}.items():
            z.writestr(f"{MODULE}@{VERSION}/{name}", data)
    (proxy / f"{VERSION}.mod").write_text(f"module {MODULE}\n")
    (proxy / f"{VERSION}.info").write_text(json.dumps({"Version": VERSION}))
    (proxy / "list").write_text(f"{VERSION}\n")
    local = make_zip(tmp_path / "local", {"a.go": b"package a\n"})
    code, out, err = run(capsys, "verify", "--json", "--to", f"dir:{tmp_path / 'proxy'}",
                         f"{MODULE}@{VERSION}", "--zip", str(local))
    assert code == ExitCode.INVALID_MODULE, err
    first = json.loads(out)["causes"][0]
    assert first.startswith("go refuses the published zip")
    assert "case-insensitive file name collision" in first


def test_gopush_goproxy_names_a_dir_targets_goproxy(tmp_path: Path, capsys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """GOPUSH_GOPROXY counts for a dir: target as for a Cloudsmith one: the consumer setup
    push prints names that URL (where the directory is served)."""
    monkeypatch.setenv("GOPUSH_GOPROXY", "https://mods.example.test/")
    zip_path = make_zip(tmp_path / "z", {"a.go": b"package a\n"})
    code, out, err = run(capsys, "push", "--to", f"dir:{tmp_path / 'proxy'}", str(zip_path))
    assert code == ExitCode.OK, err
    assert "export GOPROXY=https://mods.example.test/," in out + err
