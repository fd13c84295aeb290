"""From a person's reference faces to the identity graph's input (`identity_embeds`).

One encoder a family, behind one small interface (`features(person) -> (references, *feature)`):

- FaceID: a face-recognition embedding per reference. Stored catalog embeddings are used when they
  are in the adapter's space (the tiny test adapter uses SFace, the library's default); otherwise the
  adapter's face backend (insightface for the published FaceID) embeds the aligned 112 crops.
- CLIP image: the exported image encoder (an ONNX session from the identity export) on the aligned
  crops, CLIP-normalised: penultimate hidden states (tokens, width).

`identity_embeds` stacks people: (people, references, *feature). FaceID references are averaged (unit
mean, re-normed: one embedding, as the adapter was trained); CLIP-image references are stacked, each
adding its tokens, cut to the smallest count among the people so the tensor is rectangular.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from PIL import Image

from photogen.errors import PhotogenError
from photogen.faces.backend import FaceBackend
from photogen.generate.identity.adapters import IdentityAdapterSpec
from photogen.generate.identity.references import PersonReference
from photogen.generate.runtime import InferenceRunner

_CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
_CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)
_ARCFACE_SIZE = 112


class IdentityEncoder(Protocol):
    def features(self, person: PersonReference) -> np.ndarray:
        """(references, *feature) float32 for one person."""
        ...


def _resized(crops: np.ndarray, size: int) -> np.ndarray:
    if crops.shape[1] == size:
        return crops
    return np.stack([np.asarray(Image.fromarray(c).resize((size, size), Image.Resampling.BICUBIC)) for c in crops])


def _require_crops(person: PersonReference) -> np.ndarray:
    if person.crops is None or len(person.crops) == 0:
        raise PhotogenError(f"No reference face of {person.name} could be loaded, so there is no identity to use.")
    return person.crops


class StoredEmbeddingEncoder:
    """The embeddings the catalog already holds, when they are in the adapter's space."""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    def features(self, person: PersonReference) -> np.ndarray:
        rows = [f.embedding for f in person.faces if f.backend == self.backend]
        if not rows:
            raise PhotogenError(f"{person.name} has no face embedded by {self.backend}: re-index with that backend.")
        return np.stack(rows).astype(np.float32)


class FaceBackendEncoder:
    """A face backend's embedder on the aligned crops (insightface ArcFace for the published FaceID)."""

    def __init__(self, backend: FaceBackend) -> None:
        self.backend = backend

    def features(self, person: PersonReference) -> np.ndarray:
        return np.asarray(self.backend.embed(_resized(_require_crops(person), _ARCFACE_SIZE)), dtype=np.float32)


class ClipImageEncoder:
    """The adapter's CLIP vision encoder (exported ONNX) on the aligned crops."""

    def __init__(self, session: InferenceRunner, image_size: int) -> None:
        self.session = session
        self.image_size = image_size

    def features(self, person: PersonReference) -> np.ndarray:
        crops = _resized(_require_crops(person), self.image_size).astype(np.float32) / 255.0
        pixels = ((crops - _CLIP_MEAN) / _CLIP_STD).transpose(0, 3, 1, 2)
        return np.asarray(self.session.run(None, {"pixel_values": pixels.astype(np.float32)})[0], dtype=np.float32)

    def zero_image_features(self) -> np.ndarray:
        """Features of an all-zero (already normalised) image: IP-Adapter's unconditional input."""
        zeros = np.zeros((1, 3, self.image_size, self.image_size), dtype=np.float32)
        return np.asarray(self.session.run(None, {"pixel_values": zeros})[0], dtype=np.float32)


def unconditional_embeds(encoder: IdentityEncoder, embeds: np.ndarray) -> np.ndarray:
    """The unconditional (negative) branch's identity input, as IP-Adapter's reference makes it.

    diffusers' IP-Adapter pipelines give classifier-free guidance's unconditional branch the features of
    an all-zero image (`image_encoder(torch.zeros_like(image))`) for CLIP-image adapters, and a zeroed
    embedding for FaceID (`torch.zeros_like(image_embeds)`, the FaceID model card's recipe)."""
    if isinstance(encoder, ClipImageEncoder):
        zero = encoder.zero_image_features()  # (1, tokens, width)
        return np.broadcast_to(zero[None], embeds.shape).astype(np.float32)
    return np.zeros_like(embeds)


def identity_embeds(people: Sequence[PersonReference], encoder: IdentityEncoder,
                    adapter: IdentityAdapterSpec) -> np.ndarray:  # fmt: skip
    """(people, references, *feature): averaged or stacked as the adapter expects."""
    per_person = [encoder.features(p) for p in people]
    if adapter.reference_mode == "average":
        out = []
        for feats in per_person:
            unit = feats / np.maximum(np.linalg.norm(feats, axis=-1, keepdims=True), 1e-12)
            mean = unit.mean(axis=0)
            out.append((mean / max(float(np.linalg.norm(mean)), 1e-12))[None])
        return np.stack(out).astype(np.float32)
    count = min(len(f) for f in per_person)
    return np.stack([f[:count] for f in per_person]).astype(np.float32)
