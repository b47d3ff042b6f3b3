"""CloudsmithRegistry.publish when the upload slot disappears (registry restarted, slot
expired): a new upload is started, at most ``SLOT_RENEWALS`` times, never reported as a
permissions error. Answers as `gopush serve` gives them (403 for a form POST, 404 for a
part), through the pytest-httpx fake."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from registry.fakeapi import FakeApi
from registry.test_cloudsmith import big_zip, open_fake

from gopush.actions.artifact import load_artifact
from gopush.errors import AuthError, ExitCode, RegistryUnavailable
from gopush.registry import cloudsmith

pytestmark = pytest.mark.usefixtures("no_backoff")
GONE_FORM = httpx.Response(403, json={"detail": "Unknown or expired upload slot."})
GONE_PART = httpx.Response(404, json={"detail": "Not found."})


@pytest.fixture
def api(httpx_mock) -> FakeApi:
    """The fake Cloudsmith API on every httpx transport."""
    fake = FakeApi()
    httpx_mock.add_callback(fake, is_reusable=True, is_optional=True)
    return fake


def test_a_form_upload_whose_slot_is_gone_starts_again(api: FakeApi, tmp_path: Path) -> None:
    """403 on the form POST: a second slot, a second POST, and the package is created;
    progress is rewound so it counts the zip once."""
    artifact = load_artifact(big_zip(tmp_path, 3000))
    api.on("upload", GONE_FORM)
    sent: list[int] = []
    published = open_fake().publish(artifact, republish=False, on_progress=sent.append)
    assert api.steps()[-5:] == ["slot", "upload", "slot", "upload", "create"]
    assert published.package and sum(sent) == artifact.size


def test_parts_whose_slot_is_gone_start_again(api: FakeApi, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """404 on part 2: a new slot, every part again from part 1, then complete."""
    monkeypatch.setattr(cloudsmith, "PART_SIZE", 4096)
    artifact = load_artifact(big_zip(tmp_path, 10_000))
    api.on("part", httpx.Response(200), GONE_PART)
    sent: list[int] = []
    open_fake().publish(artifact, republish=False, on_progress=sent.append)
    assert api.steps()[-9:] == ["slot", "part", "part", "slot", "part", "part", "part",
                                "complete", "create"]
    assert sum(sent) == artifact.size


def test_a_slot_lost_every_time_ends_as_unavailable(api: FakeApi, tmp_path: Path) -> None:
    """Three slots lost in a row: exit 6 with the registry's answer, not a key problem."""
    artifact = load_artifact(big_zip(tmp_path, 3000))
    api.on("upload", GONE_FORM, GONE_FORM, GONE_FORM)
    with pytest.raises(RegistryUnavailable) as caught:
        open_fake().publish(artifact, republish=False, on_progress=lambda n: None)
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert "Unknown or expired upload slot." in caught.value.message
    assert "disappeared 3 times" in caught.value.message
    assert "write access" not in (caught.value.hint or "")
    assert api.steps().count("slot") == 3


def test_a_refused_slot_request_is_not_retried(api: FakeApi, tmp_path: Path) -> None:
    """A 403 on the slot request itself is the key's permissions: reported at once."""
    artifact = load_artifact(big_zip(tmp_path, 3000))
    api.on("slot", httpx.Response(403, json={"detail": "Forbidden."}))
    with pytest.raises(AuthError):
        open_fake().publish(artifact, republish=False, on_progress=lambda n: None)
    assert api.steps().count("slot") == 1
