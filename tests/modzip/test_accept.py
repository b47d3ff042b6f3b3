"""The one acceptance gate: accept_zip, and the three callers that must agree with it."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gopush.actions.artifact import load_artifact
from gopush.actions.check import check_zip_file
from gopush.errors import InvalidModule, InvalidModuleZip
from gopush.modzip.accept import RefusedZip, accept_zip, info_document
from gopush.server.storage import version_time
from gopush.server.validate import check_upload

PSEUDO = "v0.0.0-20240102030405-abcdefabcdef"


def make_zip(path: Path, version: str, files: dict[str, bytes],
             module: str = "example.com/m") -> Path:
    """Write a zip of ``files`` under module@version/ (Python's zipfile, not gopush's)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(f"{module}@{version}/{name}", data)
    return path


def test_accepts_with_the_zips_go_mod(tmp_path: Path) -> None:
    """A good zip: its own go.mod, its files, and an h1:."""
    gomod = b"module example.com/m\n\ngo 1.24\n"
    accepted = accept_zip(make_zip(tmp_path / "m.zip", "v1.0.0",
                                   {"go.mod": gomod, "a.go": b"package a\n"}))
    assert (accepted.module, accepted.version) == ("example.com/m", "v1.0.0")
    assert accepted.gomod == gomod and not accepted.gomod_synthesized
    assert accepted.files == 2 and accepted.sum.startswith("h1:")
    published = datetime(2025, 5, 6, 7, 8, 9, tzinfo=UTC)
    assert json.loads(accepted.info(published)) == {"Version": "v1.0.0",
                                                    "Time": "2025-05-06T07:08:09Z"}


def test_synthesizes_go_mod_and_uses_the_pseudo_versions_time(tmp_path: Path) -> None:
    """No go.mod: the go command's `module P`; a pseudo-version's .info has its own time."""
    accepted = accept_zip(make_zip(tmp_path / "p.zip", PSEUDO, {"a.go": b"package a\n"}))
    assert accepted.gomod == b"module example.com/m\n" and accepted.gomod_synthesized
    assert accepted.info(datetime.now(UTC)) == info_document(
        PSEUDO, datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))


REFUSED = [
    ("month 13", "v0.0.0-20241301000000-abcdefabcdef", {"a.go": b""}, "malformed time"),
    ("go.mod directory", "v1.0.0", {"go.mod/x.go": b"package x\n"}, "go.mod is a directory"),
    ("case collision", "v1.0.0", {"a.go": b"", "A.go": b""}, "case-insensitive file name"),
    ("other module", "v1.0.0", {"go.mod": b"module example.com/other\n"},
     "declares module example.com/other"),
]


@pytest.mark.parametrize(("version", "files", "reason"), [r[1:] for r in REFUSED],
                         ids=[r[0] for r in REFUSED])
def test_check_push_and_serve_refuse_alike(tmp_path: Path, version: str,
                                           files: dict[str, bytes], reason: str) -> None:
    """gopush check, push (load_artifact) and serve (check_upload) refuse the same zips,
    with the same reason."""
    path = make_zip(tmp_path / "bad.zip", version, files)
    with pytest.raises(InvalidModuleZip, match=reason):
        accept_zip(path)
    with pytest.raises(InvalidModule, match=reason):
        load_artifact(path)
    with pytest.raises(InvalidModuleZip, match=reason):
        check_upload(path)
    try:
        result = check_zip_file(path)
    except InvalidModuleZip as err:
        assert reason in err.message
    else:
        assert not result.ok and any(reason in i.detail for i in result.report.invalid)


def test_refused_zip_carries_every_verdict(tmp_path: Path) -> None:
    """RefusedZip keeps module@version and the report, for `gopush check` to render."""
    path = make_zip(tmp_path / "bad.zip", "v1.0.0", {"a.go": b"", "A.go": b"", "b.go": b""})
    with pytest.raises(RefusedZip) as refused:
        accept_zip(path)
    checked = refused.value.checked
    assert (checked.module, checked.version) == ("example.com/m", "v1.0.0")
    assert [i.path for i in checked.report.invalid] == ["example.com/m@v1.0.0/A.go"]
    assert refused.value.message.startswith("example.com/m@v1.0.0: ")


def test_push_and_serve_agree_on_go_mod_sum_and_time(tmp_path: Path) -> None:
    """load_artifact and check_upload hand on the gate's go.mod, h1: and pseudo time."""
    path = make_zip(tmp_path / f"{PSEUDO}.zip", PSEUDO, {"a.go": b"package a\n"})
    artifact, checked = load_artifact(path), check_upload(path)
    assert artifact.accepted == checked  # one record: what the gate found
    assert artifact.gomod == checked.gomod == b"module example.com/m\n"
    assert artifact.sum == checked.sum
    assert json.loads(artifact.info)["Time"] == version_time(checked) == "2024-01-02T03:04:05Z"
