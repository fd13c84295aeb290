"""The manifest written beside every export, and its check on load.

An export is trusted only when every file it lists is present with the same size and sha256, no file
was added, its format version is current, it was made from the source the caller expects, and every
graph's recorded drift from its torch original is within today's bound for its precision. Anything
else is stale or corrupt: the caller re-exports, it never runs it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from photogen.generate.validation import GraphDrift, check_recorded

logger = logging.getLogger(__name__)

MANIFEST_NAME = "photogen_manifest.json"
# Bump when the export layout or graph contract changes (e.g. the identity adapter adds UNet inputs),
# so exports made by an older photogen are redone rather than fed inputs they do not have.
# 2: every export records its graphs' measured drift from torch (validation.py)
EXPORT_FORMAT_VERSION = 2
Precision = Literal["fp32", "int8", "int8w", "int8mm", "fp16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "int8", "int8w", "int8mm", "fp16")
# what each precision is, in words a user can check against the graph
PRECISION_LABELS: dict[str, str] = {
    "fp32": "fp32",
    "int8": "int8 dynamic (int8 weights, activations quantized per call)",
    "int8w": "int8 weight-only (int8 weights on disk, fp32 compute)",
    "int8mm": "int8 dynamic MatMul (linear layers int8 with activations quantized per call; "
    "other weights int8 on disk, fp32 compute)",
    "fp16": "fp16 (GPU)",
}

_VERSIONED_PACKAGES = ("torch", "diffusers", "transformers", "optimum-onnx", "onnx", "onnxruntime")


class SourceInfo(BaseModel):
    """Where the weights of an export came from; two exports of the same source compare equal."""

    kind: Literal["hub", "folder", "checkpoint"]
    repo: str | None = None
    revision: str | None = None
    # sha256 over the source's files (folder) or of the single checkpoint file
    content_sha256: str | None = None
    # LCM-LoRA style models are a base plus a LoRA fused before export
    lora_repo: str | None = None
    lora_revision: str | None = None


class FileEntry(BaseModel):
    sha256: str
    size: int


class ExportManifest(BaseModel):
    format_version: int = EXPORT_FORMAT_VERSION
    model_id: str
    precision: Precision
    opset: int
    source: SourceInfo
    test_model: bool = False
    files: dict[str, FileEntry]
    versions: dict[str, str]
    created_at: str = Field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    # free-form facts later features add without a format change (e.g. identity adapter inputs)
    extra: dict[str, object] = Field(default_factory=dict)
    # component -> its graph's measured difference from the torch original (validation.py)
    validation: dict[str, GraphDrift] = Field(default_factory=dict)


class ExportInvalidError(Exception):
    """An export that must not be run: the reason says what is wrong. Callers re-export."""


class FileHashes:
    """sha256 of files, each hashed once while the file is unchanged (same path, size and mtime).

    Hashing a 3 GB UNet takes seconds: an owner that checks the same exports again (an engine, a Models
    panel) keeps one of these for its lifetime; without one every call hashes afresh."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, int, int], str] = {}

    def sha256(self, path: Path) -> str:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key not in self._known:
            self._known[key] = sha256_file(path)
        return self._known[key]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _listed_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)


def hash_tree(root: Path, hashes: FileHashes | None = None) -> dict[str, FileEntry]:
    hashes = hashes or FileHashes()
    return {
        p.relative_to(root).as_posix(): FileEntry(sha256=hashes.sha256(p), size=p.stat().st_size)
        for p in _listed_files(root)
    }


def fingerprint_folder(root: Path) -> str:
    """One sha256 for a folder's content (relative names and file hashes), ignoring timestamps."""
    h = hashlib.sha256()
    for rel, entry in hash_tree(root).items():
        h.update(f"{rel}\0{entry.sha256}\n".encode())
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def write_manifest(export_dir: Path, manifest_fields: dict[str, object], hashes: FileHashes | None = None) -> ExportManifest:
    """Hash every file under `export_dir` and write the manifest last (its presence marks a finished export)."""
    manifest = ExportManifest(files=hash_tree(export_dir, hashes), versions=library_versions(), **manifest_fields)  # type: ignore[arg-type]
    tmp = export_dir / (MANIFEST_NAME + ".tmp")
    tmp.write_text(manifest.model_dump_json(indent=2))
    os.replace(tmp, export_dir / MANIFEST_NAME)
    return manifest


def read_manifest(export_dir: Path) -> ExportManifest:
    path = export_dir / MANIFEST_NAME
    if not path.exists():
        raise ExportInvalidError(f"no manifest in {export_dir} (an unfinished or foreign export)")
    try:
        return ExportManifest.model_validate_json(path.read_text())
    except (ValueError, json.JSONDecodeError) as e:
        raise ExportInvalidError(f"unreadable manifest in {export_dir}: {e}") from e


def verify_export(export_dir: Path, expected_source: SourceInfo | None = None, hashes: FileHashes | None = None
                  ) -> ExportManifest:  # fmt: skip
    """Return the manifest of a sound export; raise ExportInvalidError saying why it is stale or corrupt.

    `hashes`: the caller's FileHashes, so files it has already hashed unchanged are not read again."""
    hashes = hashes or FileHashes()
    manifest = read_manifest(export_dir)
    if manifest.format_version != EXPORT_FORMAT_VERSION:
        raise ExportInvalidError(
            f"export format {manifest.format_version}, this photogen makes {EXPORT_FORMAT_VERSION}"
        )
    if expected_source is not None and manifest.source != expected_source:
        raise ExportInvalidError(f"stale export: made from {manifest.source}, the source is now {expected_source}")
    present = {p.relative_to(export_dir).as_posix() for p in _listed_files(export_dir)}
    if missing := sorted(set(manifest.files) - present):
        raise ExportInvalidError(f"missing files: {missing}")
    if extra := sorted(present - set(manifest.files)):
        raise ExportInvalidError(f"files not in the manifest: {extra}")
    for rel, entry in manifest.files.items():
        path = export_dir / rel
        # the size check is free and catches truncation before hashing gigabytes
        if path.stat().st_size != entry.size:
            raise ExportInvalidError(f"{rel}: size {path.stat().st_size}, manifest says {entry.size} (truncated?)")
        if hashes.sha256(path) != entry.sha256:
            raise ExportInvalidError(f"{rel}: sha256 differs from the manifest (corrupt)")
    graphs = sorted({rel.split("/")[0] for rel in manifest.files if rel.endswith("/model.onnx")})
    if why := check_recorded(manifest.validation, manifest.precision, graphs):
        raise ExportInvalidError(why)
    return manifest
