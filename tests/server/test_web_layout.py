"""The web page's GOPROXY layout upload against a real `gopush serve`, through httpx: a
layout `gopush build --out` wrote (two versions) is published and the real go downloads each
version with gopush build's h1:; a layout with any file wrong is refused as a whole, naming
the file and the rule, and nothing is stored; bounds (file count, sizes, names) hold."""

from __future__ import annotations

import html
import json
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import KEY, Served, gopush_build, tagged_module
from test_web import PUBLIC_MOD, Browser, csrf_in, module_zip, two_repos

from gopush.server.layout import MAX_FILES

LAID_OUT = "example.com/laidout"
VERSIONS = ("v1.0.0", "v1.1.0")

Files = list[tuple[str, bytes]]


@pytest.fixture
def served(serve: Any, tmp_path: Path) -> Served:
    return two_repos(serve, tmp_path)


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, dict[str, dict[str, Any]]]:
    """Build LAID_OUT at both versions with `gopush build --out` into one GOPROXY layout;
    return its @v directory and each version's build JSON."""
    repo = tagged_module(tmp_path / "git", LAID_OUT, list(VERSIONS)).path
    out = tmp_path / "out"
    built = {v: gopush_build(repo, v, out) for v in VERSIONS}
    return out / LAID_OUT / "@v", built


def layout_files(at_v: Path, *, with_dirs: bool = False) -> Files:
    """Return the layout's files as a browser sends them: bare names from a multiple-file
    input, or paths under the chosen folder from a folder input (``list`` included)."""
    names = sorted(p.name for p in at_v.iterdir())
    assert {"list", "v1.0.0.zip", "v1.0.0.mod", "v1.0.0.info"} <= set(names)
    prefix = f"out/{LAID_OUT}/@v/" if with_dirs else ""
    return [(prefix + n, (at_v / n).read_bytes()) for n in names if with_dirs or n != "list"]


def send_layout(user: Browser, repo: str, files: Files) -> httpx.Response:
    """Send the layout form of ``repo``'s page with ``files`` (its CSRF token)."""
    token = csrf_in(user.get(f"/web/{repo}").text)
    parts = [("layout", (name, data, "application/octet-stream")) for name, data in files]
    return user.client.post(f"/web/{repo}/upload-layout", data={"csrf": token}, files=parts)


def signed_in(served: Served) -> Browser:
    user = Browser(served)
    assert user.sign_in(KEY).status_code == 303
    return user


