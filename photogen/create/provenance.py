"""Honest outputs: every file photogen writes (`save_output`) says what it is, and `verify` reads that back.

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

The pieces: `claim` (what a file says about itself), `content_credentials` (C2PA), `xmp`,
`watermark`, and `verify` (reading all three back); this module writes the file.
"""

from __future__ import annotations

import io
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageCms, PngImagePlugin

from photogen.create.claim import WATERMARK_KINDS, CreationClaim, OutputFormat, output_filename
from photogen.create.content_credentials import C2PA_FORMATS, LocalSigner, c2pa_available
from photogen.create.print_page import PrintSpec, write_print_pdf
from photogen.create.watermark import WatermarkPayload, creation_fingerprint, embed_watermark
from photogen.create.xmp import build_xmp
from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)


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
        pixels = embed_watermark(pixels, WatermarkPayload(WATERMARK_KINDS[claim.kind], creation_fingerprint(claim.creation_id)))
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
