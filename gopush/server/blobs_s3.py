"""Blobs in S3-compatible object storage (``--blobs s3://BUCKET/PREFIX``), through boto3.

Layout in the bucket, under ``PREFIX/`` (nothing when the URL names no prefix):

- ``sha256/<hex>``: a blob, named by the SHA-256 of its content, written once;
- ``parts/<upload>/<number>`` (five digits): a part of one of gopush's own multipart
  uploads, replaced when the part is sent again, deleted with the upload.

Where the endpoint and the credentials come from: the AWS client's own rules (the
``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``
and ``AWS_PROFILE`` variables, ``~/.aws/config``, an instance role...); gopush reads none of
them itself, and names the store in logs and errors by bucket, prefix and endpoint only.

**Written once.** ``commit`` asks whether the blob is there (HEAD) and stores it only if
not, with ``If-None-Match: *``: the server refuses (412) to replace an object that appeared
meanwhile, so of two instances storing the same bytes at once exactly one is told "new".
Ceph RGW 16.2 honours the condition on a plain PUT but ignores it when completing a
multipart upload (measured: tests/test_blobs_s3.py; AWS S3 honours both since 2024): two
writers of one large blob may then both store it and both be told "new". The bytes are the
same, so the object is whole and right either way; only the "new" flag can be wrong, see
``commit``.

**Integrity on the way.** Each PUT and each part of a multipart upload carries
``Content-MD5``, which every S3 server checks (a changed byte is refused with BadDigest).
The client's newer CRC checksums are only sent where an operation requires one: RGW 16.2
accepts and ignores them, and some S3-compatible servers refuse their streamed (trailer)
form. Every read is verified against the blob's name (``blobs.Blobs``).

**Large blobs** (from ``MULTIPART_BYTES``) go up in ``PART_BYTES`` parts through the client's
transfer manager, ``TRANSFER_THREADS`` at a time, read from the scratch file as they go:
memory stays within a few parts whatever the size. Reads stream in pieces of a MiB.

**Deadlines.** Every request has a connect timeout and a timeout per read of the socket
(``TIMEOUTS``) and at most ``ATTEMPTS`` attempts (the client's
"standard" retries, with backoff, for throttling, 5xx and broken connections); a streamed
read that breaks half-way resumes from where it stopped (a ranged GET), as often.
``check`` (``/readyz``) makes one attempt with shorter timeouts.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions as boto_errors
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config

from gopush.errors import ConfigError
from gopush.redaction import redact
from gopush.server.blobs import (
    _COPY_BYTES,
    BlobMissing,
    BlobStoreUnavailable,
    Incoming,
    _verified,
    is_sha256,
    sweep_scratch,
)
from gopush.server.redaction import redacted
from gopush.server.space import Space

TIMEOUTS = (5.0, 20.0)  # seconds to connect, and to wait for each read of the socket
ATTEMPTS = 3  # per request, the first included
CHECK_TIMEOUTS = (2.0, 5.0)  # /readyz: one attempt, answered within a balancer's patience
MULTIPART_BYTES = 16 << 20  # from this size a blob goes up in parts
PART_BYTES = 8 << 20
TRANSFER_THREADS = 4
DELETE_BATCH = 1000  # S3's most keys per DeleteObjects
STALE_UPLOAD = timedelta(days=1)  # an unfinished multipart upload this old was abandoned

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_UPLOAD = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
# a response body that breaks off half-way: resumed from where it stopped
_BROKEN_STREAM = (boto_errors.ReadTimeoutError, boto_errors.ResponseStreamingError,
                  boto_errors.IncompleteReadError, boto_errors.ConnectionClosedError)


def _client_config(timeouts: tuple[float, float], attempts: int) -> Config:
    return Config(connect_timeout=timeouts[0], read_timeout=timeouts[1],
                  retries={"mode": "standard", "total_max_attempts": attempts},
                  request_checksum_calculation="when_required",
                  response_checksum_validation="when_required",
                  max_pool_connections=2 * TRANSFER_THREADS)


def parse_s3_url(url: str) -> tuple[str, str]:
    """Return the bucket and the key prefix (``""`` or ending in ``/``) of ``s3://BUCKET/PREFIX``.

    Raises:
        ConfigError: not such a URL, a bucket name S3 refuses, or credentials in the URL.
    """
    hint = "pass s3://BUCKET or s3://BUCKET/PREFIX; credentials come from the AWS variables"
    if not url.startswith("s3://"):
        raise ConfigError(f"{redacted(url)!r} is not an s3:// URL", hint=hint)
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if "@" in bucket or ":" in bucket:
        raise ConfigError("an s3:// URL names a bucket, never credentials or a host "
                          f"({redacted(url)!r})", hint=hint)
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(f"{bucket!r} is not an S3 bucket name (3 to 63 lower-case letters, "
                          "digits, dots and hyphens)", hint=hint)
    if any(c in prefix for c in "?#") or any(p in (".", "..") for p in prefix.split("/")):
        raise ConfigError(f"{prefix!r} is not a key prefix for the blobs", hint=hint)
    prefix = "/".join(p for p in prefix.split("/") if p)
    return bucket, f"{prefix}/" if prefix else ""


def open_s3_blobs(url: str, scratch: Path, space: Space) -> S3Blobs:
    """Open the store ``s3://BUCKET/PREFIX`` names, with the client's own endpoint and
    credentials; scratch files go to ``scratch`` (this process's own directory).

    Raises:
        ConfigError: a malformed URL, or no credentials anywhere the client looks.
    """
    bucket, prefix = parse_s3_url(url)
    session = boto3.session.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise ConfigError(f"no AWS credentials for {url}",
                          hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")
    frozen = credentials.get_frozen_credentials()
    client = session.client("s3", config=_client_config(TIMEOUTS, ATTEMPTS))
    probe = session.client("s3", config=_client_config(CHECK_TIMEOUTS, 1))
    hidden = [s for s in (frozen.secret_key, frozen.token) if s]
    return S3Blobs(client, probe, bucket, prefix, scratch, space, hidden)


class S3Blobs:
    """The ``Blobs`` protocol over one bucket and key prefix; see the module docstring."""

    def __init__(self, client: Any, probe: Any, bucket: str, prefix: str, scratch: Path,
                 space: Space, secrets: Iterable[str] = ()) -> None:
        self.client = client
        self.probe = probe  # the same, with one short attempt per call (check)
        self.bucket = bucket
        self.prefix = prefix
        self.tmp = scratch
        self.space = space
        self._secrets = tuple(secrets)
        self.endpoint = redacted(client.meta.endpoint_url)
        scratch.mkdir(parents=True, exist_ok=True)
        events = client.meta.events
        events.register("before-call.s3.UploadPart", _add_content_md5)
        events.register("before-parameter-build.s3.CompleteMultipartUpload", self._only_once)

    def describe(self) -> str:
        """Return bucket, prefix and endpoint (no credentials)."""
        return f"s3://{self.bucket}/{self.prefix} at {self.endpoint}"

    # -- keys --------------------------------------------------------------------------------

    def _blob_key(self, sha256: str) -> str:
        if not is_sha256(sha256):
            raise BlobMissing(f"{sha256!r} is not the SHA-256 of a blob")
        return f"{self.prefix}sha256/{sha256}"

    def _part_prefix(self, upload: str) -> str:
        if not _UPLOAD.fullmatch(upload):
            raise ValueError(f"{upload!r} is not an upload identifier")
        return f"{self.prefix}parts/{upload}/"

    # -- writing -----------------------------------------------------------------------------

    def incoming(self, label: str = "upload") -> Incoming:
        """Return a new, empty scratch file to fill."""
        return Incoming(self.tmp / f"{label}-{secrets.token_hex(8)}", self.space)

    def commit(self, incoming: Incoming) -> tuple[str, bool]:
        """Store a finished scratch file under its SHA-256 unless it is there; remove the
        scratch file; return the SHA-256 and whether this call stored it.

        "Stored it" is exact for a plain PUT (``If-None-Match: *``) and for a multipart one
        where the server honours the condition (AWS); on Ceph RGW 16.2 two instances
        storing one large blob at the same moment may both be told True (same bytes: the
        object is right). On failure the scratch file is left to the caller.
        """
        incoming.finish()
        sha = incoming.sha256
        key = self._blob_key(sha)
        if self.exists(sha):
            incoming.discard()
            return sha, False
        new = self._upload(incoming, key, once=True)
        incoming.discard()
        return sha, new

    def put_bytes(self, data: bytes, label: str = "small") -> str:
        """Store small ``data`` (a go.mod) unless it is there; return its SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        if not self.exists(sha):
            self._put(self._blob_key(sha), data,
                      hashlib.md5(data, usedforsecurity=False).hexdigest(), once=True)
        return sha

    def _upload(self, incoming: Incoming, key: str, *, once: bool) -> bool:
        """Upload a finished scratch file to ``key``; return False if ``once`` and the key
        was taken meanwhile (the server refused with 412)."""
        if incoming.size < MULTIPART_BYTES:
            with incoming.path.open("rb") as body:
                return self._put(key, body, _md5_of(incoming), once=once)
        config = TransferConfig(multipart_threshold=MULTIPART_BYTES,
                                multipart_chunksize=PART_BYTES,
                                max_concurrency=TRANSFER_THREADS,
                                preferred_transfer_client="classic")
        try:
            with create_transfer_manager(self.client, config) as manager:
                manager.upload(str(incoming.path), self.bucket, key).result()
        except boto_errors.ClientError as err:
            if once and _code(err) == "PreconditionFailed":
                return False
            raise self._unavailable(err, f"storing {key}") from None
        except boto_errors.BotoCoreError as err:
            raise self._unavailable(err, f"storing {key}") from None
        return True

    def _put(self, key: str, body: Any, md5: str, *, once: bool) -> bool:
        """PUT ``body`` (bytes or a file) with its ``Content-MD5`` (``md5``: hex); see
        ``_upload``."""
        digest = bytes.fromhex(md5)
        extra = {"IfNoneMatch": "*"} if once else {}
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body,
                                   ContentMD5=base64.b64encode(digest).decode(), **extra)
        except boto_errors.ClientError as err:
            if once and _code(err) == "PreconditionFailed":
                return False
            raise self._unavailable(err, f"storing {key}") from None
        except boto_errors.BotoCoreError as err:
            raise self._unavailable(err, f"storing {key}") from None
        return True

    def _only_once(self, params: dict[str, Any], **_: Any) -> None:
        """Complete the transfer manager's multipart uploads of blobs (never of parts) with
        ``If-None-Match: *``, as ``_put`` does."""
        if params.get("Key", "").startswith(f"{self.prefix}sha256/"):
            params["IfNoneMatch"] = "*"

    # -- reading -----------------------------------------------------------------------------

    def exists(self, sha256: str) -> bool:
        """Tell whether the blob is in the bucket (a HEAD)."""
        if not is_sha256(sha256):
            return False
        key = self._blob_key(sha256)
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except boto_errors.ClientError as err:
            if _code(err) in _MISSING:
                return False
            raise self._unavailable(err, f"looking for {key}") from None
        except boto_errors.BotoCoreError as err:
            raise self._unavailable(err, f"looking for {key}") from None
        return True

    def read_bytes(self, sha256: str) -> bytes:
        """Return the verified content of a small blob."""
        return b"".join(self.chunks(sha256))

    def chunks(self, sha256: str) -> Iterator[bytes]:
        """Yield the blob's content in pieces of about a MiB; raise ``BlobCorrupt`` after
        the last one if it does not hash to ``sha256``."""
        digest = hashlib.sha256()
        for chunk in self._stream(self._blob_key(sha256), f"blob {sha256}"):
            digest.update(chunk)
            yield chunk
        _verified(sha256, digest.hexdigest(), self.describe())

    @contextmanager
    def local_copy(self, sha256: str) -> Iterator[Path]:
        """Download the blob to a scratch file, verify it, give its path for the ``with``
        block and remove it after (also when the download or the check fails)."""
        copy = self.incoming("copy")
        try:
            for chunk in self._stream(self._blob_key(sha256), f"blob {sha256}"):
                copy.write(chunk)
            copy.finish()
            _verified(sha256, copy.sha256, self.describe())
            yield copy.path
        finally:
            copy.discard()

    def _stream(self, key: str, what: str) -> Iterator[bytes]:
        """Yield the object's content in pieces of a MiB, resuming a broken body with a
        ranged GET at most ``ATTEMPTS - 1`` times.

        Raises:
            BlobMissing: no such object.
            BlobStoreUnavailable: the store could not be reached, or the body broke off
                once too often.
        """
        offset, breaks = 0, 0
        while True:
            body = self._get(key, what, offset)
            try:
                for chunk in body.iter_chunks(_COPY_BYTES):
                    offset += len(chunk)
                    yield chunk
                return
            except _BROKEN_STREAM as err:
                breaks += 1
                if breaks >= ATTEMPTS:
                    raise self._unavailable(err, f"reading {key}") from None
            finally:
                body.close()

    def _get(self, key: str, what: str, offset: int) -> Any:
        """Start a GET of ``key`` from ``offset``; return its streaming body."""
        extra = {"Range": f"bytes={offset}-"} if offset else {}
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"]
        except boto_errors.ClientError as err:
            if _code(err) in _MISSING:
                raise BlobMissing(f"{what} is missing from {self.describe()}") from None
            raise self._unavailable(err, f"reading {key}") from None
        except boto_errors.BotoCoreError as err:
            raise self._unavailable(err, f"reading {key}") from None

    def names(self) -> Iterator[str]:
        """Yield the SHA-256 of every blob in the bucket under the prefix (a paginated
        listing, a thousand keys a page)."""
        for obj in self._list(f"{self.prefix}sha256/"):
            name = obj["Key"].rpartition("/")[2]
            if is_sha256(name):
                yield name

    def _list(self, prefix: str) -> Iterator[dict[str, Any]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=prefix)
        try:
            for page in pages:
                yield from page.get("Contents", [])
        except (boto_errors.ClientError, boto_errors.BotoCoreError) as err:
            raise self._unavailable(err, f"listing {prefix}") from None

    # -- deleting ----------------------------------------------------------------------------

    def delete(self, sha256s: Iterable[str]) -> None:
        """Delete these blobs, a thousand a request (missing ones are ignored)."""
        self._delete_keys(self._blob_key(sha) for sha in sha256s if is_sha256(sha))

    def _delete_keys(self, keys: Iterable[str]) -> None:
        batch: list[str] = []
        for key in keys:
            batch.append(key)
            if len(batch) == DELETE_BATCH:
                self._delete_batch(batch)
                batch = []
        if batch:
            self._delete_batch(batch)

    def _delete_batch(self, keys: list[str]) -> None:
        try:
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        except (boto_errors.ClientError, boto_errors.BotoCoreError) as err:
            raise self._unavailable(err, f"deleting {len(keys)} objects") from None
        failed = [e for e in answer.get("Errors", []) if e.get("Code") not in _MISSING]
        if failed:
            raise BlobStoreUnavailable(
                f"{self.describe()} refused to delete {len(failed)} of {len(keys)} objects, "
                f"first {failed[0].get('Key')}: {failed[0].get('Code')}")

    def sweep(self, older_than: float | None = None) -> int:
        """Delete scratch files left by an interrupted run (see ``Blobs.sweep``), and abort
        the multipart uploads of blobs begun more than ``STALE_UPLOAD`` ago (an instance that
        died while storing a large blob); return how many of both."""
        return sweep_scratch(self.tmp.iterdir(), older_than) + self._abort_stale_uploads()

    def _abort_stale_uploads(self) -> int:
        before = datetime.now(UTC) - STALE_UPLOAD
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}sha256/")
        aborted = 0
        try:
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < before:
                        self.client.abort_multipart_upload(Bucket=self.bucket,
                                                           Key=upload["Key"],
                                                           UploadId=upload["UploadId"])
                        aborted += 1
        except (boto_errors.ClientError, boto_errors.BotoCoreError) as err:
            raise self._unavailable(err, "aborting abandoned multipart uploads") from None
        return aborted

    # -- the parts of gopush's own multipart uploads ------------------------------------------

    def put_part(self, upload: str, number: int, incoming: Incoming) -> None:
        """Keep a finished scratch file as part ``number`` of ``upload`` (replacing one
        sent before under that number); remove the scratch file."""
        incoming.finish()
        self._upload(incoming, f"{self._part_prefix(upload)}{number:05d}", once=False)
        incoming.discard()

    def parts(self, upload: str) -> dict[int, int]:
        """Return the parts of ``upload`` kept so far: number → size in bytes."""
        found = {}
        for obj in self._list(self._part_prefix(upload)):
            name = obj["Key"].rpartition("/")[2]
            if name.isdigit():
                found[int(name)] = int(obj["Size"])
        return found

    def part_chunks(self, upload: str, number: int) -> Iterator[bytes]:
        """Yield the content of one part in pieces of a MiB."""
        key = f"{self._part_prefix(upload)}{number:05d}"
        yield from self._stream(key, f"part {number} of upload {upload}")

    def delete_parts(self, upload: str) -> None:
        """Delete every part of ``upload``."""
        self._delete_keys(obj["Key"] for obj in self._list(self._part_prefix(upload)))

    # -- health ------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise ``BlobStoreUnavailable`` naming why unless the bucket answers a HEAD now
        (one attempt, within the two ``CHECK_TIMEOUTS``)."""
        try:
            self.probe.head_bucket(Bucket=self.bucket)
        except boto_errors.ClientError as err:
            raise self._unavailable(self._why_refused(err), "checking the bucket",
                                    CHECK_TIMEOUTS) from None
        except boto_errors.BotoCoreError as err:
            raise self._unavailable(err, "checking the bucket", CHECK_TIMEOUTS) from None

    def _why_refused(self, err: boto_errors.ClientError) -> boto_errors.ClientError:
        """Return the error a listing gets when a HEAD was refused (403, 400): a HEAD's
        answer has no body, a listing's names the cause (unknown key, wrong secret)."""
        if _status(err) not in (400, 403):
            return err
        try:
            self.probe.list_objects_v2(Bucket=self.bucket, MaxKeys=1)
        except boto_errors.ClientError as listed:
            return listed
        except boto_errors.BotoCoreError:
            pass
        return err

    def _unavailable(self, err: Exception, doing: str,
                     timeouts: tuple[float, float] = TIMEOUTS) -> BlobStoreUnavailable:
        """Return the ``BlobStoreUnavailable`` for ``err`` (raised by a client with these
        connect and read ``timeouts``), naming the cause and the store, never a credential."""
        text = f"{self.describe()}: {doing}: {self._cause(err, timeouts)}"
        return BlobStoreUnavailable(redact(text, self._secrets), hint=_hint(err),
                                    cause=_public_cause(err))

    def _cause(self, err: Exception, timeouts: tuple[float, float]) -> str:
        if isinstance(err, boto_errors.ClientError):
            return _refusal(err, self.bucket)
        if isinstance(err, boto_errors.ConnectTimeoutError):
            return f"no connection within {timeouts[0]:g} s"
        if isinstance(err, boto_errors.ReadTimeoutError):
            return f"no answer within {timeouts[1]:g} s"
        if isinstance(err, boto_errors.EndpointConnectionError):
            return f"cannot connect: {_socket_cause(err)}"
        if isinstance(err, boto_errors.ConnectionClosedError):
            return "the server closed the connection before answering"
        if isinstance(err, boto_errors.SSLError):
            return f"TLS failed: {_socket_cause(err)}"
        if isinstance(err, boto_errors.NoCredentialsError):
            return "no credentials"
        return f"{type(err).__name__}: {err}"


