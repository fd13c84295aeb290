"""Person masks for background mode, from OpenCV's GrabCut seeded with the faces' boxes.

Why GrabCut: nothing on PyPI ships a person-segmentation network's weights for offline use that fits
this environment. rembg, backgroundremover, carvekit and transparent-background download their weights
at run time; mediapipe 1.x ships no models; mediapipe 0.10.14 does bundle the Apache-2.0 selfie
segmenter (selfie_segmentation.tflite, 250 KB) but needs its legacy runtime, whose numpy<2 and protobuf
pins clash with this stack. GrabCut needs no weights and, seeded from where the faces are, separates a
person from a background well when they differ in colour; it is weakest on hair and on arms far from
the body. The masker is a plain callable, so a learned segmenter can replace it without touching the
pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from PIL import Image

from photogen.box import Box
from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

_WORK_SIDE = 512  # GrabCut is O(pixels) per iteration: work on a copy at most this big


def person_prior(width: int, height: int, face_boxes: Sequence[Box]) -> np.ndarray:
    """GrabCut's seed: uint8 mask of GC_* labels from a head-and-shoulders body model around each face."""
    import cv2

    prior = np.full((height, width), cv2.GC_BGD, dtype=np.uint8)
    for box in face_boxes:
        x0, y0, x1, y1 = box.corners()
        w, h = max(1, x1 - x0), max(1, y1 - y0)
        cx = (x0 + x1) / 2
        # probable person: head with hair above the face, shoulders about three face widths wide
        # widening downwards to the bottom of the photo
        top = max(0, int(y0 - 0.6 * h))
        poly = np.array(
            [
                [cx - 0.9 * w, top],
                [cx + 0.9 * w, top],
                [cx + 0.9 * w, y1 + 0.3 * h],
                [cx + 2.0 * w, y1 + 0.9 * h],
                [cx + 2.6 * w, height],
                [cx - 2.6 * w, height],
                [cx - 2.0 * w, y1 + 0.9 * h],
                [cx - 0.9 * w, y1 + 0.3 * h],
            ],  # fmt: skip
            dtype=np.int32,
        )
        cv2.fillPoly(prior, [poly], cv2.GC_PR_FGD)
        # sure person: the face itself and the neck and chest straight below it
        prior[max(0, int(y0 + 0.15 * h)) : int(y1 - 0.1 * h), int(x0 + 0.2 * w) : int(x1 - 0.2 * w)] = cv2.GC_FGD
        prior[int(y1 + 0.2 * h) : min(height, int(y1 + 1.6 * h)), int(cx - 0.35 * w) : int(cx + 0.35 * w)] = cv2.GC_FGD
    return prior


def grabcut_person_mask(photo: Image.Image, face_boxes: Sequence[Box], iterations: int = 5) -> np.ndarray:
    """Bool mask (photo's height x width), True on the people whose faces are in `face_boxes`."""
    import cv2

    if not face_boxes:
        raise PhotogenError(
            "No face was found in this photo, so there are no people to keep: use restyle or text mode."
        )
    rgb = np.asarray(photo.convert("RGB"))
    height, width = rgb.shape[:2]
    scale = min(1.0, _WORK_SIDE / max(width, height))
    small_w, small_h = max(1, round(width * scale)), max(1, round(height * scale))
    small = cv2.resize(rgb, (small_w, small_h), interpolation=cv2.INTER_AREA) if scale < 1 else rgb
    boxes = [Box.from_corners(*(int(round(v * scale)) for v in box.corners())) for box in face_boxes]
    labels = person_prior(small_w, small_h, boxes)

    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    try:
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), labels, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK)
    except cv2.error as e:  # one colour everywhere leaves GrabCut nothing to model
        logger.warning("GrabCut failed (%s); using the body prior as the mask", e)
    person = np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)

    # keep only regions connected to a face: stray background blobs of skin-like colour are not people
    count, components = cv2.connectedComponents(person)
    keep = np.zeros(count, dtype=bool)
    for box in boxes:
        x0, y0, x1, y1 = box.corners()
        cy, cx = (y0 + y1) // 2, (x0 + x1) // 2
        keep[components[min(cy, small_h - 1), min(cx, small_w - 1)]] = True
    keep[0] = False
    person = keep[components].astype(np.uint8)
    # close pinholes (eyes, teeth) that GrabCut sometimes labels background
    person = cv2.morphologyEx(person, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    if scale < 1:
        person = cv2.resize(person, (width, height), interpolation=cv2.INTER_NEAREST)
    return person.astype(bool)
