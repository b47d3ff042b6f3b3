"""The S3 blob store (gopush/server/blobs_s3.py) keeps the whole ``Blobs`` contract against a
real S3 server: Ceph's RADOS Gateway 16.2 (tests/cephrgw.py), started once a session
(tests/conftest.py ceph_gateway).

Objects are put, changed and removed "behind the store's back" with a plain boto3 client, as
another program or a faulty disk would; the store's answers are checked against those."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from cephrgw import RadosGateway, find

from gopush.errors import ConfigError
from gopush.server.blobs import BlobCorrupt, BlobMissing, BlobStoreUnavailable

boto3 = pytest.importorskip("boto3")
blobs_s3 = pytest.importorskip("gopush.server.blobs_s3")
pytestmark = pytest.mark.skipif(find() is not None, reason=str(find()))

PREFIX = "team/blobs"
MiB = 1 << 20


@pytest.fixture
def gateway(ceph_gateway: RadosGateway) -> RadosGateway:
    """The session's gateway (tests/conftest.py ceph_gateway)."""
    return ceph_gateway


@pytest.fixture
def raw(aws_env: dict[str, str]) -> Any:
    """A plain S3 client: what another program does to the bucket behind the store's back."""
    return boto3.client("s3")


@pytest.fixture
def bucket(s3_bucket: str) -> str:
    return s3_bucket


def open_store(bucket: str, tmp_path: Path, prefix: str = PREFIX) -> Any:
    from gopush.server.space import Space

    return blobs_s3.open_s3_blobs(f"s3://{bucket}/{prefix}", tmp_path / "tmp",
                                  Space(tmp_path, tmp_path / "tmp"))


@pytest.fixture
def store(bucket: str, tmp_path: Path, aws_env: dict[str, str]) -> Any:
    return open_store(bucket, tmp_path)


def filled(store: Any, data: bytes) -> Any:
    incoming = store.incoming()
    incoming.write(data)
    return incoming


def scratch_files(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "tmp").iterdir())


# -- writing once ----------------------------------------------------------------------------


def test_commit_stores_content_addressed_once(store: Any, raw: Any, bucket: str,
                                              tmp_path: Path) -> None:
    data = os.urandom(3000)
    sha = hashlib.sha256(data).hexdigest()
    assert store.commit(filled(store, data)) == (sha, True)
    assert raw.get_object(Bucket=bucket, Key=f"{PREFIX}/sha256/{sha}")["Body"].read() == data
    assert store.commit(filled(store, data)) == (sha, False)  # same bytes again: not new
    assert store.put_bytes(data) == sha
    assert store.exists(sha)
    assert store.read_bytes(sha) == data
    assert scratch_files(tmp_path) == []  # every scratch file removed
    keys = [o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"{PREFIX}/sha256/{sha}"]


