"""Named style and speed presets for the AI path, as plain data.

A user picks "Watercolor" and "Balanced", never a step count or a guidance scale (the Fooocus lesson).
The numbers suit the fast few-step family the engine defaults to (LCM / Turbo / LCM-LoRA), where
guidance above ~2 burns the image and 1-8 steps are enough; `for_model_family` gives the classic
25-50 step settings for a standard checkpoint.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any, Literal

from photogen.errors import PhotogenError

ModelFamily = Literal["fast", "standard"]

# shared by every style: what no one wants in a picture of the people they love
BASE_NEGATIVE = "deformed face, distorted face, extra fingers, extra limbs, blurry, lowres, jpeg artifacts, watermark, text, signature"


@dataclass(frozen=True)
class StylePreset:
    name: str  # stable id, used on the CLI (`--style watercolor`) and in provenance
    label: str  # what the UI shows
    description: str
    prompt: str  # appended to the scene: "{scene}, {prompt}"
    negative: str  # added to BASE_NEGATIVE
    keywords: tuple[str, ...]  # words in a user's prompt that select this style

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SpeedPreset:
    name: str
    label: str
    description: str
    steps: int
    guidance_scale: float
    size: int  # the long side in pixels; the engine rounds to its multiple of 8/64
    standard_steps: int  # the same intent for a classic (non few-step) checkpoint
    standard_guidance_scale: float

    def for_model_family(self, family: ModelFamily) -> tuple[int, float]:
        """(steps, guidance_scale) for a fast few-step model or a standard one."""
        if family == "fast":
            return self.steps, self.guidance_scale
        return self.standard_steps, self.standard_guidance_scale

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


STYLE_PRESETS: tuple[StylePreset, ...] = (
    StylePreset(
        name="photographic",
        label="Photographic",
        description="A natural photo: real light, real skin, shallow depth of field.",
        prompt="photograph, natural light, 35mm, sharp focus, realistic skin texture, high detail",
        negative="painting, illustration, drawing, cartoon, anime, 3d render, plastic skin",
        keywords=("photographic", "photo", "photorealistic", "realistic"),
    ),
    StylePreset(
        name="watercolor",
        label="Watercolor",
        description="Soft washes of transparent paint on textured paper.",
        prompt="watercolor painting, soft washes, paper texture, bleeding edges, pastel tones, hand painted",
        negative="photograph, 3d render, harsh lines, oversaturated",
        keywords=("watercolor", "watercolour", "aquarelle"),
    ),
    StylePreset(
        name="oil-painting",
        label="Oil painting",
        description="Rich colors and visible brush strokes, like a canvas in a gallery.",
        prompt="oil painting on canvas, visible brush strokes, impasto, rich colors, classical lighting",
        negative="photograph, 3d render, flat colors, cartoon",
        keywords=("oil painting", "oil", "painterly", "impasto"),
    ),
    StylePreset(
        name="pencil-sketch",
        label="Pencil sketch",
        description="Graphite on paper: fine lines and cross-hatched shading.",
        prompt="pencil sketch, graphite drawing, fine lines, cross hatching, on white paper, monochrome",
        negative="color, photograph, painting, 3d render",
        keywords=("pencil sketch", "pencil", "sketch", "drawing", "graphite"),
    ),
    StylePreset(
        name="anime",
        label="Anime",
        description="Clean line art and cel shading, like a frame from an animated film.",
        prompt="anime style, cel shading, clean line art, vibrant colors, detailed background, studio anime",
        negative="photograph, realistic, 3d render, western cartoon",
        keywords=("anime", "manga"),
    ),
    StylePreset(
        name="3d-cartoon",
        label="3D cartoon",
        description="A friendly animated-movie character look with soft 3D lighting.",
        prompt="3d cartoon character, animated movie style, soft global illumination, cute, smooth shading, octane render",
        negative="photograph, 2d, flat, sketch, creepy",
        keywords=("3d cartoon", "3d", "pixar", "cartoon"),
    ),
    StylePreset(
        name="claymation",
        label="Claymation",
        description="Handmade plasticine figures in a stop-motion set.",
        prompt="claymation, plasticine figures, stop motion, handmade clay texture, miniature set, soft studio light",
        negative="photograph, 2d, flat, sketch, glossy plastic",
        keywords=("claymation", "clay", "plasticine", "stop motion"),
    ),
)

SPEED_PRESETS: tuple[SpeedPreset, ...] = (
    SpeedPreset(
        name="fast",
        label="Fast",
        description="A first look in seconds, even on a laptop CPU.",
        steps=2,
        guidance_scale=1.0,
        size=512,
        standard_steps=15,
        standard_guidance_scale=6.0,
    ),
    SpeedPreset(
        name="balanced",
        label="Balanced",
        description="Good detail at a modest wait; the default.",
        steps=4,
        guidance_scale=1.5,
        size=640,
        standard_steps=25,
        standard_guidance_scale=7.0,
    ),
    SpeedPreset(
        name="quality",
        label="Quality",
        description="The most detail, for prints; slowest.",
        steps=8,
        guidance_scale=2.0,
        size=768,
        standard_steps=40,
        standard_guidance_scale=7.5,
    ),
)

DEFAULT_STYLE = "photographic"
DEFAULT_SPEED = "balanced"


def _lookup(kind: str, name: str, names: list[str]) -> int:
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key in names:
        return names.index(key)
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise PhotogenError(f"Unknown {kind} preset {name!r}.{hint} Choose one of: {', '.join(names)}.")


def get_style_preset(name: str) -> StylePreset:
    return STYLE_PRESETS[_lookup("style", name, [p.name for p in STYLE_PRESETS])]


def get_speed_preset(name: str) -> SpeedPreset:
    return SPEED_PRESETS[_lookup("speed", name, [p.name for p in SPEED_PRESETS])]


def list_style_presets() -> list[dict[str, Any]]:
    return [p.to_dict() for p in STYLE_PRESETS]


def list_speed_presets() -> list[dict[str, Any]]:
    return [p.to_dict() for p in SPEED_PRESETS]


def build_prompt(scene: str, style: str | StylePreset | None = None) -> tuple[str, str]:
    """(prompt, negative prompt) for the engine, both shown to the user as they are."""
    preset = get_style_preset(style) if isinstance(style, str) else style or get_style_preset(DEFAULT_STYLE)
    scene = " ".join(scene.split()).strip(" ,")
    prompt = f"{scene}, {preset.prompt}" if scene else preset.prompt
    return prompt, f"{BASE_NEGATIVE}, {preset.negative}"
