"""Likeness: who each face of a photo is, how alike a result's faces stay, and the guard that keeps them.

Faces are compared by the cosine of their SFace embeddings, matched by where they are (IoU of their
boxes, the photo's boxes scaled to the result's size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from photogen.box import Box
from photogen.create.instant import keep_faces
from photogen.create.request import CreatedVariant
from photogen.library import photo_context
from photogen.library.library import Library

# below this cosine a restyled face has drifted from its person; measured SFace same-person range 0.51-0.93
FACE_GUARD_MIN_LIKENESS = 0.55
# faces in two pictures are the same face when their boxes overlap at least this much
SAME_PLACE_IOU = 0.3


def face_guard(analyzer: Any, faces: Sequence[Any]) -> Callable[[Image.Image, Image.Image], Image.Image]:
    """Keep each face of the photo its person: where the restyled face drifts, blend the original back."""

    def guard(original: Image.Image, generated: Image.Image) -> Image.Image:
        orig = np.asarray(original.convert("RGB"))
        gen = np.asarray(generated.convert("RGB").resize(original.size))
        found = analyzer.analyze(gen)
        drifted = []
        for face in faces:
            box = Box.of(face.box)
            match = max(found, key=lambda f: Box.of(f.box).iou(box), default=None)
            ok = match is not None and Box.of(match.box).iou(box) > SAME_PLACE_IOU
            if not ok or float(np.dot(match.embedding, face.embedding)) < FACE_GUARD_MIN_LIKENESS:
                drifted.append(box.rounded())
        if not drifted:
            return generated
        blended = keep_faces(orig, gen, drifted, fidelity=0.85)
        return Image.fromarray(blended).resize(generated.size)

    return guard


def score_against_photo(analyzer: Any, variant: CreatedVariant, faces: Sequence[Any], base_size: tuple[int, int], labels: Sequence[str] = ()) -> None:
    """Likeness of each face of the photo in the result: the cosine of the two SFace embeddings,
    named by who the face is ("Grandpa Joe 0.90"), or "face N" for someone not named yet."""
    gen = np.asarray(variant.image.convert("RGB"))
    found = analyzer.analyze(gen)
    for i, face in enumerate(faces, start=1):
        box = Box.of(face.box).scaled(base_size, (gen.shape[1], gen.shape[0])).rounded()
        match = max(found, key=lambda f: Box.of(f.box).iou(box), default=None)
        label = labels[i - 1] if i - 1 < len(labels) else f"face {i}"
        if match is None or Box.of(match.box).iou(box) < SAME_PLACE_IOU:
            variant.likeness[label] = 0.0
            variant.notes.append(f"{label}: not found in the result")
        else:
            variant.likeness[label] = max(0.0, float(np.dot(match.embedding, face.embedding)))


def face_labels(library: Library, photo_id: int, faces: Sequence[Any], min_cosine: float = 0.6) -> list[str]:
    """Who each face found in a photo is: the name of the person its stored face (same photo, most
    alike embedding) is on, else "face N". Two faces never take one name."""
    from photogen.faces.people import load_faces

    stored = [f for f in load_faces(library, usable_only=False) if f.photo_id == photo_id and f.person_id is not None]
    names = photo_context.person_names(library)
    labels, used = [], set()
    for i, face in enumerate(faces, start=1):
        scored = [(float(np.dot(np.asarray(face.embedding, np.float32), s.embedding)), s) for s in stored if s.embedding.shape == np.shape(face.embedding)]
        best = max(scored, key=lambda x: x[0], default=None)
        name = names.get(best[1].person_id) if best is not None and best[0] >= min_cosine else None  # type: ignore[arg-type]
        if name and name not in used:
            used.add(name)
            labels.append(name)
        else:
            labels.append(f"face {i}")
    return labels
