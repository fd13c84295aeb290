"""Everything the browser is shown, in one private per-run folder, purged with the photos it came from.

A browser can only show a file the web server serves, so decrypted pixels must exist as files while
the app runs. They all live here:

- one folder per run, `<base>/photogen-<uid>/run-<pid>-<random>` (mode 0700), where `<base>` is
  `PHOTOGEN_SERVED_DIR`, else `/dev/shm` (RAM-backed) on Linux when it is writable, else the
  system temp folder. Gradio's own cache (`GRADIO_TEMP_DIR`: uploads in transit, anything it
  copies to serve) is pointed at the same folder before Gradio makes anything;
- every photo-derived image the UI shows (thumbnails, face crops, results) and every creation file
  is written by `ServedFiles` and recorded with the photo ids (and creation id) it came from; after
  a revoke, an exclusion or "Delete everything", `forget_missing` deletes the served copies whose
  photos or creation are gone, at once. An image whose photos are unknown is deleted on any purge;
- the folder is removed on a normal exit, on SIGINT and SIGTERM (handlers that clean up and then
  exit), and at the next start if a crash left it (only folders of runs whose process is gone).
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from photogen.errors import PhotogenError

log = logging.getLogger(__name__)

PHOTO_IDS_KEY = "photogen.photo_ids"  # PIL Image.info key: the photos an in-memory image came from
SERVED_KEY = "served-files"  # Library.cache key: the ServedFiles that shows this library's images
OWNER_FILE = "owner"
SHM_MIN_FREE = 512 << 20  # "<pid> <process start time>": tells a live run from a crashed one


def default_base() -> Path:
    """Where per-run folders go: PHOTOGEN_SERVED_DIR, else RAM-backed /dev/shm on Linux, else the temp folder."""
    configured = os.environ.get("PHOTOGEN_SERVED_DIR")
    if configured:
        return Path(configured).expanduser()
    shm = Path("/dev/shm")
    if sys.platform.startswith("linux") and shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        try:
            roomy = shutil.disk_usage(shm).free >= SHM_MIN_FREE
        except OSError:
            roomy = False
        if roomy:  # a container's default /dev/shm is 64 MiB: too small for a visitor's uploads
            return shm
        log.info("/dev/shm has less than %d MiB free; served files go to the temp folder", SHM_MIN_FREE >> 20)
    return Path(tempfile.gettempdir())


def _user_dir(base: Path) -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    folder = base / f"photogen-{uid}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.is_symlink() or (hasattr(os, "getuid") and folder.stat().st_uid != os.getuid()):
        raise PhotogenError(f"{folder} belongs to someone else; set PHOTOGEN_SERVED_DIR to a folder of yours.")
    os.chmod(folder, 0o700)
    return folder


def _start_time(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def _run_alive(run: Path) -> bool:
    try:
        pid_text, _, started = (run / OWNER_FILE).read_text().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        # no owner file: a folder being created this instant, or a crash before it was written
        try:
            return run.stat().st_mtime + 60 > time.time()
        except OSError:
            return False
    now = _start_time(pid)
    return now is not None and (not started or abs(now - float(started)) < 1.0)


def sweep_dead_runs(base: Path | None = None) -> list[Path]:
    """Remove per-run folders a crashed or killed run left behind (never a live run's); returns them."""
    user_dir = _user_dir(base or default_base())
    removed = []
    for run in user_dir.glob("run-*"):
        if run.is_dir() and not _run_alive(run):
            shutil.rmtree(run, ignore_errors=True)
            removed.append(run)
    if removed:
        log.info("removed %d served-files folder(s) left by runs that ended without cleaning up", len(removed))
    return removed


@dataclass(frozen=True)
class ServedEntry:
    photo_ids: frozenset[int] | None  # None: not known, so deleted on any purge
    creation_id: int | None = None


class ServedFiles:
    """The files the UI serves, under one private folder, each recorded with the photos it came from."""

    def __init__(self, root: Path, *, owned: bool = False) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        self.owned = owned  # True: this object made the folder and removes it on close
        self._entries: dict[Path, ServedEntry] = {}
        self._lock = threading.Lock()
        self._closed = False

    # ---- making one -------------------------------------------------------------------------------

    @classmethod
    def for_this_run(cls, base: Path | None = None) -> ServedFiles:
        """A fresh private folder for this process, after sweeping what crashed runs left."""
        base = base or default_base()
        sweep_dead_runs(base)
        root = _user_dir(base) / f"run-{os.getpid()}-{secrets.token_hex(4)}"
        root.mkdir(mode=0o700)
        started = _start_time(os.getpid())
        (root / OWNER_FILE).write_text(f"{os.getpid()} {started if started is not None else ''}")
        served = cls(root, owned=True)
        atexit.register(served.close)
        return served

    def child(self, name: str) -> ServedFiles:
        """A sub-folder with its own records (a Space visitor's), removed with `close`."""
        return ServedFiles(self.root / "sessions" / name, owned=True)

    # ---- writing --------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise PhotogenError("The app is shutting down; nothing more is shown.")

    def folder(self, prefix: str) -> Path:
        """A new private folder for files (a creation's outputs); register the files in it with `record`."""
        self._check_open()
        (self.root / "files").mkdir(mode=0o700, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.root / "files"))

    def record(self, path: Path | str, photo_ids: Iterable[int] | None, creation_id: int | None = None) -> str:
        path = Path(path).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"{path} is not under the served folder {self.root}")
        with self._lock:
            self._entries[path] = ServedEntry(None if photo_ids is None else frozenset(int(i) for i in photo_ids), creation_id)
        return str(path)

    def image(self, image: Image.Image, photo_ids: Iterable[int] | None = None, creation_id: int | None = None) -> str:
        """Write an image to show (WebP) and record where it came from; returns its path for Gradio.

        `photo_ids` None takes the ids the image carries (`Image.info[PHOTO_IDS_KEY]`), if any.
        """
        self._check_open()
        if photo_ids is None:
            photo_ids = image.info.get(PHOTO_IDS_KEY)
        (self.root / "images").mkdir(mode=0o700, exist_ok=True)
        path = self.root / "images" / f"{secrets.token_hex(12)}.webp"
        image.convert("RGB").save(path, "WEBP", quality=90)
        return self.record(path, photo_ids, creation_id)

    def show(self, value: Any) -> Any:
        """`value` with every PIL image in it (alone, in a list, in (image, caption) tuples) served as a file."""
        if isinstance(value, Image.Image):
            return self.image(value)
        if isinstance(value, tuple):
            return tuple(self.show(v) for v in value)
        if isinstance(value, list):
            return [self.show(v) for v in value]
        return value

    # ---- purging --------------------------------------------------------------------------------

    def _delete(self, paths: Iterable[Path]) -> int:
        count = 0
        for path in paths:
            self._entries.pop(path, None)
            try:
                path.unlink()
                count += 1
            except FileNotFoundError:
                pass
            parent = path.parent
            if parent != self.root and parent.parent == self.root / "files":
                shutil.rmtree(parent, ignore_errors=True)  # a creation's folder goes with its files
        return count

    def forget_missing(self, library: Any) -> int:
        """Delete the served copies whose photos or creation the library no longer has (after a purge)."""
        from photogen.library.overview import live_creation_ids, live_photo_ids

        live_photos = live_photo_ids(library)
        live_creations = live_creation_ids(library)
        with self._lock:
            stale = [
                path
                for path, entry in self._entries.items()
                if entry.photo_ids is None
                or not entry.photo_ids <= live_photos
                or (entry.creation_id is not None and entry.creation_id not in live_creations)
            ]
            removed = self._delete(stale)
        if removed:
            log.info("deleted %d served copies of photos that are gone", removed)
        return removed

    def purge_all(self) -> int:
        """Delete every served file (after "Delete everything"), keeping the folder usable."""
        with self._lock:
            self._entries.clear()
            count = 0
            for child in list(self.root.iterdir()):
                if child.name == OWNER_FILE:
                    continue
                count += sum(1 for p in child.rglob("*") if p.is_file()) if child.is_dir() else 1
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        return count

    def origin(self, path: Path | str) -> ServedEntry | None:
        """What a served file came from (None: not one of ours)."""
        with self._lock:
            return self._entries.get(Path(path).resolve())

    def watch(self, library: Any) -> None:
        """Show `library`'s images from here, and purge served copies whenever it purges photos
        (revoke, exclude, delete everything)."""
        library.cache[SERVED_KEY] = self
        hooks = library.after_purge
        if self.forget_missing not in hooks:
            hooks.append(self.forget_missing)
        if self._on_wipe not in library.after_wipe:
            library.after_wipe.append(self._on_wipe)

    def _on_wipe(self, library: Any) -> None:
        self.purge_all()
        library.cache[SERVED_KEY] = self  # the wipe emptied the library's cache; it is still shown from here

    def close(self) -> None:
        """Remove the folder and everything in it (when this object made it)."""
        self._closed = True
        with self._lock:
            self._entries.clear()
        if self.owned:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def in_memory(self) -> bool:
        """Whether the folder is on a RAM-backed file system (tmpfs/ramfs), per the kernel's mount table."""
        try:
            mounts = Path("/proc/mounts").read_text().splitlines()
        except OSError:
            return False
        root, best, kind = str(self.root.resolve()), "", ""
        for line in mounts:
            parts = line.split()
            if len(parts) >= 3 and (root == parts[1] or root.startswith(parts[1].rstrip("/") + "/")) and len(parts[1]) >= len(best):
                best, kind = parts[1], parts[2]
        return kind in ("tmpfs", "ramfs")

    @property
    def paths(self) -> list[Path]:
        with self._lock:
            return list(self._entries)


