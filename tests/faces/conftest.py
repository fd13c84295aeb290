"""Shared fixtures for the face tests: the real DEV photos, analysed once per session."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from photogen.faces.analyzer import Face, FaceAnalyzer

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
