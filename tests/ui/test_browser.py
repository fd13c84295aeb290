"""The whole app in headless Chromium, as a person uses it: connect a folder with consent, index,
name a person, make a card with the tiny model, see it with its sources, revoke the album, see it gone.

Needs Debian's chromium (`apt-get install chromium`) and Playwright for Python; skips with a reason
otherwise. Set PHOTOGEN_UPDATE_SCREENSHOTS=1 to refresh the screenshots in docs/screenshots/.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from photogen.generate import commands
from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from photogen.settings import Settings
from tests.conftest import SHARED_FACES, TEST_KDF

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# read at import: the suite's autouse fixture clears PHOTOGEN_* variables before each test
UPDATE_SCREENSHOTS = bool(os.environ.get("PHOTOGEN_UPDATE_SCREENSHOTS"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    if not SHARED_FACES.is_dir():
        pytest.skip("../shared/faces is absent (it ships with CI, not with a fresh clone)")
    pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    root = tmp_path_factory.mktemp("browser")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")} | {
        "PHOTOGEN_HOME": str(root / "home"),
        "PHOTOGEN_PASSPHRASE": "browser test",
        "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB),  # the lowest the environment may set
        "PHOTOGEN_KDF_ITERATIONS": str(KDF_MIN_ITERATIONS),
        "PHOTOGEN_MODELS_DIR": str(root / "exported"),
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    settings = Settings(home=root / "home", models_dir=root / "exported", passphrase="browser test", use_keyring=False, **TEST_KDF)
    commands.create_tiny(root / "tiny", settings)
    pictures = root / "Pictures"
    for person in ("john_salley", "john_savage"):
        for n in (1, 2, 3):
            (pictures / "Family").mkdir(parents=True, exist_ok=True)
            shutil.copy(SHARED_FACES / "people" / person / f"{n}.jpg", pictures / "Family" / f"{person}-{n}.jpg")
    (pictures / "Work").mkdir()
    shutil.copy(SHARED_FACES / "noface" / "coffee.jpg", pictures / "Work" / "coffee.jpg")

    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stdout.read().decode())
            time.sleep(0.5)
    try:
        yield url, pictures
    finally:
        proc.kill()
        proc.wait()


def _shot(page, name: str) -> None:
    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _choose(page, elem_id: str, option: str) -> None:
    """Pick an option of a Gradio dropdown by its visible text."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).first.click()


def test_connect_index_name_create_revoke(app_url: tuple[str, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, pictures = app_url
    expect.set_options(timeout=60_000)  # indexing and the first model load take seconds on 2 cores
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url, wait_until="load")
        expect(page.get_by_role("button", name="Generate")).to_be_visible()

        # Connect: a folder, only the Family album allowed
        page.get_by_role("tab", name="Connect").click()
        page.get_by_label("Folder", exact=True).fill(str(pictures))
        page.get_by_role("button", name="Show its albums").click()
        page.get_by_label("Family", exact=True).check()
        page.get_by_role("button", name="Allow the checked albums").click()
        expect(page.get_by_text(re.compile(r"6 added"))).to_be_visible()
        _shot(page, "connect")

        # People: the faces were grouped; name the first person
        page.get_by_role("tab", name="People").click()
        page.get_by_role("button", name="Find faces in new photos").click()
        expect(page.get_by_text(re.compile(r"Found \d+ face\(s\) in \d+ new photo"))).to_be_visible()
        page.get_by_label("Name", exact=True).fill("Grandpa John")
        page.get_by_role("button", name="Rename").click()
        expect(page.get_by_label("Person", exact=True)).to_have_value(re.compile("Grandpa John"))
        _shot(page, "people")

        # Library: the allowed album's photos, not the other album's
        page.get_by_role("tab", name="Library").click()
        page.get_by_role("button", name="Refresh").first.click()
        expect(page.get_by_text("john_salley-1.jpg", exact=True).filter(visible=True).first).to_be_visible()
        expect(page.get_by_text("coffee.jpg", exact=True).filter(visible=True)).to_have_count(0)  # Work was not allowed
        _shot(page, "library")

        # Create: a birthday card from a photo, with the tiny model's restyle
        page.reload(wait_until="load")
        expect(page.get_by_role("button", name="Generate")).to_be_visible()
        expect(page.locator("#create-people img").first).to_be_visible()  # the named person's face as a chip
        _choose(page, "create-photos", "john_salley-1.jpg")
        page.keyboard.press("Escape")
        _choose(page, "create-template", "Birthday card")
        _choose(page, "create-style", "Anime")  # an AI style: the tiny model restyles the photo
        page.get_by_role("button", name="Generate").click()
        expect(page.get_by_text("Photos used:")).to_be_visible()
        expect(page.get_by_text("AI-generated", exact=True)).to_be_visible()
        expect(page.get_by_text(re.compile(r"Model: tiny-test"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"Photos used: #\d+ john_salley-1\.jpg"))).to_be_visible()
        expect(page.locator("#create-results img").first).to_be_visible()
        _shot(page, "create")

        # Privacy: revoke the album; its photos and what was made from them are gone
        page.get_by_role("tab", name="Privacy").click()
        page.get_by_role("button", name="Refresh").last.click()
        _choose(page, "privacy-allowed", "Pictures/Family")
        page.get_by_role("button", name="Revoke album").click()
        expect(page.get_by_text(re.compile(r"Revoked .*Pictures/Family"))).to_be_visible()
        _shot(page, "privacy")
        page.get_by_role("tab", name="Library").click()
        page.get_by_role("button", name="Refresh").first.click()
        expect(page.get_by_text("john_salley-1.jpg", exact=True).filter(visible=True)).to_have_count(0)
        browser.close()