def _md5_of(incoming: Incoming) -> str:
    """Return the hex MD5 of a finished scratch file: its running digest, or for a part the
    kernel copied in unhashed (``Incoming.copy_range``) the file read again, a MiB at a time."""
    if incoming.hashed:
        return incoming.md5
    md5 = hashlib.md5(usedforsecurity=False)
    with incoming.path.open("rb") as body:
        while chunk := body.read(_COPY_BYTES):
            md5.update(chunk)
    return md5.hexdigest()


_CREDENTIALS_REFUSED = frozenset({"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied",
                                  "403", "ExpiredToken"})


def _public_cause(err: Exception) -> str:
    """Say why in words that anyone may read (``BlobStoreUnavailable.cause``, ``/readyz``):
    a fixed phrase per kind of failure, never the endpoint, bucket, key or a credential
    (``_cause`` says more, for the log)."""
    if isinstance(err, boto_errors.ClientError):
        code, status = _code(err), _status(err)
        headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        if status and "x-amz-request-id" not in headers:
            return "its endpoint does not answer as an S3 server"
        if code == "NoSuchBucket" or (code == "404" and err.operation_name == "HeadBucket"):
            return "its bucket does not exist"
        if code in _CREDENTIALS_REFUSED:
            return "it refuses the server's credentials"
        if code == "RequestTimeTooSkewed":
            return "this machine's clock is too far from the store's"
        return f"it answered HTTP {status}" if status else "it refused the request"
    if isinstance(err, boto_errors.ConnectTimeoutError):
        return "no connection in time"
    if isinstance(err, boto_errors.ReadTimeoutError):
        return "no answer in time"
    if isinstance(err, boto_errors.SSLError):
        return "TLS failed"
    if isinstance(err, boto_errors.EndpointConnectionError):
        return "connection refused" if _socket_cause(err) == "connection refused" \
            else "cannot connect"
    if isinstance(err, boto_errors.ConnectionClosedError):
        return "the connection closed before an answer"
    return "it cannot be reached"


