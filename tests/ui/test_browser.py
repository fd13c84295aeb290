"""The whole app in headless Chromium, as a new user meets it: an empty library, connect a folder with
consent, index, name a person, make an instant card, install the tiny model through the Models tab's
import-by-path, make an AI picture, revoke the album; and no tab shows the revoked person, with no reload.
Errors on the way are notices that leave what the tab showed.

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

from photogen.generate.tiny import create_tiny_pipeline
from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from tests.conftest import SHARED_FACES

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
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
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
    create_tiny_pipeline(root / "tiny")  # on disk only: the user imports it in the Models tab
    pictures = root / "Pictures"
    for person in ("john_salley", "john_savage"):
        for n in (1, 2, 3):
            (pictures / "Family").mkdir(parents=True, exist_ok=True)
            shutil.copy(SHARED_FACES / "people" / person / f"{n}.jpg", pictures / "Family" / f"{person}-{n}.jpg")
    (pictures / "Work").mkdir()
    shutil.copy(SHARED_FACES / "noface" / "coffee.jpg", pictures / "Work" / "coffee.jpg")

    port = _free_port()
    log = (root / "app.log").open("wb")  # the app's own log, shown when a step fails
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail((root / "app.log").read_text(errors="replace"))
            time.sleep(0.5)
    try:
        yield url, pictures, root / "tiny"
    finally:
        proc.kill()
        proc.wait()
        log.close()
        print("---- app log (tail) ----\n" + (root / "app.log").read_text(errors="replace")[-6000:])  # noqa: T201 - pytest shows it on failure


def _shot(page, name: str) -> None:
    if UPDATE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _choose(page, elem_id: str, option: str) -> None:
    """Pick an option of a Gradio dropdown by its visible text."""
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).first.click()


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name).click()


def _visible_text(page, text: str):
    return page.get_by_text(text).filter(visible=True)


def _assert_shown_whole(page, elem_id: str) -> None:
    """The result on show (the preview, else the largest tile) is drawn with object-fit contain inside the element's box."""
    shown = page.evaluate(
        """(id) => {
            const box = document.getElementById(id).getBoundingClientRect();
            // the preview's image when the gallery shows one, else the largest tile of its grid
            const imgs = [...document.querySelectorAll('#' + id + ' img')].filter(i => i.clientWidth > 0);
            const img = document.querySelector('#' + id + ' .preview .media-button img')
                || imgs.sort((a, b) => b.clientWidth * b.clientHeight - a.clientWidth * a.clientHeight)[0];
            const r = img.getBoundingClientRect();
            return {fit: getComputedStyle(img).objectFit, img: [r.left, r.top, r.right, r.bottom],
                    box: [box.left, box.top, box.right, box.bottom]};
        }""",
        elem_id,
    )
    (left, top, right, bottom), (bl, bt, br, bb) = shown["img"], shown["box"]
    assert shown["fit"] == "contain", shown
    assert left >= bl - 1 and top >= bt - 1 and right <= br + 1 and bottom <= bb + 1, f"the result is cut by its frame: {shown}"


def _no_error_overlay(page) -> None:
    """Gradio marks each output of a failed event with an 'Error' overlay; a notice leaves none."""
    expect_ = __import__("playwright.sync_api", fromlist=["expect"]).expect
    expect_(page.locator(".error").filter(visible=True).filter(has_text=re.compile("^Error$"))).to_have_count(0)


