from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import gradio as gr
import pytest

from photogen.library.consent import add_folder_source
from photogen.library.indexer import index_library
from photogen.library.keys import KDF_MIN_MEMORY_KIB
from photogen.ui import library_tab
from photogen.ui.app import build_app
from tests.conftest import write_photo


def _library_with_photos(library, tmp_path: Path) -> None:
    write_photo(tmp_path / "p" / "Rome" / "a.jpg", taken="2019:05:01 09:00:00", gps=(41.8902, 12.4922), make="Nikon", model="Z6", seed=1)
    write_photo(tmp_path / "p" / "Closed" / "b.jpg", seed=2)
    add_folder_source(library, tmp_path / "p", ["Rome"])
    index_library(library)


def test_album_rows_show_grant_state_and_counts(library, tmp_path: Path) -> None:
    _library_with_photos(library, tmp_path)
    assert library_tab.album_rows(library) == [["Closed", "p", "no", 0], ["Rome", "p", "yes", 1]]


def test_photo_details_show_metadata_and_thumbnail(library, tmp_path: Path) -> None:
    _library_with_photos(library, tmp_path)
    ((label, photo_id),) = library_tab.photo_choices(library)
    assert label.startswith(f"{photo_id}: a.jpg")
    image, meta = library_tab.photo_details(library, photo_id)
    assert image.size == (160, 120)
    assert meta["camera"] == "Nikon Z6" and meta["place"].startswith("Rome") and meta["taken_at"] == "2019-05-01T09:00:00"


def test_unknown_photo_is_a_readable_notice(library) -> None:
    from photogen.ui.common import readable_errors

    with pytest.warns(UserWarning, match="No photo with id 12345"):
        result = readable_errors(library_tab.photo_details)(library, 12345)
    assert result == gr.skip()  # the tab keeps what it showed


def test_map_and_timeline(library, tmp_path: Path) -> None:
    _library_with_photos(library, tmp_path)
    (point,) = library_tab.map_points(library)
    assert point["place"].startswith("Rome") and point["photos"] == 1
    assert library_tab.timeline(library) == [["2019-05", 1]]


def test_build_app_is_a_blocks(library, settings) -> None:
    from photogen.ui.session import SessionFactory

    assert isinstance(build_app(SessionFactory(settings, library)), gr.Blocks)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_app_py_serves_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")} | {
        "PHOTOGEN_PASSPHRASE": "ui",
        "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB),  # the lowest the environment may set
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, str(root / "app.py"), "--home", str(tmp_path / "h"), "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    body = resp.read().decode("utf-8", "ignore")
                    break
            except OSError:
                if proc.poll() is not None:
                    raise AssertionError(proc.stdout.read().decode()) from None
                time.sleep(0.5)
        assert "photogen" in body
        # bound to loopback only: no listener on the machine's other addresses
        listeners = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True).stdout if _has_ss() else ""
        if listeners:
            assert all("127.0.0.1" in line for line in listeners.strip().splitlines()), listeners
    finally:
        proc.kill()
        proc.wait()


def _has_ss() -> bool:
    from shutil import which

    return which("ss") is not None


def test_the_month_chart_starts_at_zero_so_one_photo_shows(library, tmp_path: Path) -> None:
    _library_with_photos(library, tmp_path)
    chart = library_tab.month_chart(library)
    assert chart["y_lim"] == [0, 2] and chart["value"].values.tolist() == [["2019-05", 1]]