def forget_uploads(paths: Iterable[Path]) -> None:
    """After uploads are stored encrypted: remove what Gradio kept of them in its cache folder.

    The copies themselves are deleted by the upload step; this removes their folders (named by the
    file's hash) and the empty placeholder files Gradio's File component leaves beside them."""
    from gradio.utils import get_upload_folder

    cache = Path(get_upload_folder()).resolve()
    for path in paths:
        parent = Path(path).resolve().parent
        if parent.parent == cache:
            with contextlib.suppress(OSError):
                parent.rmdir()  # only when empty
    for placeholder in cache.glob("tmp*"):
        with contextlib.suppress(OSError):
            if placeholder.is_file() and placeholder.stat().st_size == 0:  # gradio never writes to these
                placeholder.unlink()


def show(library: Any, value: Any) -> Any:
    """`value` with its PIL images served from `library`'s served-files folder (unchanged if it has none)."""
    served = library.cache.get(SERVED_KEY) if library is not None else None
    return served.show(value) if served is not None else value


def install_signal_handlers(cleanup: Any) -> dict[int, Any]:
    """On SIGTERM and SIGINT: run `cleanup`, then exit (a killed server must not leave its files).

    Returns the handlers it replaced, for `restore_signal_handlers`."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def handler(signum: int, _frame: Any) -> None:
        log.info("received %s: removing served files and exiting", signal.Signals(signum).name)
        try:
            cleanup()
        finally:
            raise SystemExit(128 + signum)

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}


def restore_signal_handlers(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
