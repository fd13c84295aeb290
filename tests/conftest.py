"""Fixtures shared by every test: a throwaway data directory and photos with EXIF we choose."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import piexif
import pytest
from PIL import Image

from photogen.library.library import Library, open_library
from photogen.settings import Settings

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_FACES = SHARED / "faces"

# a cheap Argon2id cost: tests make many data directories; the production default stays 64 MiB
TEST_KDF = {"kdf_memory_kib": 8192, "kdf_iterations": 1}


class OutboundConnection(AssertionError):
    """A test tried to reach a host that is not this machine."""


_LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX
        return True
    host = str(address[0]) if address else ""
    return host in _LOCAL_NAMES or host.startswith("127.") or host == "::ffff:127.0.0.1"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with a socket guard: any connection beyond loopback fails the test.

    photogen promises no network use except downloads and Google calls the user starts; this
    turns that promise into a check on everything the suite exercises in-process.
    """
    import socket

    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise OutboundConnection(f"outbound connection attempted to {address!r}")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_local(address):
            raise OutboundConnection(f"outbound connection attempted to {address!r}")
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else (host or "")
        if not _is_local((name,)):
            raise OutboundConnection(f"name lookup attempted for {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PHOTOGEN_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", passphrase="correct horse battery staple", use_keyring=False, **TEST_KDF)


@pytest.fixture
def library(settings: Settings) -> Iterator[Library]:
    lib = open_library(settings)
    yield lib
    lib.close()


@pytest.fixture
def shared_faces() -> Path:
    if not SHARED_FACES.is_dir():
        pytest.skip("../shared/faces is absent (it ships with CI, not with a fresh clone)")
    return SHARED_FACES


def _dms(value: float) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round(((value - d) * 60 - m) * 60 * 1000)
    return ((d, 1), (m, 1), (s, 1000))


def write_photo(
    path: Path,
    *,
    size: tuple[int, int] = (160, 120),
    color: tuple[int, int, int] = (180, 120, 60),
    taken: str | None = None,
    offset: str | None = None,
    digitized: str | None = None,
    modified: str | None = None,
    make: str | None = None,
    model: str | None = None,
    gps: tuple[float, float] | None = None,
    gps_time: tuple[str, tuple[int, int, int]] | None = None,
    orientation: int | None = None,
    fmt: str = "JPEG",
    seed: int | None = None,
) -> Path:
    """A real image file with exactly the EXIF we ask for."""
    zeroth: dict[int, Any] = {}
    exif: dict[int, Any] = {}
    gps_ifd: dict[int, Any] = {}
    if make:
        zeroth[piexif.ImageIFD.Make] = make.encode()
    if model:
        zeroth[piexif.ImageIFD.Model] = model.encode()
    if modified:
        zeroth[piexif.ImageIFD.DateTime] = modified.encode()
    if orientation:
        zeroth[piexif.ImageIFD.Orientation] = orientation
    if taken:
        exif[piexif.ExifIFD.DateTimeOriginal] = taken.encode()
    if offset:
        exif[piexif.ExifIFD.OffsetTimeOriginal] = offset.encode()
    if digitized:
        exif[piexif.ExifIFD.DateTimeDigitized] = digitized.encode()
    if gps:
        lat, lon = gps
        gps_ifd.update(
            {
                piexif.GPSIFD.GPSLatitudeRef: b"N" if lat >= 0 else b"S",
                piexif.GPSIFD.GPSLatitude: _dms(lat),
                piexif.GPSIFD.GPSLongitudeRef: b"E" if lon >= 0 else b"W",
                piexif.GPSIFD.GPSLongitude: _dms(lon),
            }
        )
    if gps_time:
        day, (h, mi, s) = gps_time
        gps_ifd[piexif.GPSIFD.GPSDateStamp] = day.encode()
        gps_ifd[piexif.GPSIFD.GPSTimeStamp] = ((h, 1), (mi, 1), (s, 1))
    image = Image.new("RGB", size, color)
    if seed is not None:  # the seed's bits as black/white blocks: distinct content, distinct hashes
        block = max(1, min(size[0] // 16, size[1] // 4, 8))
        for bit in range(16):
            shade = 255 if (seed >> bit) & 1 else 0
            image.paste((shade, shade, shade), (bit * block, 0, (bit + 1) * block, block))
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = piexif.dump({"0th": zeroth, "Exif": exif, "GPS": gps_ifd})
    if fmt == "JPEG":
        image.save(path, "JPEG", exif=blob, quality=90)
    else:
        image.save(path, fmt, exif=blob)
    return path


@pytest.fixture
def photo() -> Callable[..., Path]:
    return write_photo
