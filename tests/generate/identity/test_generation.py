"""`photogen generate --mode text --person ...` through the engine, on the tiny model and adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from photogen.errors import PhotogenError
from photogen.generate.catalog import get_model_spec
from photogen.generate.commands import GenerationEngine, GenerationRequest
from photogen.generate.identity import InstalledAdapter
from photogen.generate.identity.generation import choose_adapter
from photogen.settings import Settings

from .conftest import person_from_photos


@pytest.fixture(scope="module")
def amy(real_faces: dict):  # noqa: ANN201
    return person_from_photos(real_faces, "bbt_amy", 1, "Amy")


@pytest.fixture(scope="module")
def penny(real_faces: dict):  # noqa: ANN201
    return person_from_photos(real_faces, "bbt_penny", 2, "Penny")


def _request(people: list, **kw: object) -> GenerationRequest:
    return GenerationRequest(mode="text", prompt="two friends on a beach, watercolor", model_id="tiny-test",
                             people=people, identity_adapter=kw.pop("adapter", "tiny-faceid"), **kw)  # type: ignore[arg-type]  # fmt: skip


def test_identity_decides_the_image(id_engine: GenerationEngine, faceid_exports, amy, penny) -> None:  # noqa: ANN001
    faceid_exports("fp32")
    a1 = np.asarray(id_engine.generate(_request([amy])).images[0].image)
    a2 = np.asarray(id_engine.generate(_request([amy])).images[0].image)
    p = np.asarray(id_engine.generate(_request([penny])).images[0].image)
    assert np.array_equal(a1, a2)
    assert np.abs(a1.astype(int) - p.astype(int)).mean() > 1.0
    both = np.asarray(id_engine.generate(_request([amy, penny])).images[0].image)
    swapped = np.asarray(id_engine.generate(_request([penny, amy])).images[0].image)
    assert not np.array_equal(both, swapped)  # who stands where is part of the request


def test_variants_carry_likeness_and_sources(id_engine: GenerationEngine, amy, penny) -> None:  # noqa: ANN001
    result = id_engine.generate(_request([amy, penny], variants=2))
    assert [g.variant for g in result.images] == [0, 1]
    for g in result.images:
        likeness = g.extra["likeness"]
        # the tiny model makes noise: no face, so every person scores 0 and the note says why
        assert likeness["score"] == 0.0 and likeness["faces_found"] == 0
        assert [p["note"] for p in likeness["people"]] == ["no face found in the image"] * 2
        assert [s["name"] for s in g.extra["people"]] == ["Amy", "Penny"]
        assert g.extra["people"][0]["photo_ids"] == [f.photo_id for f in amy.faces]
    assert result.to_json()["images"][0]["identity_adapter"] == "tiny-faceid"


@dataclass
class _StubFace:
    embedding: np.ndarray
    box: tuple[int, int, int, int] = (0, 0, 8, 8)


class _BrightnessLikeness:
    """A stand-in analyzer whose one face is as alike to `person` as the image is bright."""

    def __init__(self, centroid: np.ndarray) -> None:
        self.centroid = centroid
        rng = np.random.default_rng(0)
        other = rng.standard_normal(centroid.shape)
        other -= (other @ centroid) * centroid
        self.other = other / np.linalg.norm(other)

    def analyze(self, image: np.ndarray) -> list[_StubFace]:
        a = float(np.asarray(image).mean()) / 255.0
        return [_StubFace((a * self.centroid + np.sqrt(1 - a * a) * self.other).astype(np.float32))]


def test_best_of_keeps_the_most_alike(id_engine: GenerationEngine, amy, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(id_engine, "face_analyzer", lambda: _BrightnessLikeness(amy.centroid))
    every = id_engine.generate(_request([amy], variants=4, seed=10)).images
    brightness = {g.variant: float(np.asarray(g.image).mean()) for g in every}
    kept = id_engine.generate(_request([amy], variants=2, best_of=4, seed=10)).images
    expected = sorted(brightness, key=lambda v: -brightness[v])[:2]
    assert [g.variant for g in kept] == expected
    assert kept[0].extra["likeness"]["score"] >= kept[1].extra["likeness"]["score"] > 0
    assert {g.seed for g in kept} == {10 + v for v in expected}


def test_plus_face_adapter_uses_the_exported_image_encoder(id_engine: GenerationEngine, plus_export: Path,
                                                           amy, penny) -> None:  # noqa: ANN001  # fmt: skip
    a = np.asarray(id_engine.generate(_request([amy], adapter="tiny-plus-face")).images[0].image)
    p = np.asarray(id_engine.generate(_request([penny], adapter="tiny-plus-face")).images[0].image)
    assert np.abs(a.astype(int) - p.astype(int)).mean() > 1.0


def test_request_errors(id_engine: GenerationEngine, amy, penny) -> None:  # noqa: ANN001
    with pytest.raises(PhotogenError, match="text mode"):
        id_engine.generate(GenerationRequest(mode="restyle", prompt="x", model_id="tiny-test", people=[amy]))
    with pytest.raises(PhotogenError, match="--best-of 1 is less than --variants 2"):
        id_engine.generate(_request([amy], variants=2, best_of=1))
    with pytest.raises(PhotogenError, match="does not fit the model 'tiny-test'"):
        id_engine.generate(_request([amy], adapter="ip-adapter-faceid"))
    with pytest.raises(PhotogenError, match="too many"):
        id_engine.generate(_request([amy, penny] * 3))
    with pytest.raises(PhotogenError, match="2 people but 1 regions"):
        id_engine.generate(_request([amy, penny], regions=[(0, 0, 64, 64)]))


def test_adapter_choice_errors(tmp_path: Path, tiny_faceid: InstalledAdapter) -> None:
    empty = Settings(home=tmp_path / "home")
    with pytest.raises(PhotogenError, match="No identity adapter for tiny-test is installed"):
        choose_adapter(get_model_spec("tiny-test"), empty)
    with pytest.raises(PhotogenError, match="No identity adapter fits sd-turbo"):
        choose_adapter(get_model_spec("sd-turbo"), empty)
    with pytest.raises(PhotogenError, match="ip-adapter-faceid_sd15.bin"):
        choose_adapter(get_model_spec("lcm-dreamshaper-v7"), empty)