def _code(err: boto_errors.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _status(err: boto_errors.ClientError) -> int:
    return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


_REFUSALS = {
    "InvalidAccessKeyId": "the access key (AWS_ACCESS_KEY_ID) is not known to the server",
    "SignatureDoesNotMatch": "the secret key (AWS_SECRET_ACCESS_KEY) does not match the "
                             "access key",
    "AccessDenied": "access denied",
    "403": "access denied",
    "RequestTimeTooSkewed": "this machine's clock is too far from the server's",
    "ExpiredToken": "the session token has expired",
    "BadDigest": "the bytes changed on the way (not the MD5 sent with them)",
    "XAmzContentSHA256Mismatch": "the bytes changed on the way (not the SHA-256 signed)",
}


_CHANGED = frozenset({"BadDigest", "XAmzContentSHA256Mismatch"})


def _refusal(err: boto_errors.ClientError, bucket: str) -> str:
    """Say in words why the server refused, from its error code and status (never its
    message, which may quote a request)."""
    code, status = _code(err), _status(err)
    headers = err.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    if status and "x-amz-request-id" not in headers:
        return (f"the endpoint answered HTTP {status} but not as an S3 server (no "
                "x-amz-request-id): is AWS_ENDPOINT_URL right?")
    if code in ("NoSuchBucket",) or (code == "404" and err.operation_name == "HeadBucket"):
        return f"no bucket {bucket!r} at this endpoint"
    if code in ("PermanentRedirect", "301"):
        region = headers.get("x-amz-bucket-region", "another region")
        return f"bucket {bucket!r} is in {region}: set AWS_REGION to it"
    if code in _REFUSALS:
        return f"{_REFUSALS[code]} ({code})"
    return f"the server answered {code or 'an error'} (HTTP {status})"


def _hint(err: Exception) -> str:
    if isinstance(err, boto_errors.ClientError) and _code(err) in _CHANGED:
        return "try again: nothing was stored"
    if isinstance(err, boto_errors.ClientError) and _code(err) in _REFUSALS:
        return "check the AWS credentials gopush serve runs with and the bucket's policy"
    if isinstance(err, boto_errors.ClientError) and _code(err) in ("NoSuchBucket", "404"):
        return "create the bucket, or fix the bucket name in --blobs s3://BUCKET/PREFIX"
    return "check that the S3 endpoint (AWS_ENDPOINT_URL) is up and reachable"


def _socket_cause(err: Exception) -> str:
    """Name the socket-level cause under a client error (refused, unresolved, timed out)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return f"host name not resolved ({seen.strerror})"
        if isinstance(seen, ssl.SSLError):
            return seen.reason or str(seen)
        seen = seen.__cause__ or seen.__context__ or _wrapped(seen)
    return str(err)


def _wrapped(err: BaseException) -> BaseException | None:
    """Return the exception a botocore error keeps in its ``error`` field, if any."""
    inner = getattr(err, "kwargs", {}).get("error")
    return inner if isinstance(inner, BaseException) else None


def _add_content_md5(params: dict[str, Any], **_: Any) -> None:
    """Give a part of a multipart upload its ``Content-MD5`` (the server refuses a part
    changed on the way); the body is bytes or a seekable file the transfer manager hands."""
    if "Content-MD5" in params["headers"]:
        return
    body = params["body"]
    md5 = hashlib.md5(usedforsecurity=False)
    if isinstance(body, bytes | bytearray):
        md5.update(body)
    else:
        start = body.tell()
        while chunk := body.read(_COPY_BYTES):
            md5.update(chunk)
        body.seek(start)
    params["headers"]["Content-MD5"] = base64.b64encode(md5.digest()).decode()