def test_a_racing_writer_is_told_not_new_and_overwrites_nothing(
        store: Any, raw: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another instance stored the blob between this one's HEAD and PUT: If-None-Match: *
    makes the server refuse the PUT (Ceph RGW 16.2 honours it on a plain PUT)."""
    data = os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    raw.put_object(Bucket=bucket, Key=f"{PREFIX}/sha256/{sha}", Body=b"the other writer's")
    monkeypatch.setattr(store, "exists", lambda _sha: False)  # the HEAD came just before
    assert store.commit(filled(store, data)) == (sha, False)
    body = raw.get_object(Bucket=bucket, Key=f"{PREFIX}/sha256/{sha}")["Body"].read()
    assert body == b"the other writer's"  # the condition held: nothing replaced


def test_a_racing_writer_of_a_large_blob_is_new_only_if_it_wrote(
        store: Any, raw: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same race for a multipart upload. AWS honours If-None-Match when completing it;
    Ceph RGW 16.2 ignores it there and the second writer's (same) bytes replace the first
    ones'. Either way "new" tells the truth about who wrote."""
    data = os.urandom(blobs_s3.MULTIPART_BYTES + MiB)
    sha = hashlib.sha256(data).hexdigest()
    key = f"{PREFIX}/sha256/{sha}"
    raw.put_object(Bucket=bucket, Key=key, Body=b"placeholder")
    monkeypatch.setattr(store, "exists", lambda _sha: False)
    _, new = store.commit(filled(store, data))
    wrote = raw.head_object(Bucket=bucket, Key=key)["ContentLength"] == len(data)
    assert new is wrote
    print(f"multipart complete with If-None-Match over an existing object: "
          f"{'replaced it (condition ignored)' if wrote else 'refused (condition honoured)'}")


def test_a_large_blob_goes_up_in_parts_each_with_content_md5(store: Any, raw: Any,
                                                              bucket: str) -> None:
    sent: list[dict[str, str]] = []
    store.client.meta.events.register(
        "before-send.s3.UploadPart", lambda request, **_: sent.append(dict(request.headers)))
    data = os.urandom(2 * blobs_s3.PART_BYTES + 12345)
    sha, new = store.commit(filled(store, data))
    assert new and sha == hashlib.sha256(data).hexdigest()
    etag = raw.head_object(Bucket=bucket, Key=f"{PREFIX}/sha256/{sha}")["ETag"]
    assert etag.endswith('-3"')  # a multipart object of three parts
    assert len(sent) == 3 and all("Content-MD5" in headers for headers in sent)
    assert b"".join(store.chunks(sha)) == data


def test_the_server_refuses_bytes_changed_on_the_way(store: Any) -> None:
    """Content-MD5 is checked by the server (BadDigest): a byte changed after the digest was
    taken (here: before the request is signed, so only the MD5 can tell; over HTTPS the
    client signs no payload hash at all) never becomes a stored blob."""
    def flip_a_byte(request: Any, **_: Any) -> None:
        body = request.body
        content = bytearray(body.read() if hasattr(body, "read") else body)
        content[0] ^= 1
        request.data = bytes(content)

    store.client.meta.events.register("before-sign.s3.PutObject", flip_a_byte)
    data = os.urandom(4000)
    incoming = filled(store, data)
    with pytest.raises(BlobStoreUnavailable, match=r"the bytes changed on the way .*BadDigest"):
        store.commit(incoming)
    assert not store.exists(hashlib.sha256(data).hexdigest())
    assert incoming.path.exists()  # left to the caller, who may try again or discard it


# -- verified reads --------------------------------------------------------------------------


def test_a_corrupt_object_is_detected_after_the_last_chunk(store: Any, raw: Any,
                                                           bucket: str, tmp_path: Path) -> None:
    data = os.urandom(2 * MiB + 500)
    sha = store.put_bytes(data)
    corrupt = bytearray(data)
    corrupt[-1] ^= 0xFF
    raw.put_object(Bucket=bucket, Key=f"{PREFIX}/sha256/{sha}", Body=bytes(corrupt))
    got: list[bytes] = []
    with pytest.raises(BlobCorrupt, match=f"blob {sha} in s3://{bucket}/{PREFIX}/ .* corrupt"):
        got.extend(store.chunks(sha))
    assert b"".join(got) == bytes(corrupt)  # streamed whole; the verdict comes at the end
    with pytest.raises(BlobCorrupt):
        store.read_bytes(sha)
    with pytest.raises(BlobCorrupt), store.local_copy(sha):
        pytest.fail("local_copy gave a corrupt copy")
    assert scratch_files(tmp_path) == []


def test_local_copy_is_verified_and_removed_after(store: Any, tmp_path: Path) -> None:
    data = os.urandom(MiB + 7)
    sha = store.put_bytes(data)
    with store.local_copy(sha) as path:
        assert path.parent == tmp_path / "tmp"
        assert path.read_bytes() == data
    assert not path.exists()
    assert scratch_files(tmp_path) == []


def test_a_missing_blob(store: Any, tmp_path: Path) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(sha)
    with pytest.raises(BlobMissing, match=f"blob {sha} is missing from s3://"):
        store.read_bytes(sha)
    with pytest.raises(BlobMissing):
        list(store.chunks(sha))
    with pytest.raises(BlobMissing), store.local_copy(sha):
        pytest.fail("a copy of nothing")
    assert scratch_files(tmp_path) == []


# -- parts -----------------------------------------------------------------------------------


def test_parts_are_kept_replaced_listed_and_deleted(store: Any, raw: Any, bucket: str,
                                                    tmp_path: Path) -> None:
    first, second, again = os.urandom(1000), os.urandom(2000), os.urandom(1500)
    store.put_part("up1", 1, filled(store, first))
    store.put_part("up1", 2, filled(store, second))
    store.put_part("up1", 1, filled(store, again))  # sent again: replaces
    store.put_part("up2", 1, filled(store, first))
    assert store.parts("up1") == {1: 1500, 2: 2000}
    assert b"".join(store.part_chunks("up1", 1)) == again
    assert b"".join(store.part_chunks("up1", 2)) == second
    keys = {o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"]}
    assert keys == {f"{PREFIX}/parts/up1/00001", f"{PREFIX}/parts/up1/00002",
                    f"{PREFIX}/parts/up2/00001"}
    assert list(store.names()) == []  # parts are not blobs
    store.delete_parts("up1")
    assert store.parts("up1") == {}
    assert store.parts("up2") == {1: 1000}
    with pytest.raises(BlobMissing, match="part 2 of upload up1 is missing"):
        list(store.part_chunks("up1", 2))
    assert scratch_files(tmp_path) == []


# -- listing and deleting --------------------------------------------------------------------


def test_names_pages_past_a_thousand_and_delete_batches(store: Any, raw: Any,
                                                        bucket: str) -> None:
    contents = [str(n).encode() for n in range(1005)]
    shas = {hashlib.sha256(c).hexdigest(): c for c in contents}

    def put(sha: str) -> None:
        raw.put_object(Bucket=bucket, Key=f"{PREFIX}/sha256/{sha}", Body=shas[sha])

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, shas))
    raw.put_object(Bucket=bucket, Key=f"{PREFIX}/sha256/not-a-digest", Body=b"x")
    raw.put_object(Bucket=bucket, Key="other/sha256/" + "0" * 64, Body=b"x")
    pages = []
    store.client.meta.events.register("after-call.s3.ListObjectsV2",
                                      lambda **kw: pages.append(1))
    assert sorted(store.names()) == sorted(shas)
    assert len(pages) == 2  # a thousand keys a page
    deletes: list[int] = []
    store.client.meta.events.register(
        "provide-client-params.s3.DeleteObjects",
        lambda params, **_: deletes.append(len(params["Delete"]["Objects"])))
    missing = hashlib.sha256(b"not there").hexdigest()
    store.delete([*shas, missing])
    assert deletes == [1000, 6]
    assert list(store.names()) == []
    left = sorted(o["Key"] for o in raw.list_objects_v2(Bucket=bucket)["Contents"])
    assert left == ["other/sha256/" + "0" * 64, f"{PREFIX}/sha256/not-a-digest"]


