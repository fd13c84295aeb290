"""The identity adapters photogen knows, as plain data, and which base models each fits.

Two published families of the IP-Adapter method (decoupled cross-attention on identity tokens):

- `ip-adapter-faceid`: tokens projected from an insightface (ArcFace, 512-d) embedding of the face.
  The best likeness of the two, but insightface's models and the adapter weights (trained on its
  embeddings) are for non-commercial research only: the license is shown and must be accepted.
- `ip-adapter-plus-face`: tokens resampled from a CLIP ViT-H/14 image encoder's features of the face
  crop. Apache-2.0 adapter weights and an MIT (OpenCLIP, LAION-2B) encoder: the license-clean choice.
  Chosen over a projection from our own SFace 128-d embedding because published, trained weights
  exist for it; an SFace projection would need training photogen cannot ship.

Real weights are never downloaded by photogen: the user downloads the published file and imports it
(`photogen.generate.identity.weights.import_adapter`). The `tiny-*` adapters are random weights in
the same key layouts, made on this machine for tests (like the tiny test model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from photogen.errors import PhotogenError
from photogen.generate.catalog import License, ModelSpec

# faceid: the graph input is a face-recognition embedding; clip-image: CLIP image-encoder hidden states
AdapterFamily = Literal["faceid", "clip-image"]
# how several reference faces of one person become the graph's per-person input
ReferenceMode = Literal["average", "stack"]

INSIGHTFACE_NONCOMMERCIAL = License(
    id="insightface-noncommercial",
    name="IP-Adapter-FaceID / insightface non-commercial research license",
    url="https://huggingface.co/h94/IP-Adapter-FaceID",
    summary=(
        "Non-commercial research use only: the adapter was trained on insightface embeddings, whose "
        "models may not be used commercially; by accepting you confirm your use is personal and non-commercial."
    ),
)
APACHE_2 = License(
    id="apache-2.0",
    name="Apache 2.0 (adapter) + MIT (OpenCLIP ViT-H/14 image encoder)",
    url="https://huggingface.co/h94/IP-Adapter",
    summary="Free use, including commercial, with attribution.",
)
TEST_ADAPTER_LICENSE = License(id="test", name="photogen test adapter", url="", summary="Random weights made here.")


@dataclass(frozen=True)
class IdentityAdapterSpec:
    id: str
    title: str
    family: AdapterFamily
    # the model base (catalog.ModelSpec.base) whose cross-attention width it was trained for
    base: Literal["sd15", "tiny"]
    license: License
    reference_mode: ReferenceMode
    # faceid: the face backend (photogen.faces.backend) whose embedding the projection takes
    face_backend: str | None
    # clip-image: side of the square face crop the image encoder takes
    image_size: int | None = None
    # where a user gets the weights (shown in messages; photogen does not download them)
    hf_repo: str | None = None
    weight_name: str | None = None
    image_encoder_subfolder: str | None = None
    default_scale: float = 0.8
    test_model: bool = False

    @property
    def needs_license_acceptance(self) -> bool:
        return not self.test_model and self.license.id != APACHE_2.id


ADAPTERS: tuple[IdentityAdapterSpec, ...] = (
    IdentityAdapterSpec(
        id="ip-adapter-faceid",
        title="IP-Adapter-FaceID (SD 1.5; insightface embedding; non-commercial)",
        family="faceid",
        base="sd15",
        license=INSIGHTFACE_NONCOMMERCIAL,
        # FaceID was trained on one normed embedding; the mean of a person's unit embeddings, re-normed,
        # is the same kind of vector and steadier than any single photo
        reference_mode="average",
        face_backend="insightface-buffalo_l",
        hf_repo="h94/IP-Adapter-FaceID",
        weight_name="ip-adapter-faceid_sd15.bin",
    ),
    IdentityAdapterSpec(
        id="ip-adapter-plus-face",
        title="IP-Adapter Plus Face (SD 1.5; CLIP image encoder; Apache-2.0)",
        family="clip-image",
        base="sd15",
        license=APACHE_2,
        # IP-Adapter takes several images as more tokens (its multi-image use): each crop adds 16 tokens
        reference_mode="stack",
        face_backend=None,
        image_size=224,
        hf_repo="h94/IP-Adapter",
        weight_name="models/ip-adapter-plus-face_sd15.safetensors",
        image_encoder_subfolder="models/image_encoder",
        default_scale=0.7,
    ),
    IdentityAdapterSpec(
        id="tiny-faceid",
        title="Tiny random FaceID-layout adapter on SFace embeddings (test)",
        family="faceid",
        base="tiny",
        license=TEST_ADAPTER_LICENSE,
        reference_mode="average",
        # the default embedder: tests run the whole path on the catalog's own stored embeddings
        face_backend="yunet-sface",
        default_scale=1.0,
        test_model=True,
    ),
    IdentityAdapterSpec(
        id="tiny-plus-face",
        title="Tiny random Plus-Face-layout adapter with a tiny CLIP image encoder (test)",
        family="clip-image",
        base="tiny",
        license=TEST_ADAPTER_LICENSE,
        reference_mode="stack",
        face_backend=None,
        image_size=32,
        default_scale=1.0,
        test_model=True,
    ),
)


def get_adapter_spec(adapter_id: str) -> IdentityAdapterSpec:
    for spec in ADAPTERS:
        if spec.id == adapter_id:
            return spec
    known = ", ".join(a.id for a in ADAPTERS if not a.test_model)
    raise PhotogenError(f"Unknown identity adapter '{adapter_id}'. Known adapters: {known}.")


def adapter_fits(model: ModelSpec, adapter: IdentityAdapterSpec) -> bool:
    """The catalog's word: real models list the adapters they fit; test models take the test adapters."""
    if adapter.id in model.identity_adapters:
        return True
    return model.kind == "test" and adapter.test_model and adapter.base == model.base


def adapters_for(model: ModelSpec) -> list[IdentityAdapterSpec]:
    return [a for a in ADAPTERS if adapter_fits(model, a)]


def check_adapter_fits(model: ModelSpec, adapter: IdentityAdapterSpec) -> None:
    if adapter_fits(model, adapter):
        return
    fitting = ", ".join(a.id for a in adapters_for(model)) or "none"
    why = (
        " (its cross-attention is 1024-d; the SD 1.5 adapters are 768-d)"
        if model.base == "sd21"
        else f" (it was trained for {adapter.base} models, this one is {model.base})"
    )
    raise PhotogenError(
        f"The identity adapter '{adapter.id}' does not fit the model '{model.id}'{why}. "
        f"Adapters that fit {model.id}: {fitting}; or choose an SD 1.5 model such as lcm-dreamshaper-v7."
    )
