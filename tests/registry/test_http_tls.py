"""registry.http.LazyTlsTransport against real servers on 127.0.0.1: TLS set up only for https."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from gopush.registry.http import make_client


class Hello(BaseHTTPRequestHandler):
    """Answers every GET with 200 and a small JSON body."""

    def do_GET(self) -> None:
        """Reply 200 {"ok": true}."""
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet."""


def self_signed(root: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return both paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (root / "cert.pem").write_bytes(cert.public_bytes(pem))
    (root / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return root / "cert.pem", root / "key.pem"


def serve(tls: tuple[Path, Path] | None) -> Iterator[str]:
    """Run Hello on a free loopback port (over TLS when given a cert and key); yield its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hello)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1."""
    return self_signed(tmp_path)


@pytest.fixture
def https_url(cert: tuple[Path, Path]) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 with the self-signed certificate."""
    yield from serve(cert)


@pytest.fixture
def http_url() -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1."""
    yield from serve(None)


def test_plain_http_needs_no_tls_setup(http_url: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain-http client works even when the CA file it would load for TLS is missing."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with make_client(http_url) as client:
        assert client.get("/x").json() == {"ok": True}


def test_https_trusts_ssl_cert_file(https_url: str, cert: tuple[Path, Path],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """An https request verifies the server against SSL_CERT_FILE, read at first use."""
    with make_client(https_url) as client:
        monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
        assert client.get("/x").json() == {"ok": True}


def test_https_refuses_an_untrusted_certificate(https_url: str) -> None:
    """Without the certificate among the trusted ones, the TLS handshake is refused."""
    with make_client(https_url) as client, pytest.raises(httpx.ConnectError,
                                                         match="CERTIFICATE_VERIFY_FAILED"):
        client.get("/x")


def test_one_client_speaks_http_and_https(http_url: str, https_url: str,
                                          cert: tuple[Path, Path],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A client on an http host still reaches an https upload URL with full verification."""
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
    with make_client(http_url) as client:
        assert client.get("/x").json() == {"ok": True}
        assert client.get(f"{https_url}/upload").json() == {"ok": True}
