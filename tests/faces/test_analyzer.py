from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from photogen.errors import PhotogenError
from photogen.faces.analyzer import Face, FaceAnalyzer
from tests.faces.conftest import AnalysedPhoto, load_rgb


def _cos(a: Face, b: Face) -> float:
    return float(a.embedding @ b.embedding)


@pytest.fixture(scope="session")
def portrait(faces_dir: Path) -> np.ndarray:
    return load_rgb(faces_dir / "people" / "deepface_2" / "1.jpg")


@pytest.fixture(scope="session")
def portrait_face(analyzer: FaceAnalyzer, portrait: np.ndarray) -> Face:
    (face,) = analyzer.analyze(portrait)
    return face


def test_face_record_fields(portrait: np.ndarray, portrait_face: Face) -> None:
    face = portrait_face
    x, y, w, h = face.box
    assert all(isinstance(v, int) for v in face.box)
    assert 0 <= x and 0 <= y and x + w <= portrait.shape[1] and y + h <= portrait.shape[0] and w > 50 and h > 50
    assert face.landmarks.shape == (5, 2) and face.landmarks.dtype == np.float32
    # landmarks sit inside the box: eyes above the mouth
    assert (face.landmarks[:, 0] > x).all() and (face.landmarks[:, 0] < x + w).all()
    assert face.landmarks[:2, 1].max() < face.landmarks[3:, 1].min()
    assert 0.7 < face.score <= 1.0 and 0.0 <= face.quality <= 1.0
    assert face.quality == pytest.approx(face.quality_parts.overall)
    assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
    assert face.backend == "yunet-sface"


def test_input_is_not_modified(analyzer: FaceAnalyzer, portrait: np.ndarray) -> None:
    copy = portrait.copy()
    analyzer.analyze(copy)
    np.testing.assert_array_equal(copy, portrait)


def test_grayscale_and_rgba_photos(analyzer: FaceAnalyzer, portrait: np.ndarray, portrait_face: Face) -> None:
    (gray,) = analyzer.analyze(cv2.cvtColor(portrait, cv2.COLOR_RGB2GRAY))
    assert _cos(gray, portrait_face) > 0.85
    rgba = np.dstack([portrait, np.full(portrait.shape[:2], 255, np.uint8)])
    (face,) = analyzer.analyze(rgba)
    assert _cos(face, portrait_face) > 0.99


def test_bad_arrays_raise_the_project_error(analyzer: FaceAnalyzer) -> None:
    with pytest.raises(PhotogenError):
        analyzer.analyze(np.zeros((10, 10, 3), np.float64))
    with pytest.raises(PhotogenError):
        analyzer.analyze(np.zeros((2, 10, 10, 3), np.uint8))


def test_rotated_exif_photo_once_oriented(
    analyzer: FaceAnalyzer, portrait: np.ndarray, portrait_face: Face, tmp_path: Path
) -> None:
    # a camera held sideways stores the pixels turned and says so in EXIF Orientation (6)
    stored = Image.fromarray(portrait).rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "sideways.jpg"
    stored.save(path, exif=exif, quality=95)
    oriented = load_rgb(path)
    assert oriented.shape == portrait.shape
    (face,) = analyzer.analyze(oriented)
    assert _cos(face, portrait_face) > 0.95


def test_face_cut_by_the_border(analyzer: FaceAnalyzer, portrait: np.ndarray, portrait_face: Face) -> None:
    x, y, w, h = portrait_face.box
    cut = portrait[:, : x + int(0.65 * w)]  # the right third of the face is outside the photo
    faces = analyzer.analyze(cut)
    assert len(faces) == 1
    face = faces[0]
    fx, fy, fw, fh = face.box
    assert fx + fw <= cut.shape[1]  # the box is clipped to the photo
    assert face.quality_parts.size <= portrait_face.quality_parts.size
    assert _cos(face, portrait_face) > 0.5


def test_tiny_photos(analyzer: FaceAnalyzer, portrait: np.ndarray, portrait_face: Face) -> None:
    x, y, w, h = portrait_face.box
    m = w // 3
    head = portrait[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m]
    tiny = cv2.resize(head, (48, 48), interpolation=cv2.INTER_AREA)
    (face,) = analyzer.analyze(tiny)
    # a 26x35 px face: still above every different-person pair of the DEV set (0.44)
    assert _cos(face, portrait_face) > 0.5
    assert face.quality < portrait_face.quality  # small: a poor reference
    assert analyzer.analyze(np.zeros((4, 4, 3), np.uint8)) == []
    assert analyzer.analyze(np.zeros((0, 0, 3), np.uint8)) == []


def test_fifty_faces_in_one_photo(analyzer: FaceAnalyzer, people_photos: dict[str, list[AnalysedPhoto]]) -> None:
    cell = 160
    tiles = []
    for photos in people_photos.values():
        for photo in photos:
            image = load_rgb(photo.path)
            x, y, w, h = photo.main_face.box
            m = int(0.3 * max(w, h))
            head = image[max(0, y - m) : y + h + m, max(0, x - m) : x + w + m]
            tiles.append(cv2.resize(head, (cell, cell), interpolation=cv2.INTER_AREA))
    tiles = tiles[:50]
    assert len(tiles) == 50
    sheet = np.concatenate([np.concatenate(tiles[r * 10 : r * 10 + 10], axis=1) for r in range(5)], axis=0)
    faces = analyzer.analyze(sheet)
    cells = [((f.box[1] + f.box[3] // 2) // cell, (f.box[0] + f.box[2] // 2) // cell) for f in faces]
    assert len(faces) == 50 and len(set(cells)) == 50  # one face in every tile, none twice


def test_several_photos_at_once_match_one_at_a_time(
    analyzer: FaceAnalyzer, portrait: np.ndarray, group_photos: dict[str, AnalysedPhoto]
) -> None:
    crowded = max(group_photos.values(), key=lambda photo: len(photo.faces))
    group = load_rgb(crowded.path)
    assert len(crowded.faces) > 4  # more faces than one embedding batch
    photos = [portrait, np.zeros((64, 64, 3), np.uint8), group, portrait]
    together = analyzer.analyze_many(photos)
    assert [len(faces) for faces in together] == [len(analyzer.analyze(photo)) for photo in photos]
    for photo, faces in zip(photos, together, strict=True):
        for one, batched in zip(analyzer.analyze(photo), faces, strict=True):
            assert one.box == batched.box and one.quality == batched.quality
            # batching only changes the order of float sums inside the embedder
            assert float(one.embedding @ batched.embedding) > 0.9999
    assert analyzer.analyze_many([]) == []
