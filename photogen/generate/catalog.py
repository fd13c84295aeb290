"""The models photogen knows, as plain data.

Few-step models are the default family: 1-4 denoising steps instead of 25-50, which is what makes a
CPU usable. Revisions are branch names until a release pins commit hashes; a download records the
commit it actually resolved in the export manifest, so an export always names exact weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from photogen.errors import PhotogenError

ModelKind = Literal["lcm", "turbo", "lcm-lora", "test"]
SchedulerName = Literal["LCMScheduler", "EulerDiscreteScheduler", "EulerAncestralDiscreteScheduler"]

# Identity adapters (issue 6) that fit SD 1.5-architecture UNets (768-d cross-attention).
SD15_IDENTITY_ADAPTERS = ("ip-adapter-faceid", "ip-adapter-plus-face")


@dataclass(frozen=True)
class License:
    id: str
    name: str
    url: str
    # shown with the license text: what the user agrees to in one line
    summary: str
    # the full text, where photogen ships it; otherwise the user reads it at `url` before accepting
    text: str = ""
    # (repo, path) of the full text on the hub, fetched when the user asks (see download.hub_details)
    hub_file: tuple[str, str] | None = None

    def full_text(self, fetched: str | None = None) -> str:
        """What the app shows before a download asks for acceptance (Markdown); `fetched`: the text from the hub."""
        head = f"**{self.name}**" + (f" ({self.url})" if self.url else "") + f"\n\n{self.summary}"
        text = self.text or fetched
        if text:
            return f"{head}\n\n```text\n{text.strip()}\n```"
        fetch = " or press *Check on the hub* to show it here" if self.hub_file else ""
        return (
            f"{head}\n\nThe full text is long and is not shipped with photogen: read it at {self.url}{fetch} "
            "before you accept. Accepting here records that you did."
        )


@dataclass(frozen=True)
class ModelSpec:
    id: str
    title: str
    kind: ModelKind
    base: Literal["sd15", "sd21", "tiny"]
    hf_repo: str | None
    revision: str | None
    license: License
    download_bytes: int
    default_steps: int
    default_guidance: float
    scheduler: SchedulerName
    default_size: int
    identity_adapters: tuple[str, ...] = ()
    # LCM-LoRA: a LoRA fused into the base before export
    lora_repo: str | None = None
    lora_revision: str | None = None
    # only these files are fetched (a repo may also hold multi-GB single-file checkpoints)
    allow_patterns: tuple[str, ...] = field(
        default=("model_index.json", "*/config.json", "*/*.json", "*/*.txt", "unet/*.safetensors",
                 "vae/*.safetensors", "text_encoder/*.safetensors")
    )  # fmt: skip

    @property
    def needs_license_acceptance(self) -> bool:
        return self.kind != "test"


OPENRAIL_M = License(
    id="creativeml-openrail-m",
    name="CreativeML OpenRAIL-M",
    url="https://huggingface.co/spaces/CompVis/stable-diffusion-license",
    summary="Free use, including commercial, with use restrictions (no illegal, harmful or deceptive uses).",
)
SAI_COMMUNITY = License(
    id="stabilityai-community",
    name="Stability AI Community License",
    url="https://huggingface.co/stabilityai/sd-turbo/blob/main/LICENSE.md",
    summary="Free for research, non-commercial use and organisations under USD 1M annual revenue.",
    hub_file=("stabilityai/sd-turbo", "LICENSE.md"),
)
_MIT_TEXT = """\
Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial
portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.
"""
MIT = License(id="mit", name="MIT", url="https://opensource.org/license/mit", summary="Free use with attribution.",
              text=_MIT_TEXT)  # fmt: skip
TEST_LICENSE = License(id="test", name="photogen test model", url="", summary="Random weights made on this machine.")

CATALOG: tuple[ModelSpec, ...] = (
    ModelSpec(
        id="lcm-dreamshaper-v7",
        title="LCM Dreamshaper v7 (4 steps)",
        kind="lcm",
        base="sd15",
        hf_repo="SimianLuo/LCM_Dreamshaper_v7",
        revision="main",
        license=MIT,
        download_bytes=4_270_000_000,
        default_steps=4,
        # distilled LCMs take guidance as an embedding (time_cond_proj_dim), so it costs no extra pass
        default_guidance=8.0,
        scheduler="LCMScheduler",
        default_size=512,
        identity_adapters=SD15_IDENTITY_ADAPTERS,
    ),
    ModelSpec(
        id="sd15-lcm-lora",
        title="Stable Diffusion 1.5 + LCM-LoRA (4 steps)",
        kind="lcm-lora",
        base="sd15",
        hf_repo="stable-diffusion-v1-5/stable-diffusion-v1-5",
        revision="main",
        license=OPENRAIL_M,
        download_bytes=4_400_000_000,
        default_steps=4,
        default_guidance=1.0,
        scheduler="LCMScheduler",
        default_size=512,
        identity_adapters=SD15_IDENTITY_ADAPTERS,
        lora_repo="latent-consistency/lcm-lora-sdv1-5",
        lora_revision="main",
    ),
    ModelSpec(
        id="sd-turbo",
        title="SD-Turbo (1 step)",
        kind="turbo",
        base="sd21",
        hf_repo="stabilityai/sd-turbo",
        revision="main",
        license=SAI_COMMUNITY,
        download_bytes=5_200_000_000,
        default_steps=1,
        default_guidance=0.0,
        scheduler="EulerAncestralDiscreteScheduler",
        default_size=512,
        # SD 2.1 cross-attention is 1024-d: the SD 1.5 identity adapters do not fit
        identity_adapters=(),
    ),
    ModelSpec(
        id="tiny-test",
        title="Tiny random-weight test model (makes noise)",
        kind="test",
        base="tiny",
        hf_repo=None,
        revision=None,
        license=TEST_LICENSE,
        download_bytes=0,
        default_steps=2,
        default_guidance=1.0,
        scheduler="LCMScheduler",
        default_size=64,
    ),
)

DEFAULT_MODEL_ID = "lcm-dreamshaper-v7"


def get_model_spec(model_id: str) -> ModelSpec:
    for spec in CATALOG:
        if spec.id == model_id:
            return spec
    known = ", ".join(s.id for s in CATALOG)
    raise PhotogenError(
        f"Unknown model '{model_id}'. Known models: {known}; or import your own with `photogen models import PATH`."
    )


def imported_spec(
    model_id: str, kind: ModelKind = "lcm-lora", base: Literal["sd15", "sd21", "tiny"] = "sd15"
) -> ModelSpec:
    """A spec for a model the user imported: settings of an SD 1.5 few-step model unless it is a test model."""
    if base == "tiny":
        return ModelSpec(**{**get_model_spec("tiny-test").__dict__, "id": model_id})
    return ModelSpec(
        id=model_id,
        title=f"{model_id} (imported)",
        kind=kind,
        base=base,
        hf_repo=None,
        revision=None,
        license=License(id="user", name="as the checkpoint's own terms", url="", summary="Imported by the user."),
        download_bytes=0,
        default_steps=4,
        default_guidance=1.0,
        scheduler="LCMScheduler",
        default_size=512,
        identity_adapters=SD15_IDENTITY_ADAPTERS if base == "sd15" else (),
    )
