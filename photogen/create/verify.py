"""Reading a file's provenance back (`photogen verify`): C2PA, then XMP, then the watermark."""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from photogen.create.claim import DIGITAL_SOURCE_TYPES, WATERMARK_KINDS, ProvenanceKind
from photogen.create.content_credentials import C2PA_ASSERTION, c2pa_available
from photogen.create.watermark import creation_fingerprint, read_watermark
from photogen.create.xmp import parse_xmp
from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

_KIND_OF_WATERMARK = {v: k for k, v in WATERMARK_KINDS.items()}


@dataclass
class VerificationResult:
    """What a file says about itself. `made_by_photogen` is True when any signal says so."""

    file: str
    made_by_photogen: bool = False
    kind: ProvenanceKind | None = None
    ai_generated: bool | None = None
    digital_source_type: str | None = None
    creation_id: str | None = None
    model: str | None = None
    style: str | None = None
    template: str | None = None
    watermark_found: bool = False
    watermark_kind: ProvenanceKind | None = None
    watermark_matches_creation: bool | None = None  # None: no creation id to compare with
    c2pa_present: bool = False
    c2pa_valid: bool | None = None
    c2pa_signer_trusted: bool | None = None
    c2pa_issues: list[str] = field(default_factory=list)
    signals: list[str] = field(default_factory=list)
    edits: list[str] = field(default_factory=list)  # steps after creation, e.g. an upscale

    @property
    def summary(self) -> str:
        if not self.made_by_photogen:
            if self.digital_source_type:
                return f"Not made by photogen; the file declares {self.digital_source_type.rsplit('/', 1)[-1]}."
            return "No photogen provenance found: no content credentials, no photogen metadata, no watermark."
        what = {"ai-generated": "AI-generated", "ai-composite": "real photos on an AI-generated background", "instant": "an instant (filtered, not AI-generated) image"}
        kind = what.get(self.kind or "", "made by photogen")
        edits = f", then {', '.join(self.edits)}" if self.edits else ""
        missing = [name for name, found in (("C2PA content credentials", self.c2pa_present), ("XMP metadata", "XMP metadata" in self.signals), ("invisible watermark", self.watermark_found)) if not found]
        gap = f" Missing: {', '.join(missing)} (every PNG, JPEG and PDF photogen writes carries all three; a re-saved or edited copy keeps the watermark only)." if missing else ""
        return f"Made by photogen: {kind}{edits} (evidence: {', '.join(self.signals)}).{gap}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary}


def _read_c2pa(data: bytes, mime: str, result: VerificationResult) -> dict[str, Any] | None:
    if not c2pa_available():
        return None
    import c2pa

    try:
        with c2pa.Reader(mime, io.BytesIO(data)) as reader:
            report = json.loads(reader.json())
    except Exception as exc:  # noqa: BLE001 - "no manifest" is an error in c2pa's API; any failure means none
        logger.debug("no C2PA manifest: %s", exc)
        return None
    manifest = report.get("manifests", {}).get(report.get("active_manifest", ""), {})
    result.c2pa_present = True
    statuses = [s.get("code", "") for s in report.get("validation_status", []) or []]
    result.c2pa_signer_trusted = "signingCredential.untrusted" not in statuses and report.get("validation_state") == "Trusted"
    result.c2pa_issues = [code for code in statuses if code != "signingCredential.untrusted"]
    result.c2pa_valid = report.get("validation_state") in ("Valid", "Trusted") and not result.c2pa_issues
    claim: dict[str, Any] = {}
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == C2PA_ASSERTION:
            claim.update(assertion.get("data", {}))
        elif assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                if action.get("digitalSourceType"):
                    claim.setdefault("digital_source_type", action["digitalSourceType"])
    return claim


def _pdf_parts(data: bytes) -> tuple[bytes | None, bytes | None]:
    """(XMP packet, first JPEG image stream) of a PDF, found by scanning: enough for our own PDFs."""
    xmp = re.search(rb"<x:xmpmeta.*?</x:xmpmeta>", data, re.S)
    jpeg = None
    match = re.search(rb"/Filter\s*/DCTDecode[^>]*>>\s*stream\r?\n", data)
    if match:
        end = data.find(b"endstream", match.end())
        jpeg = data[match.end() : end] if end > 0 else None
    return (xmp.group(0) if xmp else None), jpeg


def _take_c2pa_claim(claim: dict[str, Any] | None, result: VerificationResult) -> None:
    if claim is not None and (claim.get("kind") or claim.get("creation_id")):
        result.signals.append("C2PA content credentials" + ("" if result.c2pa_valid else " (failed validation)"))
        result.kind = claim.get("kind")
        result.creation_id = claim.get("creation_id")
        result.model, result.style, result.template = claim.get("model"), claim.get("style"), claim.get("template")
        result.edits = [str(e) for e in claim.get("edits") or []]
    if claim:
        result.digital_source_type = claim.get("digital_source_type")


def verify_file(path: Path) -> VerificationResult:
    """Read a file's provenance: C2PA, XMP and the watermark. A plain photo gives made_by_photogen False."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PhotogenError(f"Cannot read {path}: {exc.strerror or exc}. Check the path.") from exc
    result = VerificationResult(file=path.name)
    xmp: bytes | str | None = None
    image: Image.Image | None = None
    if data.startswith(b"%PDF"):
        claim = _read_c2pa(data, "application/pdf", result)
        _take_c2pa_claim(claim, result)
        xmp, jpeg = _pdf_parts(data)
        if jpeg:
            try:
                image = Image.open(io.BytesIO(jpeg))
                image.load()
            except (UnidentifiedImageError, OSError):
                image = None
    else:
        try:
            image = Image.open(io.BytesIO(data))
            image.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise PhotogenError(f"{path.name} is not an image or PDF photogen can read. Pass a PNG, JPEG, WebP or PDF.") from exc
        xmp = image.info.get("XML:com.adobe.xmp") or image.info.get("xmp")
        mime = Image.MIME.get(image.format or "", "")
        if mime:
            _take_c2pa_claim(_read_c2pa(data, mime, result), result)

    # XMP: fills what C2PA did not say
    if xmp:
        fields = parse_xmp(xmp)
        result.digital_source_type = result.digital_source_type or fields.get("DigitalSourceType")
        if fields.get("Kind") in DIGITAL_SOURCE_TYPES or fields.get("CreationId"):
            result.signals.append("XMP metadata")
            result.kind = result.kind or fields.get("Kind")  # type: ignore[assignment]
            result.creation_id = result.creation_id or fields.get("CreationId")
            result.model = result.model or fields.get("Model")
            result.style = result.style or fields.get("Style")
            result.template = result.template or fields.get("Template")
            result.edits = result.edits or [e for e in (fields.get("Edits") or "").split("; ") if e]

    # Watermark: survives what strips the metadata
    if image is not None:
        reading = read_watermark(image)
        if reading.payload is not None:
            result.watermark_found = True
            result.watermark_kind = _KIND_OF_WATERMARK[reading.payload.kind]  # type: ignore[assignment]
            result.signals.append("invisible watermark")
            result.kind = result.kind or result.watermark_kind
            if result.creation_id:
                result.watermark_matches_creation = creation_fingerprint(result.creation_id) == reading.payload.fingerprint

    result.made_by_photogen = bool(result.signals)
    if result.kind in DIGITAL_SOURCE_TYPES:
        result.ai_generated = result.kind != "instant"
        result.digital_source_type = result.digital_source_type or DIGITAL_SOURCE_TYPES[result.kind]
    elif result.digital_source_type:
        result.ai_generated = "trainedAlgorithmic" in result.digital_source_type
    return result
