from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photogen.errors import PhotogenError
from photogen.faces.detection import YuNetDetector, as_rgb, decode_yunet, nms
from tests.faces.conftest import AnalysedPhoto, load_rgb


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], np.float32)
    scores = np.array([0.8, 0.9, 0.7], np.float32)
    assert nms(boxes, scores, 0.3).tolist() == [1, 2]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), 0.3).tolist() == []


def test_decode_places_a_cell_and_its_landmarks() -> None:
    h, w = 64, 64
    outputs = {}
    for stride in (8, 16, 32):
        n = (h // stride) * (w // stride)
        outputs[f"cls_{stride}"] = np.zeros((1, n, 1), np.float32)
        outputs[f"obj_{stride}"] = np.zeros((1, n, 1), np.float32)
        outputs[f"bbox_{stride}"] = np.zeros((1, n, 4), np.float32)
        outputs[f"kps_{stride}"] = np.zeros((1, n, 10), np.float32)
    # one hit at stride 16, row 1, col 2 (cell index 1*4+2), size log(2) cells
    outputs["cls_16"][0, 6, 0] = 0.81
    outputs["obj_16"][0, 6, 0] = 1.0
    outputs["bbox_16"][0, 6] = [0.5, 0.5, np.log(2.0), np.log(2.0)]
    outputs["kps_16"][0, 6, :2] = [0.25, 0.75]
    boxes, marks, scores = decode_yunet(outputs, (h, w), 0.5)
    assert scores.tolist() == pytest.approx([0.9])
    # centre (2.5, 1.5) cells * 16 = (40, 24), size 32 px
    np.testing.assert_allclose(boxes[0], [24, 8, 32, 32], atol=1e-4)
    np.testing.assert_allclose(marks[0, 0], [(2 + 0.25) * 16, (1 + 0.75) * 16], atol=1e-4)


def test_as_rgb_accepts_gray_and_rgba_and_refuses_the_rest() -> None:
    assert as_rgb(np.zeros((4, 5), np.uint8)).shape == (4, 5, 3)
    assert as_rgb(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5, 3)
    with pytest.raises(PhotogenError, match="8-bit"):
        as_rgb(np.zeros((4, 5, 3), np.float32))
    with pytest.raises(PhotogenError, match="grayscale, RGB or RGBA"):
        as_rgb(np.zeros((4, 5, 2), np.uint8))


def test_no_face_photos_give_no_faces(faces_dir: Path) -> None:
    detector = YuNetDetector()
    for path in sorted((faces_dir / "noface").glob("*.jpg")):
        assert detector.predict(load_rgb(path)) == [], path.name


def test_every_group_photo_gives_at_least_its_labelled_faces(
    group_photos: dict[str, AnalysedPhoto], group_labels: dict[str, dict]
) -> None:
    for name, photo in group_photos.items():
        assert len(photo.faces) >= group_labels[name]["min_faces"], name


def test_every_portrait_has_a_confident_face(people_photos: dict[str, list[AnalysedPhoto]]) -> None:
    for identity, photos in people_photos.items():
        for photo in photos:
            assert photo.faces, f"{identity}/{photo.path.name}"
            assert photo.main_face.score >= 0.8


def test_large_photo_is_detected_downscaled_and_mapped_back(faces_dir: Path) -> None:
    import cv2

    small = load_rgb(faces_dir / "groups" / "bbt4.jpg")
    big = cv2.resize(small, None, fx=5, fy=5, interpolation=cv2.INTER_LINEAR)  # 3550 px wide
    detector = YuNetDetector()
    found_small = np.array(sorted(d.box for d in detector.predict(small)))
    found_big = np.array(sorted(d.box for d in detector.predict(big))) / 5
    assert len(found_big) == len(found_small) == 6
    # the same faces, in the big photo's pixels: centres and sizes agree within 10% of the face
    size = found_small[:, 2:]
    centre_small = found_small[:, :2] + size / 2
    centre_big = found_big[:, :2] + found_big[:, 2:] / 2
    assert (np.abs(centre_big - centre_small) < 0.1 * size).all()
    assert (np.abs(found_big[:, 2:] - size) < 0.1 * size).all()