def test_a_new_user_from_an_empty_library_to_revoke(app_url: tuple[str, Path, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, pictures, tiny = app_url
    expect.set_options(timeout=90_000)  # indexing, the first model export and load take seconds on 2 cores
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.set_default_timeout(90_000)
        page.goto(url, wait_until="load")
        expect(page.get_by_role("button", name="Generate")).to_be_visible()

        # First run: Create says what to do first, with a button to Connect; no model, so it says where to get one
        expect(_visible_text(page, "photogen has no photos yet")).to_be_visible()
        expect(page.locator("#create-banner").get_by_text("Models")).to_be_visible()
        page.get_by_role("button", name="Connect photos").click()

        # Connect: a folder, only the Family album allowed; index and faces in one go
        expect(page.get_by_label("Folder", exact=True)).to_be_visible()
        page.get_by_label("Folder", exact=True).fill(str(pictures))
        page.get_by_role("button", name="Show its albums").click()
        page.get_by_label("Family", exact=True).check()
        page.get_by_role("button", name="Allow the checked albums").click()
        expect(page.get_by_text(re.compile(r"6 added"))).to_be_visible()
        _shot(page, "connect")

        # People (no reload): the faces found are here; a user error is a notice, the view stays
        _tab(page, "People")
        expect(page.locator("#people-everyone img").first).to_be_visible()
        page.get_by_role("button", name="Use suggested name").click()
        expect(_visible_text(page, "There is no suggested name for this person.").first).to_be_visible()
        _no_error_overlay(page)
        expect(page.locator("#people-everyone img").first).to_be_visible()
        page.get_by_label("Name", exact=True).fill("Grandpa John")
        page.get_by_role("button", name="Rename").click()
        expect(page.get_by_label("Person", exact=True)).to_have_value(re.compile("Grandpa John"))
        expect(page.locator("#people-action-status").get_by_text("Renamed")).to_be_visible()  # next to the buttons
        _shot(page, "people")

        # Library: the allowed album's photos, not the other album's
        _tab(page, "Library")
        expect(_visible_text(page, "john_salley-1.jpg").first).to_be_visible()
        expect(page.get_by_text("coffee.jpg", exact=True).filter(visible=True)).to_have_count(0)  # Work was not allowed
        _shot(page, "library")

        # Create (no reload): the named person and the photos indexed this session are there; an instant card
        _tab(page, "Create")
        expect(page.locator("#create-people img").first).to_be_visible()
        _assert_shown_whole(page, "create-people")  # one face: a small tile drawn whole, not a page-wide strip
        expect(page.get_by_label("Grandpa John")).to_be_visible()
        _choose(page, "create-photos", "john_salley-1.jpg")
        page.keyboard.press("Escape")
        _choose(page, "create-template", "Birthday card")
        page.get_by_role("button", name="Generate").click()
        expect(page.get_by_text("Instant style (not AI-generated)", exact=False).first).to_be_visible()
        expect(page.locator("#create-results img").first).to_be_visible()
        _assert_shown_whole(page, "create-results")  # the tall 5x7 card, not a square crop of it
        # an error after a result: a notice, and the finished card stays in view
        page.locator("#create-photos").get_by_role("button", name=re.compile("Remove|Clear", re.I)).first.click()
        page.get_by_label("What shall we make?").fill("a castle")
        page.get_by_role("button", name="Generate").click()
        expect(_visible_text(page, "needs a diffusion model").first).to_be_visible()
        _no_error_overlay(page)
        expect(page.locator("#create-results img").first).to_be_visible()
        page.get_by_label("What shall we make?").fill("")

        # Models: import the tiny test model by its path (what a user does with a checkpoint they have)
        _tab(page, "Models")
        page.get_by_text("Import weights you already have").click()
        page.get_by_label("Path on this computer").fill(str(tiny))
        page.get_by_label("Name for the model (optional)").fill("tiny-test")
        page.get_by_role("button", name="Import", exact=True).click()
        expect(page.get_by_text(re.compile("Imported .*tiny-test"))).to_be_visible()

        # Create (no reload, no restart): AI styles are offered now; restyle the photo with the tiny model
        _tab(page, "Create")
        expect(page.locator("#create-banner").get_by_text("Models")).to_have_count(0)
        _choose(page, "create-photos", "john_salley-1.jpg")
        page.keyboard.press("Escape")
        _choose(page, "create-style", "Anime")
        page.get_by_role("button", name="Generate").click()
        # the first AI picture exports the model for this computer first: minutes on a busy 2-core machine
        expect(page.get_by_text("AI-generated", exact=True)).to_be_visible(timeout=300_000)
        expect(page.get_by_text(re.compile(r"Model: tiny-test"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"Photos used: #\d+ john_salley-1\.jpg"))).to_be_visible()
        expect(page.get_by_text(re.compile(r"In those photos: .*Grandpa John"))).to_be_visible()
        expect(page.locator("#create-results img").first).to_be_visible()
        _shot(page, "create")

        # Privacy: revoking says what it deletes, asks, then deletes
        _tab(page, "Privacy")
        _choose(page, "privacy-allowed", "Pictures/Family")
        expect(page.get_by_text(re.compile(r"deletes 6 photo\(s\)"))).to_be_visible()
        page.get_by_role("button", name="Revoke album").click()
        expect(_visible_text(page, "tick 'Yes, delete what is listed above'").first).to_be_visible()  # not yet
        page.get_by_label("Yes, delete what is listed above").check()
        page.get_by_role("button", name="Revoke album").click()
        expect(page.get_by_text(re.compile(r"Revoked .*Pictures/Family"))).to_be_visible()
        _shot(page, "privacy")

        # no tab shows the revoked person, photos or results, with no reload
        for tab in ("People", "Create", "Library"):
            _tab(page, tab)
            expect(_visible_text(page, "Grandpa John")).to_have_count(0)
            expect(page.get_by_text("john_salley-1.jpg").filter(visible=True)).to_have_count(0)
        _tab(page, "Create")
        expect(page.locator("#create-results img")).to_have_count(0)
        expect(page.locator("#create-people img")).to_have_count(0)
        browser.close()
