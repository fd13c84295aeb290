"""Tiny random identity adapters on the tiny test model, each exported once per test session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from photogen.generate.commands import GenerationEngine
from photogen.generate.identity import InstalledAdapter, create_tiny_adapter
from photogen.generate.identity.export import ensure_identity_export
from photogen.generate.sources import installed_model
from photogen.settings import Settings

SHARED_FACES = Path(__file__).resolve().parents[3].parent / "shared" / "faces"


@pytest.fixture(scope="session")
def tiny_faceid(gen_settings: Settings, tiny_dir: Path) -> InstalledAdapter:
    return create_tiny_adapter("tiny-faceid", tiny_dir, gen_settings, seed=1)


@pytest.fixture(scope="session")
def tiny_plus(gen_settings: Settings, tiny_dir: Path) -> InstalledAdapter:
    return create_tiny_adapter("tiny-plus-face", tiny_dir, gen_settings, seed=2)


@pytest.fixture(scope="session")
def faceid_exports(gen_settings: Settings, tiny_faceid: InstalledAdapter) -> Callable[[str], Path]:
    """precision -> identity export of the tiny model with tiny-faceid (exported on first request)."""
    installed = installed_model("tiny-test", gen_settings)
    done: dict[str, Path] = {}

    def get(precision: str) -> Path:
        if precision not in done:
            done[precision] = ensure_identity_export(installed, tiny_faceid, precision, gen_settings)[0]  # type: ignore[arg-type]
        return done[precision]

    return get


@pytest.fixture(scope="session")
def plus_export(gen_settings: Settings, tiny_plus: InstalledAdapter) -> Path:
    return ensure_identity_export(installed_model("tiny-test", gen_settings), tiny_plus, "fp32", gen_settings)[0]


@pytest.fixture(scope="session")
def id_engine(gen_settings: Settings, tiny_faceid: InstalledAdapter) -> GenerationEngine:
    return GenerationEngine(gen_settings, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="session")
def shared_people() -> Path:
    if not (SHARED_FACES / "people").is_dir():
        pytest.skip("../shared/faces is absent (it ships with CI, not with a fresh clone)")
    return SHARED_FACES


def load_rgb_file(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB"))


@pytest.fixture(scope="session")
def face_analyzer():  # noqa: ANN201 - photogen.faces.FaceAnalyzer
    from photogen.faces.analyzer import FaceAnalyzer

    return FaceAnalyzer()


@pytest.fixture(scope="session")
def real_faces(shared_people: Path, face_analyzer) -> dict[str, list[tuple[Path, np.ndarray, object]]]:  # noqa: ANN001
    """Four people of shared/faces, photos 1-5 each: (path, RGB pixels, the best face found)."""
    out: dict[str, list[tuple[Path, np.ndarray, object]]] = {}
    for who in ("bbt_amy", "bbt_penny", "bbt_sheldon", "bbt_leonard"):
        out[who] = []
        for i in range(1, 6):
            path = shared_people / "people" / who / f"{i}.jpg"
            rgb = load_rgb_file(path)
            out[who].append((path, rgb, face_analyzer.analyze(rgb)[0]))
    return out


def person_from_photos(real_faces: dict, who: str, person_id: int, name: str, count: int = 4):  # noqa: ANN201
    """A PersonReference built from shared photos 1..count, as the catalog path would build it."""
    from photogen.faces.alignment import align_face
    from photogen.faces.reference_faces import person_centroid
    from photogen.generate.identity.references import REFERENCE_CROP_SIZE, PersonReference, ReferenceFace

    rows = real_faces[who][:count]
    faces = tuple(
        ReferenceFace(
            face_id=person_id * 100 + i,
            photo_id=person_id * 100 + i,
            box=face.box,
            landmarks=face.landmarks,
            quality=face.quality,
            embedding=face.embedding,
            backend=face.backend,
            pinned=False,
        )  # fmt: skip
        for i, (_, _, face) in enumerate(rows)
    )
    crops = np.stack([align_face(rgb, face.landmarks, REFERENCE_CROP_SIZE) for _, rgb, face in rows])
    centroid = person_centroid([f.embedding for f in faces], [f.quality for f in faces])
    return PersonReference(person_id, name, faces, centroid, crops)
