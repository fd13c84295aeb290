"""`photogen generate --mode text --person ...` through the engine, on the tiny model and adapters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from photogen.box import Box
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
        id_engine.generate(_request([amy, penny], regions=[Box(0, 0, 64, 64)]))


def test_adapter_choice_errors(tmp_path: Path, tiny_faceid: InstalledAdapter) -> None:
    empty = Settings(home=tmp_path / "home")
    with pytest.raises(PhotogenError, match="No identity adapter for tiny-test is installed"):
        choose_adapter(get_model_spec("tiny-test"), empty)
    with pytest.raises(PhotogenError, match="No identity adapter fits sd-turbo"):
        choose_adapter(get_model_spec("sd-turbo"), empty)
    with pytest.raises(PhotogenError, match="ip-adapter-faceid_sd15.bin"):
        choose_adapter(get_model_spec("lcm-dreamshaper-v7"), empty)


def _diffusers_ip_adapter_latents(tiny_dir: Path, adapter: InstalledAdapter, embeds: np.ndarray, prompt: str,
                                  guidance: float, scale: float, steps: int, seed: int) -> np.ndarray:  # fmt: skip
    """diffusers' own IP-Adapter text-to-image pipeline, with the FaceID model card's negative (zeroed) embedding."""
    import torch
    from diffusers import StableDiffusionPipeline

    from photogen.generate.identity.unet import fuse_adapter_lora

    pipe = StableDiffusionPipeline.from_pretrained(tiny_dir, safety_checker=None, requires_safety_checker=False)
    groups = adapter.state_dict()
    pipe.unet._load_ip_adapter_weights([groups])  # noqa: SLF001 - what pipe.load_ip_adapter calls after reading files
    if adapter.layout.lora_rank:  # FaceID's LoRA, fused as photogen fuses it (diffusers loads it separately)
        fuse_adapter_lora(pipe.unet, groups["ip_adapter"])
    pipe.set_ip_adapter_scale(scale)
    positive = torch.from_numpy(embeds)[None]  # (1, references, 128)
    with torch.no_grad():
        return pipe(prompt, num_inference_steps=steps, guidance_scale=guidance, height=64, width=64,
                    generator=torch.Generator("cpu").manual_seed(seed), output_type="latent",
                    ip_adapter_image_embeds=[torch.cat([torch.zeros_like(positive), positive])],
                    ).images.numpy()  # fmt: skip


def test_guidance_matches_diffusers_ip_adapter_pipeline(faceid_exports, tiny_dir: Path, gen_settings: Settings,
                                                        tiny_faceid: InstalledAdapter) -> None:  # noqa: ANN001  # fmt: skip
    """Classifier-free guidance with an identity: the unconditional branch gets a zeroed embedding, as in diffusers."""
    from photogen.generate.catalog import get_model_spec
    from photogen.generate.identity.encoders import StoredEmbeddingEncoder, unconditional_embeds
    from photogen.generate.manifest import verify_export
    from photogen.generate.pipelines import TextToImagePipeline
    from photogen.generate.runtime import SessionCache
    from photogen.generate.stable_diffusion import OnnxStableDiffusion

    root = faceid_exports("fp32")
    onnx = OnnxStableDiffusion(root, verify_export(root), get_model_spec("tiny-test"),
                               SessionCache(["CPUExecutionProvider"]))  # fmt: skip
    embeds = np.random.default_rng(3).standard_normal((1, 128)).astype(np.float32)  # one person, one reference
    prompt, guidance, scale, steps, seed = "a portrait in a garden", 4.0, 1.0, 2, 5
    cond = {"identity_embeds": embeds[None], "identity_masks": np.ones((1, 8, 8), np.float32),
            "identity_scale": np.array(scale, np.float32)}  # fmt: skip
    uncond = cond | {"identity_embeds": unconditional_embeds(StoredEmbeddingEncoder("sface"), cond["identity_embeds"])}
    assert not uncond["identity_embeds"].any()

    def ours(uncond_inputs: dict | None) -> np.ndarray:
        image = TextToImagePipeline(onnx)(prompt, guidance_scale=guidance, steps=steps, seed=seed, width=64, height=64,
                                          extra_unet_inputs=cond, uncond_unet_inputs=uncond_inputs)[0]  # fmt: skip
        assert image.latents is not None
        return image.latents

    reference = _diffusers_ip_adapter_latents(tiny_dir, tiny_faceid, embeds, prompt, guidance, scale, steps, seed)
    matched = np.abs(ours(uncond) - reference).max()
    both_branches = np.abs(ours(None) - reference).max()  # the identity in both branches: not the reference
    assert matched < 1e-3 * max(1.0, float(np.abs(reference).max())), (matched, both_branches)
    assert both_branches > 100 * matched
