"""The private per-run folder of served files: private, purged with its photos, gone on exit, signals and after a crash."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from photogen.library.consent import add_folder_source, exclude_photo, revoke_album
from photogen.library.indexer import index_library
from photogen.library.library import Library
from photogen.library.photos import list_photos
from photogen.ui import served as served_module
from photogen.ui.served import OWNER_FILE, ServedFiles, default_base, show, sweep_dead_runs
from tests.conftest import write_photo

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PHOTOGEN_SERVED_DIR", str(tmp_path / "served-base"))
    return tmp_path / "served-base"


def test_a_run_gets_a_private_folder_that_close_removes(base: Path) -> None:
    served = ServedFiles.for_this_run()
    try:
        assert served.root.parent == base / f"photogen-{os.getuid()}"
        assert served.root.name.startswith(f"run-{os.getpid()}-")
        for folder in (served.root, served.root.parent):
            assert folder.stat().st_mode & 0o777 == 0o700
        shown = Path(served.image(Image.new("RGB", (8, 8)), [1]))
        assert shown.is_relative_to(served.root) and shown.exists()
    finally:
        served.close()
    assert not served.root.exists()


def test_linux_serves_from_ram_when_there_is_room(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHOTOGEN_SERVED_DIR", raising=False)
    shm = Path("/dev/shm")
    if not (sys.platform.startswith("linux") and shm.is_dir() and os.access(shm, os.W_OK)):
        pytest.skip("no writable /dev/shm here")
    roomy = __import__("shutil").disk_usage(shm).free >= served_module.SHM_MIN_FREE
    assert default_base() == (shm if roomy else Path(__import__("tempfile").gettempdir()))
    if roomy:
        run = ServedFiles.for_this_run()
        try:
            assert run.in_memory
        finally:
            run.close()


def test_only_dead_runs_are_swept(base: Path) -> None:
    user_dir = base / f"photogen-{os.getuid()}"
    live = ServedFiles.for_this_run()
    dead = user_dir / "run-999999-dead"
    dead.mkdir()
    (dead / OWNER_FILE).write_text("999999 1.0")
    (dead / "thumbnail.webp").write_bytes(b"pixels of a crashed run")
    reused = user_dir / "run-reused"  # a live pid, but not the process that made the folder
    reused.mkdir()
    (reused / OWNER_FILE).write_text(f"{os.getpid()} 12345.0")
    try:
        assert sorted(sweep_dead_runs()) == sorted([dead, reused])
        assert live.root.exists() and not dead.exists() and not reused.exists()
    finally:
        live.close()


@pytest.fixture
def two_albums(library: Library, tmp_path: Path) -> tuple[Library, list[int], list[int]]:
    write_photo(tmp_path / "Pictures" / "Rome" / "a.jpg", seed=1)
    write_photo(tmp_path / "Pictures" / "Rome" / "b.jpg", seed=2)
    write_photo(tmp_path / "Pictures" / "Oslo" / "c.jpg", seed=3)
    add_folder_source(library, tmp_path / "Pictures", ["Rome", "Oslo"])
    index_library(library)
    rome = [p.id for p in list_photos(library) if p.album == "Rome"]
    oslo = [p.id for p in list_photos(library) if p.album == "Oslo"]
    return library, rome, oslo


def test_a_revoke_deletes_the_served_copies_of_its_photos_at_once(two_albums: tuple[Library, list[int], list[int]], tmp_path: Path) -> None:
    library, rome, oslo = two_albums
    served = ServedFiles(tmp_path / "run")
    served.watch(library)
    pixels = Image.new("RGB", (8, 8))
    rome_thumb = Path(served.image(pixels, [rome[0]]))
    mixed = Path(served.image(pixels, [rome[1], oslo[0]]))  # a creation from both albums
    oslo_thumb = Path(served.image(pixels, [oslo[0]]))
    tagged = pixels.copy()
    tagged.info[served_module.PHOTO_IDS_KEY] = [oslo[0]]
    (oslo_tile, _caption) = show(library, (tagged, "Oslo"))
    unknown = Path(served.image(pixels))  # no known origin: it goes on any purge
    folder = served.folder("creation-")
    download = folder / "card.png"
    download.write_bytes(b"png")
    served.record(download, [rome[0]], creation_id=None)

    revoke_album(library, "Pictures/Rome")
    for gone in (rome_thumb, mixed, unknown, download):
        assert not gone.exists(), gone
    assert not folder.exists(), "a creation's folder goes with its files"
    assert oslo_thumb.exists() and Path(oslo_tile).exists()
    assert set(served.paths) == {oslo_thumb.resolve(), Path(oslo_tile).resolve()}

    exclude_photo(library, oslo[0])
    assert not oslo_thumb.exists() and not Path(oslo_tile).exists()


def test_a_deleted_creation_takes_its_served_files(two_albums: tuple[Library, list[int], list[int]], tmp_path: Path) -> None:
    library, _rome, oslo = two_albums
    served = ServedFiles(tmp_path / "run")
    served.watch(library)
    with library.catalog.tx():
        creation = int(library.catalog.execute("INSERT INTO creations (created_at, kind, prompt, params) VALUES ('now', 'text', 'x', '{}')").lastrowid)
    result = Path(served.image(Image.new("RGB", (8, 8)), [], creation_id=creation))
    with library.catalog.tx():
        library.catalog.execute("DELETE FROM creations WHERE id = ?", (creation,))
    revoke_album(library, "Pictures/Rome")
    assert not result.exists()
    assert oslo


def test_delete_everything_deletes_every_served_file(two_albums: tuple[Library, list[int], list[int]], tmp_path: Path) -> None:
    library, rome, oslo = two_albums
    served = ServedFiles(tmp_path / "run")
    served.watch(library)
    served.image(Image.new("RGB", (8, 8)), [rome[0]])
    (served.root / "upload-in-transit.jpg").write_bytes(b"plaintext")  # something Gradio put there
    library.wipe()
    assert [p for p in served.root.rglob("*") if p.is_file()] == []
    assert Path(show(library, Image.new("RGB", (4, 4)))).exists(), "the library still shows images from the folder after a wipe"
    assert oslo


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_removes_the_folder_then_exits(base: Path, sig: signal.Signals) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from PIL import Image
        from photogen.ui.served import ServedFiles, install_signal_handlers
        served = ServedFiles.for_this_run()
        served.image(Image.new("RGB", (8, 8)), [1])
        install_signal_handlers(served.close)
        print(served.root, flush=True)
        while True:
            time.sleep(0.1)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env)
    try:
        root = Path(proc.stdout.readline().strip())  # type: ignore[union-attr]
        assert root.is_dir() and any(root.rglob("*.webp"))
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 128 + sig
    finally:
        proc.kill()
    assert not root.exists()
    assert list((base / f"photogen-{os.getuid()}").iterdir()) == []


def test_a_killed_run_is_swept_at_the_next_start(base: Path) -> None:
    script = "from photogen.ui.served import ServedFiles; s = ServedFiles.for_this_run(); print(s.root, flush=True); import time; time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    root = Path(proc.stdout.readline().strip())  # type: ignore[union-attr]
    proc.kill()  # SIGKILL: no handler runs, the folder stays
    proc.wait(timeout=30)
    assert root.exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and served_module._start_time(proc.pid) is not None:
        time.sleep(0.1)
    nxt = ServedFiles.for_this_run()
    try:
        assert not root.exists()
    finally:
        nxt.close()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_running_app_purges_served_copies_on_revoke_and_leaves_nothing_after_sigterm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """app.py in a subprocess: show library photos and a creation, revoke the album, SIGTERM."""
    import urllib.request

    import huggingface_hub.constants
    from gradio_client import Client

    from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
    from photogen.library.library import open_library
    from photogen.settings import Settings
    from tests.conftest import TEST_KDF

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
    home, base, temp = tmp_path / "home", tmp_path / "served-base", tmp_path / "tmp"
    temp.mkdir()
    settings = Settings(home=home, passphrase="served test", use_keyring=False, **TEST_KDF)
    write_photo(tmp_path / "Pictures" / "Rome" / "colosseum.jpg", gps=(41.89, 12.49), seed=7)
    write_photo(tmp_path / "Pictures" / "Oslo" / "fjord.jpg", seed=8)
    with open_library(settings) as library:
        add_folder_source(library, tmp_path / "Pictures", ["Rome", "Oslo"])
        index_library(library)
        rome = {p.id for p in list_photos(library) if p.album == "Rome"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOTOGEN_", "GRADIO_"))} | {
        "PHOTOGEN_HOME": str(home),
        "PHOTOGEN_PASSPHRASE": "served test",
        "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB),
        "PHOTOGEN_KDF_ITERATIONS": str(KDF_MIN_ITERATIONS),
        "PHOTOGEN_SERVED_DIR": str(base),
        "TMPDIR": str(temp),  # anything the run puts in the system temp folder lands here
        "GRADIO_ANALYTICS_ENABLED": "False",
        "PYTHONPATH": str(REPO),
    }
    port = _free_port()
    proc = subprocess.Popen([sys.executable, str(REPO / "app.py"), "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the app did not start: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.5)
        (run,) = list((base / f"photogen-{os.getuid()}").glob(f"run-{proc.pid}-*"))
        assert run.stat().st_mode & 0o777 == 0o700

        client = Client(url, verbose=False, download_files=False)
        client.predict(api_name="/open")
        _albums, photos, *_ = client.predict(api_name="/_refresh")
        by_name = {row[1]: row[0] for row in photos["data"]}
        client.predict(api_name="/_on_load")
        gallery, _sources, files = client.predict(
            "", [by_name["colosseum.jpg"]], [], "watercolor", "", "instant", "fast", 0, 1, None, "", "", "keep", ["png", "jpeg"], api_name="/_generate"
        )[:3]
        oslo_gallery = client.predict(
            "", [by_name["fjord.jpg"]], [], "pencil-sketch", "", "instant", "fast", 0, 1, None, "", "", "keep", ["png"], api_name="/_generate"
        )[0]

        def paths(items: list) -> list[Path]:
            out = []
            for item in items:
                value = item.get("image", item) if isinstance(item, dict) else item
                value = value[0] if isinstance(value, (list, tuple)) else value
                out.append(Path(value["path"] if isinstance(value, dict) else value))
            return out

        from_rome = paths(gallery) + paths(files)
        from_oslo = paths(oslo_gallery)
        assert len(from_rome) == 3 and all(p.is_relative_to(run) and p.exists() for p in from_rome + from_oslo)
        assert {p.resolve() for p in from_rome} <= {p.resolve() for p in run.rglob("*") if p.is_file()}

        client.predict(api_name="/_all")  # the Privacy tab's choices, as a page load fills them
        client.predict("Pictures/Rome", True, api_name="/_revoke")  # True: "yes, delete it"
        assert not any(p.exists() for p in from_rome), "a served copy of a revoked photo remains"
        assert all(p.exists() for p in from_oslo), "copies of photos still allowed stay"
        assert rome

        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not run.exists(), "the served-files folder is removed on SIGTERM"
    assert list((base / f"photogen-{os.getuid()}").iterdir()) == []
    # onnxruntime writes a `.ses` marker (a timestamp and a random id, nothing of the user) on import
    left = [p for p in temp.rglob("*") if p.is_file() and p.relative_to(temp) != Path(".ses")]
    assert left == [], f"the run left files in the temp folder: {left}"


def test_the_space_banner_says_where_a_visitors_data_lives(tmp_path: Path) -> None:
    from photogen.ui.app import space_privacy_note

    on_disk = ServedFiles(tmp_path / "run")
    assert not on_disk.in_memory and "on the Space's disk" in space_privacy_note(on_disk)
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        in_ram = ServedFiles(shm / f"photogen-test-{os.getpid()}", owned=True)
        try:
            assert in_ram.in_memory and "in memory (RAM-backed /dev/shm)" in space_privacy_note(in_ram)
        finally:
            in_ram.close()
    assert "deleted within seconds" in space_privacy_note(on_disk)


def test_revoking_a_source_deletes_the_served_copies_of_all_its_photos(two_albums: tuple[Library, list[int], list[int]], tmp_path: Path) -> None:
    from photogen.library.consent import remove_photo, revoke_source

    library, rome, oslo = two_albums
    served = ServedFiles(tmp_path / "run")
    served.watch(library)
    removed_one = Path(served.image(Image.new("RGB", (8, 8)), [rome[1]]))
    remove_photo(library, rome[1])  # the Library tab's "remove this photo"
    assert not removed_one.exists()
    shown = [Path(served.image(Image.new("RGB", (8, 8)), [pid])) for pid in (rome[0], oslo[0])]
    revoke_source(library, "Pictures")
    assert not any(p.exists() for p in shown) and served.paths == []