def test_sweep_removes_leftover_scratch_files(store: Any, tmp_path: Path) -> None:
    store.incoming("upload").write(b"half an upload")
    assert store.sweep() == 1
    assert scratch_files(tmp_path) == []


def test_sweep_aborts_only_stale_multipart_uploads_of_blobs(
        store: Any, raw: Any, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An instance that died while storing a large blob leaves a multipart upload on the
    server; a sweep aborts it once it is ``STALE_UPLOAD`` old, never a younger one (another
    instance may be storing it now)."""
    stale = raw.create_multipart_upload(Bucket=bucket, Key=f"{PREFIX}/sha256/{'a' * 64}")
    assert store.sweep() == 0  # younger than a day: left alone
    monkeypatch.setattr(blobs_s3, "STALE_UPLOAD", blobs_s3.timedelta(0))
    elsewhere = raw.create_multipart_upload(Bucket=bucket, Key="other/sha256/x")
    assert store.sweep() == 1
    left = [u["UploadId"] for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
    assert left == [elsewhere["UploadId"]] and stale["UploadId"] not in left


def test_an_empty_blob(store: Any) -> None:
    sha, new = store.commit(store.incoming())
    assert new and sha == hashlib.sha256(b"").hexdigest()
    assert store.read_bytes(sha) == b""
    with store.local_copy(sha) as path:
        assert path.read_bytes() == b""


# -- the URL and the credentials -------------------------------------------------------------


@pytest.mark.parametrize(("url", "why"), [
    ("s3://", "is not an S3 bucket name"),
    ("s3://Bad_Bucket/x", "is not an S3 bucket name"),
    ("s3://key:hunter2secret@bucket/x", "never credentials"),
    ("s3://bucket/a/../b", "is not a key prefix"),
    ("http://bucket/x", "is not an s3:// URL"),
])
def test_a_bad_url_is_a_config_error(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why) as caught:
        blobs_s3.parse_s3_url(url)
    assert "hunter2secret" not in str(caught.value)


def test_the_prefix_is_optional() -> None:
    assert blobs_s3.parse_s3_url("s3://bucket") == ("bucket", "")
    assert blobs_s3.parse_s3_url("s3://bucket//a/b/") == ("bucket", "a/b/")


def test_no_credentials_anywhere_is_a_config_error(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path, aws_env: Any) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="no AWS credentials"):
        open_store("bucket", tmp_path)


# -- check (/readyz) -------------------------------------------------------------------------


def unavailable(store: Any) -> str:
    with pytest.raises(BlobStoreUnavailable) as caught:
        store.check()
    return str(caught.value)


def test_check_passes_on_a_reachable_bucket(store: Any) -> None:
    store.check()


def test_check_names_a_missing_bucket(tmp_path: Path, aws_env: Any) -> None:
    message = unavailable(open_store("no-such-bucket", tmp_path))
    assert "no bucket 'no-such-bucket' at this endpoint" in message


def test_check_names_a_wrong_secret_without_showing_it(
        bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aws_env: Any) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-" + "s" * 20)
    message = unavailable(open_store(bucket, tmp_path))
    assert "the secret key (AWS_SECRET_ACCESS_KEY) does not match" in message
    assert "wrong-secret" not in message and aws_env["AWS_SECRET_ACCESS_KEY"] not in message


def test_check_names_an_unknown_access_key(bucket: str, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch, aws_env: Any) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY0000000")
    message = unavailable(open_store(bucket, tmp_path))
    assert "the access key (AWS_ACCESS_KEY_ID) is not known to the server" in message
    assert aws_env["AWS_SECRET_ACCESS_KEY"] not in message


class _NotS3(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD

    def log_message(self, *args: Any) -> None:
        pass


def test_check_names_an_endpoint_that_is_not_s3(bucket: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                aws_env: Any) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotS3)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_port}")
        message = unavailable(open_store(bucket, tmp_path))
    finally:
        server.shutdown()
        server.server_close()
    assert "answered HTTP 404 but not as an S3 server" in message
    assert "AWS_ENDPOINT_URL" in message


def test_check_gives_up_on_a_silent_endpoint_in_time(bucket: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     aws_env: Any) -> None:
    with socket.socket() as silent:  # accepts connections (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{silent.getsockname()[1]}")
        store = open_store(bucket, tmp_path)
        started = time.monotonic()
        message = unavailable(store)
        took = time.monotonic() - started
    assert f"no answer within {blobs_s3.CHECK_TIMEOUTS[1]:g} s" in message
    assert took < 30  # one attempt of CHECK_TIMEOUTS, with a wide margin


def test_check_and_reads_name_a_stopped_gateway(gateway: RadosGateway, store: Any) -> None:
    sha = store.put_bytes(b"kept while the gateway is down")
    gateway.kill_gateway()
    try:
        message = unavailable(store)
        assert "cannot connect: connection refused" in message
        assert gateway.endpoint in message and gateway.secret_key not in message
        with pytest.raises(BlobStoreUnavailable, match="connection refused"):
            store.read_bytes(sha)
    finally:
        gateway.restart_gateway()
    assert store.read_bytes(sha) == b"kept while the gateway is down"


# -- memory: a 108 MiB blob ------------------------------------------------------------------

_RSS_SCRIPT = textwrap.dedent("""
    import hashlib, json, os, sys, time
    from pathlib import Path
    from gopush.server.blobs_s3 import open_s3_blobs
    from gopush.server.space import Space

    def peak_mb():  # this process's peak RSS (ru_maxrss would count pytest's, inherited)
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024

    url, root, mib = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    store = open_s3_blobs(url, root / "tmp", Space(root, root / "tmp"))
    incoming = store.incoming()
    block = os.urandom(1 << 20)
    for i in range(mib):  # distinct MiBs, made one at a time
        incoming.write(hashlib.sha256(block + bytes([i % 256])).digest() * (1 << 15))
    figures = {"before": peak_mb()}
    started = time.monotonic()
    sha, new = store.commit(incoming)
    figures.update(store_s=time.monotonic() - started, after_store=peak_mb(), new=new)
    started = time.monotonic()
    size = sum(len(chunk) for chunk in store.chunks(sha))
    figures.update(read_s=time.monotonic() - started, after_read=peak_mb(), size=size)
    started = time.monotonic()
    with store.local_copy(sha) as path:
        figures["copy_size"] = path.stat().st_size
    figures.update(copy_s=time.monotonic() - started, after_copy=peak_mb())
    print(json.dumps(figures))
""")


@pytest.mark.slow
def test_storing_and_reading_108_mib_stays_small_in_memory(bucket: str, tmp_path: Path,
                                                           aws_env: Any) -> None:
    mib = 108
    done = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, f"s3://{bucket}/{PREFIX}",
                           str(tmp_path), str(mib)], capture_output=True, text=True,
                          timeout=300, check=False, env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    print(f"108 MiB blob: {figures}")
    assert figures["new"] and figures["size"] == figures["copy_size"] == mib * MiB
    # peak RSS grows by a few parts at most, never by the blob's size
    assert figures["after_copy"] - figures["before"] < 64


# -- a body that breaks off half-way ---------------------------------------------------------


class CuttingProxy:
    """A TCP relay on 127.0.0.1 to the gateway that cuts the first ``cuts`` connections whose
    answer is longer than ``after`` bytes right after that many, as a failing network would."""

    def __init__(self, upstream_port: int, after: int, cuts: int) -> None:
        self.upstream_port, self.after, self.cuts = upstream_port, after, cuts
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, None),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, self.after),
                             daemon=True).start()

    def _pump(self, source: socket.socket, dest: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if limit is not None and self.cuts > 0 and sent + len(data) > limit:
                    self.cuts -= 1
                    dest.sendall(data[:limit - sent])
                    break
                dest.sendall(data)
                sent += len(data)
        except OSError:
            pass
        for sock in (source, dest):  # shutdown first: close alone waits for the other pump
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize(("cuts", "resumes"), [(blobs_s3.ATTEMPTS - 1, True),
                                               (blobs_s3.ATTEMPTS, False)])
def test_a_read_broken_off_half_way_resumes_where_it_stopped(
        gateway: RadosGateway, store: Any, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, cuts: int, resumes: bool) -> None:
    data = os.urandom(3 * MiB)
    sha = store.put_bytes(data)
    proxy = CuttingProxy(gateway.s3_port, after=MiB // 2, cuts=cuts)  # each GET is cut
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{proxy.port}")
        cut = open_store(bucket, tmp_path)
        if resumes:
            assert cut.read_bytes(sha) == data
        else:
            with pytest.raises(BlobStoreUnavailable, match=f"reading {PREFIX}/sha256/{sha}"):
                cut.read_bytes(sha)
    finally:
        proxy.close()