def wait_processed(served: Served, repo: str, slug: str) -> dict[str, Any]:
    api = httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY})
    deadline = time.monotonic() + 60
    while (package := api.get(f"/packages/{repo}/{slug}/").json())["is_sync_in_flight"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return dict(package)


def package_count(served: Served, repo: str) -> int:
    api = httpx.Client(base_url=served.url, headers={"X-Api-Key": KEY})
    return len(api.get(f"/packages/{repo}/").json())


def refusal_lines(reply: httpx.Response) -> str:
    assert reply.status_code == 422, reply.text
    text = html.unescape(reply.text)
    assert "refused as a whole: nothing was stored" in text
    return text


@pytest.mark.parametrize("folder", [None, "out/", "laidout/", ""],
                         ids=["files", "folder-out", "folder-in-module-path", "folder-at-v"])
def test_a_two_version_layout_is_published_and_go_downloads_it(
        served: Served, layout: Any, go: Any, folder: str | None) -> None:
    """Files without directories (a multiple-file input), or paths below the folder the
    user picked (a folder input): above the module, inside its path, or @v itself."""
    at_v, built = layout
    user = signed_in(served)
    with_dirs = folder is not None
    files = layout_files(at_v, with_dirs=with_dirs)  # out/example.com/laidout/@v/NAME
    if folder in ("laidout/", ""):
        files = [(folder + name.removeprefix(f"out/{LAID_OUT}/"), d) for name, d in files]
    reply = send_layout(user, "acme/pub", files)
    assert reply.status_code == 303, reply.text
    slugs = reply.headers["location"].rpartition("uploaded=")[2].split(",")
    assert len(slugs) == 2
    for slug in slugs:
        assert wait_processed(served, "acme/pub", slug)["status_str"] == "Completed"
    page = html.unescape(user.get(f"/web/acme/pub/mod/{LAID_OUT}").text)
    for version in VERSIONS:
        got = go.download(LAID_OUT, version, GOPROXY=served.goproxy("acme/pub"))
        assert got["Sum"] == built[version]["sum"]
        assert got["GoModSum"] == built[version]["gomod_sum"]
        assert f"{LAID_OUT} {version} {got['Sum']}" in page
        print(f"\ngo mod download {LAID_OUT}@{version} after the layout upload "
              f"({files[0][0]}...): {got['Sum']} "
              f"(gopush build: {built[version]['sum']})")
    assert user.get(reply.headers["location"]).text.count('class="just-uploaded"') == 2


def test_a_mod_that_differs_from_the_zips_go_mod_refuses_the_whole_layout(
        served: Served, layout: Any) -> None:
    at_v, _ = layout
    files = [(n, d + b"// edited\n" if n == "v1.1.0.mod" else d)
             for n, d in layout_files(at_v)]
    before = package_count(served, "acme/pub")
    text = refusal_lines(send_layout(signed_in(served), "acme/pub", files))
    assert "v1.1.0.mod: differs from its go.mod" in text
    assert package_count(served, "acme/pub") == before  # v1.0.0, fine alone, is not stored
    assert LAID_OUT not in Browser(served).get("/web/acme/pub").text


def test_an_info_naming_another_version_is_refused(served: Served, layout: Any) -> None:
    at_v, _ = layout
    files = [(n, json.dumps({"Version": "v1.0.1", "Time": "2024-01-02T03:04:05Z"}).encode()
              if n == "v1.0.0.info" else d) for n, d in layout_files(at_v)]
    text = refusal_lines(send_layout(signed_in(served), "acme/pub", files))
    assert "v1.0.0.info: names 'v1.0.1', not the zip's version 'v1.0.0'" in text


def test_a_zip_named_for_another_version_and_a_lone_mod_are_refused(served: Served,
                                                                     layout: Any) -> None:
    at_v, _ = layout
    files = [("v1.2.0.zip", (at_v / "v1.1.0.zip").read_bytes()),
             ("v1.3.0.mod", (at_v / "v1.1.0.mod").read_bytes())]
    text = refusal_lines(send_layout(signed_in(served), "acme/pub", files))
    assert "v1.2.0.zip: " in text and f"{LAID_OUT}@v1.1.0" in text
    assert "v1.3.0.mod: no v1.3.0.zip beside it" in text


def test_a_folder_whose_directories_name_another_module_is_refused(served: Served,
                                                                    layout: Any) -> None:
    at_v, _ = layout
    files = [(f"out/example.com/other/@v/{n}", d) for n, d in layout_files(at_v)]
    text = refusal_lines(send_layout(signed_in(served), "acme/pub", files))
    assert f"out/example.com/other/@v/v1.0.0.zip: the zip holds {LAID_OUT}" in text


def test_other_content_for_a_published_version_is_refused_before_storing(
        served: Served, tmp_path: Path) -> None:
    """acme/pub serves PUBLIC_MOD v1.0.0: a layout with other content for it, beside a new
    version, stores neither."""
    other = module_zip(tmp_path / "other", PUBLIC_MOD, "v1.0.0", {"new.go": b"package lib\n"})
    new = module_zip(tmp_path, PUBLIC_MOD, "v1.9.0")
    before = package_count(served, "acme/pub")
    text = refusal_lines(send_layout(signed_in(served), "acme/pub",
                                     [("v1.0.0.zip", other.read_bytes()),
                                      ("v1.9.0.zip", new.read_bytes())]))
    assert f"v1.0.0.zip: {PUBLIC_MOD}@v1.0.0 was published here with other content" in text
    assert package_count(served, "acme/pub") == before


def test_too_many_files_and_oversized_files_are_refused(served: Served) -> None:
    user = signed_in(served)
    many = [(f"v1.0.{n}.info", b"{}") for n in range(MAX_FILES + 1)]
    reply = send_layout(user, "acme/pub", many)
    assert reply.status_code == 400 and f"More than {MAX_FILES} files" in reply.text
    big_info = [("v1.0.0.info", b" " * (64 * 1024 + 1))]
    reply = send_layout(user, "acme/pub", big_info)
    assert reply.status_code == 413 and "v1.0.0.info: larger than 65536 bytes" in reply.text
    reply = send_layout(user, "acme/pub", [("", b"bytes where none may be")])
    assert reply.status_code == 413 and "(a file input left empty): larger than 0" in reply.text
    reply = send_layout(user, "acme/pub", [("notes.txt", b"hello")])
    assert reply.status_code == 422 and "notes.txt: not a file of a GOPROXY layout" in reply.text
    reply = send_layout(user, "acme/pub", [("list", b"v1.0.0\n")])  # no zip
    assert reply.status_code == 400 and "Choose the files of a GOPROXY layout" in reply.text


def test_traversal_names_are_only_names(served: Served, layout: Any, tmp_path: Path) -> None:
    """Names with ``..`` and absolute paths are matched and shown, never used as paths: the
    layout is published, and nothing appears outside the data directory."""
    at_v, built = layout
    files = [(f"../../../../{tmp_path.name}/evil/{n}" if n.endswith(".zip")
              else f"..\\..\\{n}", d) for n, d in layout_files(at_v)]
    user = signed_in(served)
    reply = send_layout(user, "acme/pub", files)
    # the zips' names and their .mod/.info differ in directories: they do not pair
    text = refusal_lines(reply)
    assert "..\\..\\v1.0.0.mod: no v1.0.0.zip beside it" in text
    assert not (tmp_path / "evil").exists() and not Path("/tmp/v1.0.0.zip").exists()
    same_dir = [(f"../../{n}", d) for n, d in layout_files(at_v)]
    reply = send_layout(user, "acme/pub", same_dir)
    assert reply.status_code == 303, reply.text
    slug = reply.headers["location"].rpartition("uploaded=")[2].split(",")[0]
    assert wait_processed(served, "acme/pub", slug)["summary"] == built["v1.0.0"]["sum"]


def test_the_layout_form_needs_a_session_csrf_and_same_origin(served: Served,
                                                              layout: Any) -> None:
    at_v, _ = layout
    files = [("layout", (n, d, "application/octet-stream")) for n, d in layout_files(at_v)]
    anonymous = Browser(served)
    anonymous.get("/web/login")  # a session, not signed in
    reply = anonymous.client.post("/web/acme/pub/upload-layout", files=files,
                                  data={"csrf": csrf_in(anonymous.get("/web/login").text)})
    assert reply.status_code == 403
    user = signed_in(served)
    reply = user.client.post("/web/acme/pub/upload-layout", data={"csrf": "wrong"}, files=files)
    assert reply.status_code == 403 and "CSRF" in reply.text
    other = Browser(served, origin="http://evil.example")
    other.client.cookies = user.client.cookies
    token = csrf_in(user.get("/web/acme/pub").text)
    reply = other.client.post("/web/acme/pub/upload-layout", data={"csrf": token}, files=files)
    assert reply.status_code == 403 and "Cross-origin" in reply.text
    assert LAID_OUT not in user.get("/web/acme/pub").text
    assert PUBLIC_MOD in user.get("/web/acme/pub").text


def test_a_layout_cut_off_mid_body_stores_nothing_and_leaves_no_file(served: Served,
                                                                     layout: Any) -> None:
    """The client goes away in the middle of the second zip: the server drops every file it
    received (the first zip whole, the second in part) and stores no package."""
    at_v, _ = layout
    user = signed_in(served)
    token = csrf_in(user.get("/web/acme/pub").text)
    before = package_count(served, "acme/pub")
    body = (f"--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            "--b\r\nContent-Disposition: form-data; name=\"layout\"; filename=\"v1.0.0.zip\""
            "\r\n\r\n").encode() + (at_v / "v1.0.0.zip").read_bytes() + (
            b"\r\n--b\r\nContent-Disposition: form-data; name=\"layout\"; "
            b"filename=\"v1.1.0.zip\"\r\n\r\n") + (at_v / "v1.1.0.zip").read_bytes()[:200]
    cookies = "; ".join(f"{k}={v}" for k, v in user.client.cookies.items())
    head = (f"POST /web/acme/pub/upload-layout HTTP/1.1\r\nHost: {served.url[7:]}\r\n"
            f"Origin: {served.url}\r\nCookie: {cookies}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {len(body) + 100_000}\r\n\r\n")
    host, port = served.url[7:].split(":")
    temporary = served.data / "tmp"
    deadline = time.monotonic() + 20
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        while len([p for p in temporary.iterdir() if p.name.startswith("form-")]) < 2:
            assert time.monotonic() < deadline  # both zips' temporary files are there
            time.sleep(0.05)
    while [p for p in temporary.iterdir() if p.name.startswith("form-")]:
        assert time.monotonic() < deadline, list(temporary.iterdir())
        time.sleep(0.1)
    assert package_count(served, "acme/pub") == before
    assert LAID_OUT not in user.get("/web/acme/pub").text
