"""A Cloudsmith-style API answered through pytest-httpx, with per-step overrides.

``FakeApi`` is installed as one reusable pytest-httpx callback. Each request is named by its
step ("list", "info", "zip", "validate_pkg", "validate_file", "slot", "upload", "part",
"complete", "create", "status", "resync", "whoami"); a test queues replacement answers (responses,
exceptions, or callables) for a step, and every request is recorded with its body.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

HOST = "https://registry.test"
KEY = "gpk_live_7f3c9a1e5b2d4c6a8e0f1a2b"  # a distinctive string to search output for
SLOT = "Fq3vL0b2xYzA"
SLUG = "example-com-hello-v100-x1y2"

ROUTES: list[tuple[str, str, str]] = [
    ("GET", r"/packages/acme/gomods/$", "list"),
    ("GET", r"/go/acme/gomods/.*/@v/[^/]+\.info$", "info"),
    ("GET", r"/go/acme/gomods/.*/@v/[^/]+\.zip$", "zip"),
    ("POST", r"/packages/acme/gomods/validate-upload/go/$", "validate_pkg"),
    ("POST", r"/files/acme/gomods/validate/$", "validate_file"),
    ("POST", r"/files/acme/gomods/$", "slot"),
    ("POST", rf"/_upload/{SLOT}$", "upload"),
    ("PUT", rf"/_upload/{SLOT}$", "part"),
    ("POST", rf"/files/acme/gomods/{SLOT}/complete/$", "complete"),
    ("POST", r"/packages/acme/gomods/upload/go/$", "create"),
    ("GET", rf"/packages/acme/gomods/{SLUG}/status/$", "status"),
    ("POST", rf"/packages/acme/gomods/{SLUG}/resync/$", "resync"),
    ("GET", r"/user/self/$", "whoami"),
    ("GET", r"/repos/acme/$", "repos"),
]

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


@dataclass
class Seen:
    """One request as the fake saw it."""

    step: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApi:
    """The fake registry: default happy answers, queued overrides, a request log."""

    method_for_size: Callable[[int], str] | None = None
    queued: dict[str, list[Answer]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    packages: list[dict[str, Any]] = field(default_factory=list)
    published_zip: bytes | None = None

    def on(self, step: str, *answers: Answer) -> None:
        """Queue answers for the next requests of ``step`` (then the default resumes)."""
        self.queued.setdefault(step, []).extend(answers)

    def steps(self) -> list[str]:
        """Return the steps requested, in order."""
        return [s.step for s in self.seen]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        step = _step(request)
        body = request.read()
        self.seen.append(Seen(step, request.method, str(request.url), dict(request.headers),
                              body))
        queue = self.queued.get(step)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer(request) if callable(answer) else answer
        return self.default(step, request)

    def default(self, step: str, request: httpx.Request) -> httpx.Response:
        """Answer like a healthy registry holding ``packages``."""
        if step == "list":
            return httpx.Response(200, json=self.packages)
        if step in ("info", "zip"):
            if self.published_zip is None:
                return httpx.Response(404, text="not found")
            if step == "info":
                return httpx.Response(200, json={"Version": "v1.0.0",
                                                 "Time": "2024-01-01T00:00:00Z"})
            return httpx.Response(200, content=self.published_zip)
        if step == "slot":
            return httpx.Response(202, json={"identifier": SLOT,
                                             "upload_url": f"{HOST}/_upload/{SLOT}",
                                             "upload_fields": {"key": f"in/{SLOT}"}})
        if step == "create":
            return httpx.Response(201, json={"slug": SLUG, "slug_perm": "AbCdEf123456"})
        if step == "status":
            return httpx.Response(200, json={"is_sync_completed": True, "is_sync_failed": False,
                                             "sync_progress": 100, "status_str": "Completed"})
        if step == "repos":
            return httpx.Response(200, json=[{"name": "gomods", "slug": "gomods",
                                              "namespace": "acme"}])
        if step == "whoami":
            return httpx.Response(200, json={"authenticated": True, "slug": "dev",
                                             "name": "Dev Example", "email": "dev@example.test"})
        return httpx.Response(204 if "validate" in step else 200)


def _step(request: httpx.Request) -> str:
    path = request.url.path
    for method, pattern, step in ROUTES:
        if request.method == method and re.search(pattern, path):
            return step
    raise AssertionError(f"unexpected request {request.method} {request.url}")
