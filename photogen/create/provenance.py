"""Honest outputs: every file photogen writes says what it is, and `verify_file` reads that back.

Three signals, strongest first:

1. C2PA content credentials (`c2pa-python`, a dependency), signed on the device with a locally
   issued certificate, embedded in PNG, JPEG and PDF alike (`C2PA_FORMATS`). A local certificate is
   not on any public trust list, so validators report the signature as valid but the signer as
   untrusted: the claim is tamper-evident, not endorsed. A signature that fails is never silent: the
   saved output says why (`SavedOutput.c2pa_error`), and the studio shows it and records it.
2. XMP metadata with IPTC `DigitalSourceType` (`trainedAlgorithmicMedia` for AI images,
   `compositeWithTrainedAlgorithmicMedia` for real photos laid on an AI background,
   `algorithmicallyEnhanced` for instant filters), embedded as PNG iTXt `XML:com.adobe.xmp`, JPEG APP1
   or a PDF metadata stream, plus photogen's own fields (kind, creation id, model, style).
3. An invisible watermark in the pixels (`photogen.create.watermark`), which survives what strips
   metadata: a JPEG re-save, a resize, a screenshot of the whole image.

Privacy: outputs are rebuilt from pixels, so no EXIF, GPS, maker notes, ICC oddities or comments of
a source photo survive; the claims carry no people names and no library paths (the creation id
points into the user's own audit log, which lists the sources).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import os
import re
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from PIL import Image, ImageCms, PngImagePlugin, UnidentifiedImageError

from photogen.create.layout import PrintSpec, write_print_pdf
from photogen.create.watermark import (
    WatermarkKind,
    WatermarkPayload,
    creation_fingerprint,
    embed_watermark,
    read_watermark,
)
from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

ProvenanceKind = Literal["ai-generated", "ai-composite", "instant"]
OutputFormat = Literal["png", "jpeg", "pdf"]

IPTC_DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"
DIGITAL_SOURCE_TYPES: dict[str, str] = {
    "ai-generated": IPTC_DST + "trainedAlgorithmicMedia",
    "ai-composite": IPTC_DST + "compositeWithTrainedAlgorithmicMedia",
    "instant": IPTC_DST + "algorithmicallyEnhanced",
}
_WATERMARK_KINDS: dict[str, WatermarkKind] = {
    "ai-generated": WatermarkKind.AI_GENERATED,
    "ai-composite": WatermarkKind.AI_COMPOSITE,
    "instant": WatermarkKind.INSTANT,
}
_KIND_OF_WATERMARK = {v: k for k, v in _WATERMARK_KINDS.items()}
PHOTOGEN_NS = "https://photogen.local/ns/1.0/"
C2PA_ASSERTION = "org.photogen.creation"


def _software() -> str:
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


# --- metadata hygiene ---------------------------------------------------------------------------


def strip_metadata(image: Image.Image) -> Image.Image:
    """A fresh RGB image holding only the pixels: no EXIF/GPS, XMP, comments or text chunks.

    A source in another color space (an iPhone's Display P3) is converted to sRGB first, so dropping
    its ICC profile does not shift the colors.
    """
    icc = image.info.get("icc_profile")
    if icc:
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            image = ImageCms.profileToProfile(image.convert("RGB"), src, ImageCms.createProfile("sRGB"), outputMode="RGB") or image
        except (ImageCms.PyCMSError, OSError):
            logger.warning("could not read the photo's color profile; keeping its pixels as they are")
    rgb = image.convert("RGB")
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    return clean


def output_filename(claim: CreationClaim, fmt: OutputFormat) -> str:
    """A name that says what the file is and nothing about the photos it came from."""
    what = (claim.template or claim.style or "image").replace(":", "-")
    what = re.sub(r"[^a-z0-9-]+", "-", what.lower()).strip("-") or "image"
    ext = "jpg" if fmt == "jpeg" else fmt
    return f"photogen-{claim.kind}-{what}-{claim.creation_id[:8]}.{ext}"


# --- XMP ---------------------------------------------------------------------------------------


def build_xmp(claim: CreationClaim) -> bytes:
    def field_xml(name: str, value: str | None) -> str:
        return f"<photogen:{name}>{escape(value)}</photogen:{name}>" if value else ""

    body = "".join(
        [
            f"<Iptc4xmpExt:DigitalSourceType>{escape(claim.digital_source_type)}</Iptc4xmpExt:DigitalSourceType>",
            f"<xmp:CreatorTool>{escape(_software())}</xmp:CreatorTool>",
            f"<xmp:CreateDate>{escape(claim.created)}</xmp:CreateDate>",
            field_xml("Kind", claim.kind),
            field_xml("CreationId", claim.creation_id),
            field_xml("Model", claim.model),
            field_xml("Style", claim.style),
            field_xml("Template", claim.template),
            field_xml("Edits", "; ".join(claim.edits)),
        ]
    )
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photogen="{PHOTOGEN_NS}">'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


_XMP_FIELD = re.compile(rb"<(Iptc4xmpExt:DigitalSourceType|photogen:\w+)>([^<]{0,500})</\1>")
_XMP_ATTR = re.compile(rb"(Iptc4xmpExt:DigitalSourceType)=\"([^\"]{0,500})\"")


def parse_xmp(packet: bytes | str) -> dict[str, str]:
    """The provenance fields of an XMP packet (element or attribute form), unescaped.

    A regex, not an XML parser: the input is any file a user hands to `verify`, and we read only
    flat fields we know.
    """
    data = packet.encode("utf-8", "replace") if isinstance(packet, str) else packet
    found: dict[str, str] = {}
    for match in [*_XMP_FIELD.finditer(data), *_XMP_ATTR.finditer(data)]:
        key = match.group(1).decode().split(":", 1)[1]
        value = match.group(2).decode("utf-8", "replace")
        found[key] = value.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return found


# --- C2PA --------------------------------------------------------------------------------------

# what each output format carries (README's "Honest outputs" and `photogen verify` say the same)
C2PA_FORMATS: dict[str, str] = {"png": "image/png", "jpeg": "image/jpeg", "pdf": "application/pdf"}


def c2pa_available() -> bool:
    try:
        import c2pa  # noqa: F401
    except ImportError:
        return False
    return True


class LocalSigner:
    """An on-device C2PA signer: a local CA and a signing certificate (ES256) it issues.

    Kept in `directory` (created 0700, key 0600) so every output of one installation carries the
    same signer; with no directory, an ephemeral one per process (tests).
    """

    def __init__(self, chain_pem: bytes, key_pem: bytes) -> None:
        self.chain_pem = chain_pem
        self.key_pem = key_pem

    @classmethod
    def load_or_create(cls, directory: Path | None = None) -> LocalSigner:
        if directory is not None and (directory / "signer.key").is_file():
            return cls((directory / "chain.pem").read_bytes(), (directory / "signer.key").read_bytes())
        chain, key = _issue_certificates()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            (directory / "chain.pem").write_bytes(chain)
            fd = os.open(directory / "signer.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
        return cls(chain, key)

    def sign(self, data: bytes, mime: str, claim: CreationClaim, title: str) -> bytes:
        import c2pa

        manifest = {
            "claim_generator_info": [{"name": "photogen", "version": _software().partition(" ")[2] or "0"}],
            "title": title,
            "format": mime,
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [
                            {"action": "c2pa.created", "digitalSourceType": claim.digital_source_type, "softwareAgent": _software()},
                            *({"action": "c2pa.resized", "softwareAgent": _software(), "parameters": {"description": edit}} for edit in claim.edits),
                        ]
                    },
                },
                {
                    "label": C2PA_ASSERTION,
                    "data": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(claim).items() if v not in (None, ())},
                },
            ],
        }
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, self.chain_pem, self.key_pem, None)  # no timestamp server: offline
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
            dest = io.BytesIO()
            builder.sign(signer, mime, io.BytesIO(data), dest)
            return dest.getvalue()


def _issue_certificates() -> tuple[bytes, bytes]:
    """A CA and an end-entity certificate shaped the way C2PA validators require (the signing
    certificate may not be self-signed; it needs digitalSignature and an allowed extended key usage)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "photogen (on-device)")])

    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("photogen local CA"))
        .issuer_name(name("photogen local CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("photogen signer"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, key_pem


# --- writing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedOutput:
    path: Path
    format: OutputFormat
    claim: CreationClaim
    c2pa_signed: bool
    watermarked: bool
    c2pa_error: str | None = None  # why the file carries no content credentials, when it carries none


def _format_of(path: Path, fmt: OutputFormat | None) -> OutputFormat:
    if fmt is not None:
        return fmt
    suffix = path.suffix.lower()
    if suffix == ".png":
        return "png"
    if suffix in (".jpg", ".jpeg"):
        return "jpeg"
    if suffix == ".pdf":
        return "pdf"
    raise PhotogenError(f"Cannot tell the format from {path.name!r}: end the name with .png, .jpg or .pdf.")


def save_output(
    image: Image.Image,
    path: Path,
    claim: CreationClaim,
    *,
    fmt: OutputFormat | None = None,
    signer: LocalSigner | None = None,
    print_spec: PrintSpec | None = None,
    jpeg_quality: int = 92,
    watermark: bool = True,
) -> SavedOutput:
    """Write `image` with provenance: clean pixels, the watermark, XMP, and C2PA content credentials.

    `signer` None signs with an ephemeral local signer; pass the library's signer to keep one per
    installation. PDFs need `print_spec` (the page geometry); they carry all three signals too (the
    watermark in the page image, XMP in the document metadata, C2PA embedded in the PDF).
    A failed signature does not lose the file (XMP and the watermark still mark it): the result's
    `c2pa_error` says why, for the caller to show and record.
    """
    # 1. Check inputs
    out_format = _format_of(path, fmt)
    if out_format == "pdf" and print_spec is None:
        raise PhotogenError("A PDF export needs a print size (e.g. the 5x7 card spec); export PNG or JPEG otherwise.")
    dpi = image.info.get("dpi", (print_spec.dpi, print_spec.dpi) if print_spec else (72, 72))

    # 2. Pixels only, then the watermark
    pixels = strip_metadata(image)
    if watermark:
        pixels = embed_watermark(pixels, WatermarkPayload(_WATERMARK_KINDS[claim.kind], creation_fingerprint(claim.creation_id)))
    xmp = build_xmp(claim)

    # 3. Encode with XMP
    buffer = io.BytesIO()
    if out_format == "png":
        info = PngImagePlugin.PngInfo()
        info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), zip=False)
        pixels.save(buffer, "PNG", pnginfo=info, dpi=dpi)
    elif out_format == "jpeg":
        pixels.save(buffer, "JPEG", quality=jpeg_quality, xmp=xmp, dpi=dpi, subsampling=0 if jpeg_quality >= 90 else 2)
    else:
        assert print_spec is not None
        path.parent.mkdir(parents=True, exist_ok=True)  # the page is laid out beside where it ends up
        with tempfile.TemporaryDirectory(prefix=".photogen-pdf-", dir=path.parent) as work:
            page = Path(work) / "page.pdf"
            write_print_pdf(pixels, page, print_spec, title=output_filename(claim, "pdf"), xmp=xmp)
            buffer.write(page.read_bytes())
    data = buffer.getvalue()

    # 4. Content credentials: a failure is reported, never swallowed
    signed, error = False, None
    if not c2pa_available():
        error = "c2pa-python is not installed"
    else:
        try:
            data = (signer or LocalSigner.load_or_create()).sign(data, C2PA_FORMATS[out_format], claim, path.name)
            signed = True
        except Exception as exc:  # noqa: BLE001 - reported to the caller; XMP and the watermark still mark the file
            error = f"{type(exc).__name__}: {exc}"[:300]
    if error:
        logger.warning("%s has no content credentials (C2PA signing failed: %s); it keeps its XMP and watermark", path.name, error)

    # 5. Write atomically so a crash never leaves half a file under the final name
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".photogen-", suffix=path.suffix)
    os.close(fd)
    try:
        Path(tmp).write_bytes(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return SavedOutput(path, out_format, claim, signed, watermark, error)


# --- verifying ---------------------------------------------------------------------------------


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
