"""Two servers must never share a data directory: the second one refuses to start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gopush.errors import ConfigError
from gopush.server.run import open_storage


def test_second_server_on_same_data_dir_is_refused(tmp_path: Path) -> None:
    """While one storage holds the lock, opening the same --data again is a ConfigError."""
    first = open_storage(tmp_path / "data", [])
    with pytest.raises(ConfigError, match="in use by another gopush serve") as refused:
        open_storage(tmp_path / "data", [])
    assert refused.value.hint and "--data" in refused.value.hint
    os.close(first.data_lock)  # what process exit does
    open_storage(tmp_path / "data", [])
