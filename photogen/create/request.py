"""What a user asks of the studio and what comes back: `CreateRequest`, its checks, and `Creation`.

Plain data the UI and the CLI fill alike; the one Generate button's choice of mode, "more like this"
and "refine" are request changes too, so every front end makes the same request from the same input.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from photogen.create.templates import TemplateRef, parse_template_id
from photogen.errors import PhotogenError

Mode = Literal["instant", "restyle", "background", "text"]
OutputFormat = Literal["png", "jpeg", "pdf"]

MODES: tuple[str, ...] = ("instant", "restyle", "background", "text")


@dataclass
class CreateRequest:
    """Everything a user can ask of the studio. Plain data: the UI and the CLI fill it alike."""

    mode: Mode
    prompt: str = ""
    photo_ids: list[int] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    style: str | None = None
    speed: str = "balanced"
    template: str | None = None
    title: str | None = None
    message: str | None = None
    model_id: str | None = None
    precision: str | None = None
    seed: int = 0
    variants: int = 1
    best_of: int | None = None
    steps: int | None = None
    size: tuple[int, int] | None = None
    background: Literal["keep", "blur", "replace"] = "keep"
    formats: tuple[OutputFormat, ...] = ("png",)


@dataclass
class CreatedVariant:
    image: Image.Image
    seed: int
    variant: int
    likeness: dict[str, float] = field(default_factory=dict)  # who -> cosine; 0 when the face is not found
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    reference_photo_ids: list[int] = field(default_factory=list)  # the people's reference photos it used

    @property
    def score(self) -> float:
        return float(np.mean(list(self.likeness.values()))) if self.likeness else 0.0


@dataclass
class Creation:
    id: int
    mode: Mode
    kind: str  # provenance kind: ai-generated, ai-composite or instant
    model_prompt: str
    variants: list[CreatedVariant]
    source_photo_ids: list[int]
    people: list[tuple[int, str]]
    model: str | None
    template: str | None
    seconds: float
    precision: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "creation_id": self.id,
            "mode": self.mode,
            "kind": self.kind,
            "prompt_shown_to_model": self.model_prompt,
            "model": self.model,
            "precision": self.precision,
            "template": self.template,
            "sources": {"photo_ids": self.source_photo_ids, "people": [{"id": i, "name": n} for i, n in self.people]},
            "seconds": round(self.seconds, 3),
            "variants": [
                {
                    "seed": v.seed,
                    "variant": v.variant,
                    "likeness": {k: round(s, 3) for k, s in v.likeness.items()},
                    "notes": v.notes,
                    "timings": {k: round(t, 3) for k, t in v.timings.items()},
                    "paths": [str(p) for p in v.files],
                }
                for v in self.variants
            ],
        }


def check_request(request: CreateRequest) -> TemplateRef | None:
    """Refuse what cannot be made, with what to do instead; the request's template, parsed."""
    if request.mode not in MODES:
        raise PhotogenError(f"Unknown mode {request.mode!r}: use {', '.join(MODES)}.")
    if request.mode in ("instant", "restyle", "background") and not request.photo_ids:
        raise PhotogenError(f"The {request.mode} mode starts from a photo: choose one (--photo ID).")
    if request.mode == "text" and not request.prompt.strip():
        raise PhotogenError("Describe the picture you want (a prompt).")
    if not 1 <= request.variants <= 16:
        raise PhotogenError("Ask for between 1 and 16 variants.")
    if request.best_of is not None and not request.variants <= request.best_of <= 32:
        raise PhotogenError(f"--best-of makes that many candidates and keeps the {request.variants} most alike: use {request.variants} to 32.")
    if request.best_of is not None and request.mode == "instant":
        raise PhotogenError("Instant styles make one picture; --best-of is for AI modes.")
    template = parse_template_id(request.template) if request.template else None
    if template is not None and template.kind == "album-page" and not request.photo_ids:
        raise PhotogenError("An album page needs photos: choose one or more (--photo ID).")
    return template


def choose_mode(*, has_photo: bool, prompt: str, style: str | None, ai_available: bool) -> Mode:
    """What a user with one Generate button means: a photo and a classic style is an instant filter;
    a photo and words is a new background; words alone are a new scene."""
    from photogen.create.instant import list_instant_styles

    instant_styles = {s["name"] for s in list_instant_styles()}
    if has_photo and (not ai_available or (style in instant_styles and not prompt.strip())):
        return "instant"
    if has_photo:
        return "background" if prompt.strip() else "restyle"
    if not ai_available:
        raise PhotogenError(
            "Making a new scene needs a diffusion model. Choose a photo under 'Start from photos' for an instant "
            "style, or get a model once in the Models tab (`photogen models download lcm-dreamshaper-v7` in a terminal)."
        )
    return "text"


def build_request(
    *,
    prompt: str,
    photo_ids: list[int] | None,
    people: list[str] | None,
    style: str | None,
    template: str | None,
    mode: str,
    speed: str,
    seed: int,
    variants: int,
    best_of: int | None,
    title: str,
    message: str,
    background: str,
    formats: list[str] | None,
    ai_available: bool,
) -> CreateRequest:
    """A request from a form's values (numbers may come as floats, empty fields as "" or None);
    mode "auto" is the one Generate button's `choose_mode`."""
    photo_ids = [int(p) for p in (photo_ids or [])]
    if mode == "auto":
        mode = choose_mode(has_photo=bool(photo_ids), prompt=prompt, style=style, ai_available=ai_available)
    return CreateRequest(
        mode=mode,  # type: ignore[arg-type]
        prompt=prompt or "",
        photo_ids=photo_ids,
        people=list(people or []),
        style=style or None,
        speed=speed,
        template=template or None,
        title=title or None,
        message=message or None,
        seed=int(seed),
        variants=int(variants),
        best_of=int(best_of) if best_of else None,
        background=background,  # type: ignore[arg-type]
        formats=tuple(formats or ["png"]),  # type: ignore[arg-type]
    )


def more_like_this(previous: CreateRequest) -> CreateRequest:
    """Same request, fresh seeds: new variants that follow on from the last ones."""
    return replace(previous, seed=previous.seed + max(1, previous.variants))


def refine_request(previous: CreateRequest, seed: int, prompt: str, style: str | None) -> CreateRequest:
    """Keep the selected variant's seed (its composition) and apply the edited prompt and style."""
    return replace(
        previous,
        seed=seed,
        variants=1,
        best_of=None,
        prompt=prompt.strip() or previous.prompt,
        style=style or previous.style,
    )
