"""What an output says about itself (`CreationClaim`): its kind, the IPTC digital source type, its name.

Nothing in a claim may identify a person or a file on disk.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Literal

from photogen.create.watermark import WatermarkKind
from photogen.errors import PhotogenError

ProvenanceKind = Literal["ai-generated", "ai-composite", "instant"]
OutputFormat = Literal["png", "jpeg", "pdf"]

IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
DIGITAL_SOURCE_TYPES: dict[str, str] = {
    "ai-generated": IPTC_DST + "trainedAlgorithmicMedia",
    "ai-composite": IPTC_DST + "compositeWithTrainedAlgorithmicMedia",
    "instant": IPTC_DST + "algorithmicallyEnhanced",
}
WATERMARK_KINDS: dict[str, WatermarkKind] = {
    "ai-generated": WatermarkKind.AI_GENERATED,
    "ai-composite": WatermarkKind.AI_COMPOSITE,
    "instant": WatermarkKind.INSTANT,
}


def software() -> str:
    try:
        from importlib.metadata import version

        return f"photogen {version('photogen')}"
    except Exception:  # noqa: BLE001 - a missing dist-info must not stop an export
        return "photogen"


@dataclass(frozen=True)
class CreationClaim:
    """What an output says about itself. Nothing here may identify a person or a file on disk."""

    kind: ProvenanceKind
    creation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    model: str | None = None  # e.g. "lcm-dreamshaper-v7 (onnx int8)"; None for instant styles
    style: str | None = None
    template: str | None = None
    created: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat())
    # steps done to the finished picture, e.g. "upscaled x4 with realesrgan-fast": recorded, never changing `kind`
    edits: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in DIGITAL_SOURCE_TYPES:
            raise PhotogenError(f"Unknown output kind {self.kind!r}: use ai-generated, ai-composite or instant.")

    @property
    def digital_source_type(self) -> str:
        return DIGITAL_SOURCE_TYPES[self.kind]

    @property
    def ai_generated(self) -> bool:
        return self.kind != "instant"


def output_filename(claim: CreationClaim, fmt: OutputFormat) -> str:
    """A name that says what the file is and nothing about the photos it came from."""
    what = (claim.template or claim.style or "image").replace(":", "-")
    what = re.sub(r"[^a-z0-9-]+", "-", what.lower()).strip("-") or "image"
    ext = "jpg" if fmt == "jpeg" else fmt
    return f"photogen-{claim.kind}-{what}-{claim.creation_id[:8]}.{ext}"
