"""What photogen stores, where, how big, and whether it is encrypted."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from photogen.library.library import Library

_TABLES = ["sources", "albums", "grants", "photos", "photo_files", "skipped", "faces", "people", "creations", "blobs", "tokens", "audit_log"]


@dataclass
class StoredItem:
    what: str
    path: str
    bytes: int
    encrypted: bool
    how: str


@dataclass
class PrivacyReport:
    home: str
    items: list[StoredItem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    key_method: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def total_bytes(self) -> int:
        return sum(i.bytes for i in self.items)


def privacy_report(library: Library) -> PrivacyReport:
    import json

    settings = library.settings
    home = settings.home
    report = PrivacyReport(home=str(home))
    try:
        report.key_method = json.loads(settings.keyinfo_path.read_text()).get("method", "")
    except (OSError, ValueError):
        report.key_method = "unknown"
    blob_paths = set(library.blobs.all_paths())
    models_bytes = adapter_bytes = 0
    catalog_files = [settings.catalog_path, settings.catalog_path.with_name("catalog.db-wal"), settings.catalog_path.with_name("catalog.db-shm")]
    for path in sorted(p for p in home.rglob("*") if p.is_file()):
        size = path.stat().st_size
        if path in blob_paths:
            continue
        if path == settings.keyinfo_path:
            report.items.append(StoredItem("key check and KDF salt (no key, no personal data)", str(path), size, False, "public parameters"))
        elif path in catalog_files[:2]:
            report.items.append(StoredItem("catalog database", str(path), size, True, "SQLCipher (AES-256)"))
        elif path == catalog_files[2]:
            report.items.append(StoredItem("catalog shared-memory index (no content)", str(path), size, False, "SQLite WAL index"))
        elif path == home / "licenses.json":
            report.items.append(StoredItem("model licenses you accepted (no personal data)", str(path), size, False, "public facts"))
        elif (home / "models") in path.parents:
            models_bytes += size  # public weights: summed into one line below
        elif (home / "adapters") in path.parents:
            adapter_bytes += size
        else:
            relative = path.relative_to(home)
            what = (
                "an unfinished download or import (temporary; removed when it ends)"
                if relative.parts[0].startswith(("tmp", ".")) or path.suffix in (".part", ".partial", ".tmp")
                else f"a file photogen did not write: {relative}"
            )
            report.items.append(StoredItem(what, str(path), size, False, "not encrypted; look at it, or delete it if you do not know it"))
    if models_bytes:
        report.items.append(StoredItem("downloaded or imported model weights (public files)", str(home / "models"), models_bytes, False, "public weights"))
    if adapter_bytes:
        report.items.append(StoredItem("identity adapter model files (public weights, no faces)", str(home / "adapters"), adapter_bytes, False, "public weights"))
    kinds: dict[str, tuple[int, int]] = {}
    for row in library.catalog.query("SELECT kind, count(*), coalesce(sum(size_bytes), 0) FROM blobs GROUP BY kind"):
        kinds[row[0]] = (row[1], row[2])
    on_disk = sum(p.stat().st_size for p in blob_paths)
    for kind, (count, size) in sorted(kinds.items()):
        report.items.append(StoredItem(f"{count} {kind} file(s)", str(settings.blobs_dir), size, True, "AES-256-GCM, HMAC file names"))
    if blob_paths and not kinds:
        report.items.append(StoredItem("unreferenced encrypted files", str(settings.blobs_dir), on_disk, True, "AES-256-GCM"))
    for table in _TABLES:
        report.rows[table] = int(library.catalog.scalar(f"SELECT count(*) FROM {table}"))
    return report
