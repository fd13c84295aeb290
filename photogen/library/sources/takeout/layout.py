"""Where things sit in a Takeout export: the Google Photos folder among other products, which
folders are albums, years, archive or trash, and which files are photos or videos by extension."""

from __future__ import annotations

import os
import re

IMAGE_EXTENSIONS = {
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".heic", ".heif", ".webp", ".tif", ".tiff", ".gif", ".bmp",
    ".avif", ".dng", ".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2",
}
VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".3gp", ".avi", ".mkv", ".webm", ".mts", ".m2ts", ".wmv", ".mpg", ".mpeg", ".mp", ".mv"}

# The product folder under Takeout/ is localized; anything that reads like "photos" counts.
_PRODUCT_HINTS = ("photo", "foto", "фото", "相册", "フォト")
_YEAR_FOLDER = re.compile(r"^(photos from|fotos del|fotos von|foto da|foto_s van|photos de|fotos de) (18|19|20)\d{2}$", re.I)
_ARCHIVE = {"archive", "archivo", "arquivo", "archivio", "archiv", "archief", "архив", "archiwum", "档案", "アーカイブ", "arxiu"}
_TRASH = {"trash", "bin", "papelera", "lixeira", "cestino", "corbeille", "papierkorb", "prullenbak", "корзина", "kosz", "回收站", "ゴミ箱", "paperera"}
_LOCKED = {"locked folder", "carpeta privada"}
_FAILED_VIDEOS = {"failed videos"}


def under_photos_root(parts: list[str], product_ok: set[str]) -> list[str] | None:
    """The path below the Google Photos folder, or None for another Takeout product's files."""
    if parts and parts[0] == "Takeout":
        parts = parts[1:]
        if len(parts) < 2 or parts[0] not in product_ok:
            return None
        return parts[1:]
    return parts


def photo_products(top_dirs: set[str]) -> set[str]:
    # one product folder: it is Photos whatever its language; several: keep the photo-like ones
    if len(top_dirs) == 1:
        return set(top_dirs)
    return {d for d in top_dirs if any(h in d.lower() for h in _PRODUCT_HINTS)}


def folder_kind(album_key: str) -> str:
    lowered = album_key.lower()
    if _YEAR_FOLDER.match(album_key):
        return "year"
    if lowered in _TRASH:
        return "trash"
    if lowered in _LOCKED:
        return "locked"
    if lowered in _FAILED_VIDEOS:
        return "failed"
    if lowered in _ARCHIVE:
        return "archive"
    return "album"


def media_kind(name: str) -> str | None:
    ext = os.path.splitext(name)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return None
