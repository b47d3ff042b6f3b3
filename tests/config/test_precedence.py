"""One precedence table for every client setting: flag > environment > config file > default.

The first test walks every row of ``precedence.ROWS``, filling every place the row has and
emptying them best first; the second checks the same order through ``load_settings`` for the
settings a push reports the source of, with real config files on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from gopush.config.precedence import ROWS, Places
from gopush.config.settings import SettingsInput, load_settings


def _places_of(name: str) -> list[str]:
    """The places of row ``name``, best first, as labels."""
    row = ROWS[name]
    found = [row.flag] if row.flag else []
    found += list(row.env)
    if row.in_registry:
        found.append("config.toml [registries.r]")
    if row.in_default:
        found.append("config.toml [default]")
    if row.ini:
        found.append("/ini/config.ini")
    return found


@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_row_takes_its_best_place_first(name: str) -> None:
    places = _places_of(name)
    assert places, f"{name} can be set nowhere"
    for dropped in range(len(places) + 1):
        present = set(places[dropped:])
        flags = {name: "from-flag"} if ROWS[name].flag in present else {}
        environ = {var: f"from-{var}" for var in ROWS[name].env if var in present}
        entry = {name: "from-registry"} if "config.toml [registries.r]" in present else {}
        config = ({"default": {name: "from-default"}}
                  if "config.toml [default]" in present else {})
        ini = ({name: ("from-ini", "/ini/config.ini", True)}
               if "/ini/config.ini" in present else {})
        value, source = Places(flags, environ, config, entry, "r", ini).pick(name)
        if dropped == len(places):
            assert (value, source) == (ROWS[name].default, "default")
        else:
            assert source == places[dropped], (name, present)


def _load(tmp_path: Path, environ: dict[str, str], **flags: object) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text('[default]\nrequest_timeout = 30\npart_size = 10\napi_key = "file-key"\n'
                      'read_token = "file-token"\napi_host = "https://from-file.example"\n'
                      '[registries.r]\ngoproxy = "https://proxy-file.example/"\n'
                      'repository = "acme/r"\n')
    given = SettingsInput(environ={"GOPUSH_NO_KEYRING": "1", **environ}, cwd=tmp_path,
                          config_file=config, registry="r", **flags)  # type: ignore[arg-type]
    return dict(load_settings(given).sources)


@pytest.mark.parametrize(("name", "flag", "variable", "file_source"), [
    ("api_host", "https://from-flag.example", "GOPUSH_API_HOST", "config.toml [default]"),
    ("goproxy", "https://proxy-flag.example/", "GOPUSH_GOPROXY", "config.toml [registries.r]"),
    ("request_timeout", 60.0, "GOPUSH_REQUEST_TIMEOUT", "config.toml [default]"),
    ("part_size", 20, "GOPUSH_PART_SIZE", "config.toml [default]"),
    ("api_key", "flag-key", "GOPUSH_API_KEY", "config.toml [default]"),
])
def test_load_settings_flag_beats_variable_beats_file(tmp_path: Path, name: str, flag: object,
                                                      variable: str, file_source: str) -> None:
    value = "https://from-env.example" if "http" in str(flag) else "40" if isinstance(
        flag, int | float) else "env-key"
    assert _load(tmp_path, {})[name] == file_source
    assert _load(tmp_path, {variable: value})[name] == variable
    assert _load(tmp_path, {variable: value}, **{name: flag})[name] == ROWS[name].flag


def test_read_token_variable_beats_file(tmp_path: Path) -> None:
    assert _load(tmp_path, {})["read_token"] == "config.toml [default]"
    assert _load(tmp_path, {"GOPUSH_READ_TOKEN": "t"})["read_token"] == "GOPUSH_READ_TOKEN"
