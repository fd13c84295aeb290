"""Fixtures for the source tests: a data directory of our own, and Takeout archives built on the fly."""

from __future__ import annotations

import json
import os
import struct
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from photogen.library.library import Library, open_library
from photogen.settings import Settings
from tests.conftest import write_photo

PHOTOS = "Takeout/Google Photos"


@pytest.fixture
def lib(tmp_path: Path) -> Iterator[Library]:
    settings = Settings(home=tmp_path / "home", passphrase="test", use_keyring=False, kdf_memory_kib=8192, kdf_iterations=1)
    library = open_library(settings)
    yield library
    library.close()


def jpeg(seed: int, **exif: Any) -> bytes:
    """A real JPEG with distinct content per seed (and the EXIF asked for)."""
    with tempfile.TemporaryDirectory() as scratch:
        return write_photo(Path(scratch) / "p.jpg", seed=seed, **exif).read_bytes()


def sidecar(title: str, taken: int | str = 1696573800, **extra: Any) -> bytes:
    body: dict[str, Any] = {
        "title": title,
        "description": "",
        "imageViews": "2",
        "creationTime": {"timestamp": "1697872351", "formatted": "21 oct. 2023, 07:12:31 UTC"},
        "photoTakenTime": {"timestamp": str(taken), "formatted": "whatever, localized"},
        "geoData": {"latitude": 0.0, "longitude": 0.0, "altitude": 0.0, "latitudeSpan": 0.0, "longitudeSpan": 0.0},
        "url": "https://photos.google.com/photo/AF1Qip",
    }
    body.update(extra)
    return json.dumps(body).encode()


def album_metadata(title: str) -> bytes:
    return json.dumps({"title": title, "description": "", "access": "protected", "date": {"timestamp": "0"}}).encode()


def write_zip(path: Path, entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def add_symlink(path: Path, name: str, target: str) -> None:
    with zipfile.ZipFile(path, "a") as zf:
        info = zipfile.ZipInfo(name)
        info.create_system = 3
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, target)


def add_raw_name(path: Path, raw_name: bytes, data: bytes) -> None:
    """An entry whose name is bytes that are not UTF-8 (and not flagged as UTF-8), as old zip tools write."""
    placeholder = "X" * len(raw_name)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(zipfile.ZipInfo(placeholder), data)
    blob = path.read_bytes().replace(placeholder.encode(), raw_name)
    path.write_bytes(blob)


def forge_declared_size(path: Path, name: str, size: int) -> None:
    """Make the central directory claim `name` expands to `size` bytes (a bomb's header)."""
    blob = bytearray(path.read_bytes())
    needle = b"PK\x01\x02"
    start = 0
    while (at := blob.find(needle, start)) >= 0:
        name_len = struct.unpack_from("<H", blob, at + 28)[0]
        if bytes(blob[at + 46 : at + 46 + name_len]) == name.encode():
            struct.pack_into("<I", blob, at + 24, size)
            break
        start = at + 4
    path.write_bytes(bytes(blob))


def tree_snapshot(root: Path, exclude: Path) -> dict[str, int]:
    """Every file under root (but not under exclude) with its size: to prove nothing was written."""
    found = {}
    for dirpath, _dirs, files in os.walk(root):
        if Path(dirpath).is_relative_to(exclude):
            continue
        for f in files:
            p = Path(dirpath) / f
            found[str(p)] = p.lstat().st_size
    return found
