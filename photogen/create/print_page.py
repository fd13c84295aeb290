"""Printed pages: a print size's trim, bleed and safe areas, and the one-page print PDF.

PDF: Pillow's writer sets the MediaBox from `resolution` correctly (1575x2175 px at 300 dpi gives a
378x522 pt page) but writes no TrimBox or BleedBox, which print shops read to know where to cut.
`write_print_pdf` writes the small single-page PDF itself with all three boxes.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from photogen.create.layout import Rect
from photogen.errors import PhotogenError


@dataclass(frozen=True)
class PrintSpec:
    """A printed page: trim size in inches, resolution, and bleed on every side."""

    name: str
    width_in: float
    height_in: float
    dpi: int = 300
    bleed_in: float = 0.125
    safe_in: float = 0.125  # keep text this far inside the trim line

    @property
    def page_px(self) -> tuple[int, int]:
        """The full page including bleed, in pixels."""
        return (round((self.width_in + 2 * self.bleed_in) * self.dpi), round((self.height_in + 2 * self.bleed_in) * self.dpi))

    @property
    def bleed_px(self) -> int:
        return round(self.bleed_in * self.dpi)

    @property
    def trim_rect(self) -> Rect:
        b = self.bleed_px
        w, h = self.page_px
        return (b, b, w - b, h - b)

    @property
    def safe_rect(self) -> Rect:
        inset = self.bleed_px + round(self.safe_in * self.dpi)
        w, h = self.page_px
        return (inset, inset, w - inset, h - inset)


CARD_5X7 = PrintSpec("card-5x7", 5.0, 7.0)
ALBUM_8X8 = PrintSpec("album-8x8", 8.0, 8.0)


def write_print_pdf(image: Image.Image, path: Path, spec: PrintSpec, *, title: str = "", xmp: bytes | None = None, jpeg_quality: int = 95) -> None:
    """A one-page PDF at the spec's exact size, with MediaBox = BleedBox (page incl. bleed) and
    TrimBox (the finished card), the image as one JPEG stream, and optional XMP metadata."""
    if image.size != spec.page_px:
        raise PhotogenError(f"The page is {image.size[0]}x{image.size[1]} px but {spec.name} needs {spec.page_px[0]}x{spec.page_px[1]}: render it with that print size.")
    pt = 72.0 / spec.dpi
    w_pt, h_pt = image.width * pt, image.height * pt
    b_pt = spec.bleed_in * 72.0  # from inches: 1/8 in is 37.5 px at 300 dpi, which pixels round
    jpeg = io.BytesIO()
    image.convert("RGB").save(jpeg, "JPEG", quality=jpeg_quality, subsampling=0, dpi=(spec.dpi, spec.dpi))
    content = f"q {w_pt:.3f} 0 0 {h_pt:.3f} 0 0 cm /Im0 Do Q".encode()
    media = f"[0 0 {w_pt:.3f} {h_pt:.3f}]"
    trim = f"[{b_pt:.3f} {b_pt:.3f} {w_pt - b_pt:.3f} {h_pt - b_pt:.3f}]"

    def pdf_text(value: str) -> bytes:
        return b"(" + value.encode("latin-1", "replace").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"

    objects: list[bytes] = []
    catalog = b"<< /Type /Catalog /Pages 2 0 R" + (b" /Metadata 6 0 R" if xmp else b"") + b" >>"
    objects.append(catalog)
    objects.append(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    objects.append(
        f"<< /Type /Page /Parent 2 0 R /MediaBox {media} /BleedBox {media} /TrimBox {trim} "
        "/Resources << /XObject << /Im0 4 0 R >> >> /Contents 5 0 R >>".encode()
    )
    img = jpeg.getvalue()
    objects.append(
        f"<< /Type /XObject /Subtype /Image /Width {image.width} /Height {image.height} /ColorSpace /DeviceRGB "
        f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(img)} >>\nstream\n".encode() + img + b"\nendstream"
    )
    packed = zlib.compress(content)
    objects.append(f"<< /Length {len(packed)} /Filter /FlateDecode >>\nstream\n".encode() + packed + b"\nendstream")
    if xmp:
        # uncompressed so that tools (and `verify_file`) can find the packet without a PDF parser
        objects.append(f"<< /Type /Metadata /Subtype /XML /Length {len(xmp)} >>\nstream\n".encode() + xmp + b"\nendstream")
    info_id = len(objects) + 1
    objects.append(b"<< /Producer (photogen) /Title " + pdf_text(title or spec.name) + b" >>")

    out = io.BytesIO()
    out.write(b"%PDF-1.6\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    path.write_bytes(out.getvalue())
