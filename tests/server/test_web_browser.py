"""The web page in a real headless browser (Debian's chromium, driven by selenium through
chromium-driver) against a real `gopush serve`: browse a public repository anonymously, see
nothing of a private one, sign in with an API key, upload a zip `gopush build` made through
the form, and the real go downloads that version with the pushed h1:.

Screenshots of the main pages are kept in ``$GOPUSH_WEB_SCREENSHOTS`` (default: a
``screenshots`` directory in the test's pytest tmp dir). Skipped, saying why, when chromium,
chromium-driver or selenium are missing (``apt-get install chromium chromium-driver``;
selenium is in the test extras).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import KEY, Served, gopush_build, tagged_module
from test_web import PUBLIC_MOD, SECRET_MOD, two_repos

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
UPLOADED = "example.com/webupload"
# read at import: the isolation fixture in tests/conftest.py clears GOPUSH_* before each test
SCREENSHOTS = os.environ.get("GOPUSH_WEB_SCREENSHOTS")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="the browser test needs Debian's chromium and chromium-driver "
           "(apt-get install -y chromium chromium-driver)")


@pytest.fixture
def browser() -> Iterator[Any]:
    """Return a headless chromium driven by selenium (closed after the test)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test "
                                    "extras: pip install -e '.[test]'")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", "--no-proxy-server"):
        options.add_argument(arg)
    options.binary_location = str(CHROMIUM)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Return the directory the screenshots go to (``GOPUSH_WEB_SCREENSHOTS`` or tmp)."""
    where = Path(SCREENSHOTS).resolve() if SCREENSHOTS else tmp_path / "screenshots"
    where.mkdir(parents=True, exist_ok=True)
    return where


def _text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def _navigate(driver: Any, action: Any, timeout: float = 30) -> None:
    """Run ``action`` (a click that leads to another page) and wait until the new page has
    loaded. The old page is marked with a script property, which the new document's fresh
    window lacks: a test that waited for an element instead may find it on the old page
    (sign-out is on every signed-in page), and chromium answers questions about the old
    page's nodes mid-navigation with errors of several kinds (no body; "node does not belong
    to the document"), all taken here as "not there yet"."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script("window.gopushOldPage = true")
    action()
    WebDriverWait(driver, timeout, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return !window.gopushOldPage && document.readyState === 'complete'"))


def _click(driver: Any, link_text: str, timeout: float = 30) -> None:
    """Follow the link ``link_text`` and wait for the page it leads to."""
    from selenium.webdriver.common.by import By

    _navigate(driver, driver.find_element(By.LINK_TEXT, link_text).click, timeout)


def _wait_for_id(driver: Any, identifier: str, timeout: float = 30) -> None:
    """Wait until the page shows the element ``identifier``."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        expected_conditions.presence_of_element_located((By.ID, identifier)))


def _submit(driver: Any, button: str, then: str, timeout: float = 30) -> None:
    """Click the form button ``button``, wait for the page it leads to, which shows the
    element ``then``."""
    from selenium.webdriver.common.by import By

    _navigate(driver, driver.find_element(By.ID, button).click, timeout)
    _wait_for_id(driver, then, timeout)


def _wait_for_state(driver: Any, wanted: str, timeout: float = 60) -> str:
    """Reload the repository page until the upload's row says ``wanted`` (or failed)."""
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout
    while True:
        state = str(driver.find_element(By.CSS_SELECTOR, "#just-uploaded .state").text)
        if state.startswith((wanted, "failed")) or time.monotonic() > deadline:
            return state
        time.sleep(0.2)
        driver.refresh()


def test_browse_sign_in_upload_and_go_downloads(browser: Any, serve: Any, tmp_path: Path,
                                                go: Any, screenshots: Path) -> None:
    from selenium.webdriver.common.by import By

    served: Served = two_repos(serve, tmp_path)
    built = gopush_build(tagged_module(tmp_path / "git", UPLOADED, ["v1.0.0"]).path,
                         "v1.0.0", tmp_path / "dist")

    # anonymous: the public repository, its module and versions; nothing private
    browser.get(f"{served.url}/")
    assert "acme/pub" in _text(browser) and "acme/priv" not in _text(browser)
    browser.save_screenshot(str(screenshots / "1-index-anonymous.png"))
    _click(browser, "acme/pub")
    _click(browser, PUBLIC_MOD)
    page = _text(browser)
    assert page.index("v1.1.0") < page.index("v1.0.0") and f"go get {PUBLIC_MOD}@v1.1.0" in page
    browser.save_screenshot(str(screenshots / "2-module-anonymous.png"))
    for path in ("/web/acme/priv", f"/web/acme/priv/mod/{SECRET_MOD}"):
        browser.get(f"{served.url}{path}")
        assert "Not found." in _text(browser) and SECRET_MOD not in browser.page_source
    browser.save_screenshot(str(screenshots / "3-private-anonymous.png"))

    # sign in with the API key
    browser.get(f"{served.url}/")
    _click(browser, "Sign in")
    browser.find_element(By.ID, "api-key").send_keys(KEY)
    browser.save_screenshot(str(screenshots / "4-sign-in.png"))
    _submit(browser, "sign-in-submit", "sign-out")
    assert "signed in as" in _text(browser) and "acme/priv" in _text(browser)
    cookie = browser.get_cookie("gopush_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and KEY not in cookie["value"]

    # upload the zip through the form; the repository page shows it processed
    _click(browser, "acme/pub")
    browser.find_element(By.ID, "zip-file").send_keys(built["zip"])
    _submit(browser, "upload-submit", "just-uploaded")
    assert _wait_for_state(browser, "completed") == "completed"
    browser.save_screenshot(str(screenshots / "5-repository-signed-in.png"))
    _click(browser, UPLOADED)
    assert f"{UPLOADED} v1.0.0 {built['sum']}" in _text(browser)
    browser.save_screenshot(str(screenshots / "6-uploaded-module.png"))

    # the real go downloads the uploaded version with the h1: gopush build computed
    got = go.download(UPLOADED, "v1.0.0", GOPROXY=served.goproxy("acme/pub"))
    assert got["Sum"] == built["sum"] and got["GoModSum"] == built["gomod_sum"]
    print(f"\ngo mod download {UPLOADED}@v1.0.0 after the form upload: {got['Sum']} "
          f"(gopush build: {built['sum']}); screenshots in {screenshots}")

    _submit(browser, "sign-out", "sign-in")
    assert "acme/priv" not in _text(browser) and "Sign in" in _text(browser)
    assert {p.name for p in screenshots.glob("*.png")} >= {
        "1-index-anonymous.png", "2-module-anonymous.png", "3-private-anonymous.png",
        "4-sign-in.png", "5-repository-signed-in.png", "6-uploaded-module.png"}


LAID_OUT = "example.com/weblayout"


def _sign_in(driver: Any, served: Served) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{served.url}/web/login")
    driver.find_element(By.ID, "api-key").send_keys(KEY)
    _submit(driver, "sign-in-submit", "sign-out")


def test_a_layout_uploaded_through_the_form_is_downloaded_by_go(
        browser: Any, serve: Any, tmp_path: Path, go: Any, screenshots: Path) -> None:
    """Two versions `gopush build --out` laid out, picked together in the layout form's
    multiple-file input (selenium sends newline-separated paths): both are published, with
    gopush build's h1:; the same layout with an edited .mod is refused, naming the file,
    and so is its folder picked in the folder input (chromium sends bad/v1.1.0.mod...);
    the good folder picked there gives the same two packages again."""
    from selenium.webdriver.common.by import By

    served: Served = two_repos(serve, tmp_path)
    repo = tagged_module(tmp_path / "git", LAID_OUT, ["v1.0.0", "v1.1.0"]).path
    built = {v: gopush_build(repo, v, tmp_path / "out") for v in ("v1.0.0", "v1.1.0")}
    at_v = tmp_path / "out" / LAID_OUT / "@v"
    _sign_in(browser, served)

    # a layout whose v1.1.0.mod was edited: refused as a whole, naming the file
    bad = tmp_path / "bad"
    shutil.copytree(at_v, bad)
    with (bad / "v1.1.0.mod").open("a") as mod:
        mod.write("// edited\n")
    browser.get(f"{served.url}/web/acme/pub")
    browser.find_element(By.ID, "layout-files").send_keys(
        "\n".join(str(p) for p in sorted(bad.glob("v*"))))
    _submit(browser, "layout-submit", "sign-out")
    page = _text(browser)
    assert "nothing was stored" in page and "\nv1.1.0.mod: differs from its go.mod" in page
    browser.save_screenshot(str(screenshots / "8-layout-refused.png"))
    # picked as a folder, the names chromium sends carry the folder's path
    browser.get(f"{served.url}/web/acme/pub")
    browser.find_element(By.ID, "layout-folder").send_keys(str(bad))
    _submit(browser, "layout-submit", "sign-out")
    assert "bad/v1.1.0.mod: differs from its go.mod" in _text(browser)

    # the layout as built: both versions published
    browser.get(f"{served.url}/web/acme/pub")
    assert LAID_OUT not in _text(browser)
    browser.find_element(By.ID, "layout-files").send_keys(
        "\n".join(str(p) for p in sorted(at_v.glob("v*"))))
    _submit(browser, "layout-submit", "just-uploaded")
    deadline = time.monotonic() + 60
    while (states := [e.text for e in browser.find_elements(
            By.CSS_SELECTOR, ".just-uploaded .state")]) != ["completed"] * 2:
        assert time.monotonic() < deadline and not any(s.startswith("failed") for s in states)
        time.sleep(0.2)
        browser.refresh()
    browser.save_screenshot(str(screenshots / "7-layout-uploaded.png"))
    # the same folder picked again in the folder input: chromium sends paths below it
    # (out/example.com/weblayout/@v/v1.0.0.zip...); identical content, the same packages
    browser.get(f"{served.url}/web/acme/pub")
    browser.find_element(By.ID, "layout-folder").send_keys(str(tmp_path / "out"))
    _submit(browser, "layout-submit", "just-uploaded")
    assert len(browser.find_elements(By.CSS_SELECTOR, ".just-uploaded")) == 2
    _click(browser, LAID_OUT)
    for version, doc in built.items():
        assert f"{LAID_OUT} {version} {doc['sum']}" in _text(browser)
        got = go.download(LAID_OUT, version, GOPROXY=served.goproxy("acme/pub"))
        assert got["Sum"] == doc["sum"] and got["GoModSum"] == doc["gomod_sum"]
        print(f"\ngo mod download {LAID_OUT}@{version} after the layout form: {got['Sum']} "
              f"(gopush build: {doc['sum']})")
