"""Shared fixtures for the face tests: the real DEV photos, analysed once per session."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from photogen.faces.analyzer import Face, FaceAnalyzer
from photogen.faces.people import FaceListing
from photogen.library.library import Library
from photogen.settings import Settings
from tests.conftest import TEST_KDF

FACES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "faces"


def load_rgb(path: Path) -> np.ndarray:
    """What the library stage hands the analyzer: EXIF orientation applied, RGB uint8."""
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


@dataclass(frozen=True)
class AnalysedPhoto:
    path: Path
    faces: list[Face]

    @property
    def main_face(self) -> Face:
        """In a people/ portrait, the labelled person is the largest face."""
        return max(self.faces, key=lambda f: f.box[2] * f.box[3])


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    if not (FACES_DIR / "people").is_dir():
        pytest.skip(f"the DEV face set is absent ({FACES_DIR}); it sits next to the repository in CI")
    return FACES_DIR


@pytest.fixture(scope="session")
def analyzer() -> FaceAnalyzer:
    return FaceAnalyzer()


@pytest.fixture(scope="session")
def people_photos(faces_dir: Path, analyzer: FaceAnalyzer) -> dict[str, list[AnalysedPhoto]]:
    """identity -> its analysed portraits."""
    result: dict[str, list[AnalysedPhoto]] = {}
    for folder in sorted(p for p in (faces_dir / "people").iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg")):
            result.setdefault(folder.name, []).append(AnalysedPhoto(path, analyzer.analyze(load_rgb(path))))
    return result


@pytest.fixture(scope="session")
def group_labels(faces_dir: Path) -> dict[str, dict]:
    return json.loads((faces_dir / "groups" / "labels.json").read_text())


@pytest.fixture(scope="session")
def group_photos(faces_dir: Path, analyzer: FaceAnalyzer, group_labels: dict[str, dict]) -> dict[str, AnalysedPhoto]:
    return {
        name: AnalysedPhoto(faces_dir / "groups" / name, analyzer.analyze(load_rgb(faces_dir / "groups" / name)))
        for name in sorted(group_labels)
    }


# ---- a library with the DEV set indexed, faces and people included (built once, copied per test) ----


@pytest.fixture(scope="session")
def indexed_home(faces_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding shared/faces as a folder source (albums people, groups, noface), indexed."""
    from photogen.faces.indexing import index_faces
    from photogen.library.consent import add_folder_source
    from photogen.library.indexer import index_library
    from photogen.library.library import open_library

    home = tmp_path_factory.mktemp("indexed") / "home"
    with open_library(library_settings(home)) as lib:
        add_folder_source(lib, faces_dir, ["all"])
        index_library(lib)
        index_faces(lib)
    return home


def library_settings(home: Path) -> Settings:
    return Settings(home=home, passphrase=INDEXED_PASSPHRASE, use_keyring=False, **TEST_KDF)


INDEXED_PASSPHRASE = "faces test passphrase"


@pytest.fixture
def indexed_library(indexed_home: Path, tmp_path: Path) -> Iterator[Library]:
    """A private copy of the indexed library, free to change."""
    from photogen.library.library import open_library

    home = tmp_path / "home"
    shutil.copytree(indexed_home, home)
    lib = open_library(library_settings(home))
    yield lib
    lib.close()


def identity_of_path(path: str | None) -> str | None:
    """The labelled identity of a portrait path (people/<identity>/n.jpg), else None."""
    if not path:
        return None
    parts = Path(path).parts
    return parts[-2] if len(parts) >= 3 and parts[-3] == "people" else None


def people_by_identity(library: Library) -> dict[str, int]:
    """identity -> the person holding its portraits (asserting there is exactly one)."""
    from photogen.faces.people import list_faces

    largest: dict[int, FaceListing] = {}  # a portrait's labelled person is its largest face
    for face in list_faces(library):
        best = largest.get(face.photo_id)
        if best is None or face.box[2] * face.box[3] > best.box[2] * best.box[3]:
            largest[face.photo_id] = face
    holders: dict[str, set[int | None]] = {}
    for face in largest.values():
        identity = identity_of_path(face.photo_path)
        if identity is not None:
            holders.setdefault(identity, set()).add(face.person_id)
    result = {}
    for identity, persons in holders.items():
        persons.discard(None)
        assert len(persons) == 1, f"{identity} is spread over people {persons}"
        result[identity] = persons.pop()
    return result
