from __future__ import annotations

import io
from pathlib import Path

import piexif
import pytest
from PIL import Image

from photogen.create.claim import CreationClaim, output_filename
from photogen.create.content_credentials import LocalSigner
from photogen.create.instant import apply_instant_style
from photogen.create.print_page import CARD_5X7
from photogen.create.provenance import save_output
from photogen.create.templates import render_card
from photogen.create.verify import verify_file
from tests.conftest import write_photo

from .conftest import synthetic_photo

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@pytest.fixture(scope="module")
def signer() -> LocalSigner:
    return LocalSigner.load_or_create()


@pytest.mark.parametrize("ext", ["png", "jpg"])
def test_saved_output_verifies_and_survives_resave_and_resize(tmp_path: Path, signer: LocalSigner, ext: str) -> None:
    claim = CreationClaim("ai-generated", model="tiny-sd", style="watercolor", template="post:1x1")
    saved = save_output(synthetic_photo((800, 800)), tmp_path / f"out.{ext}", claim, signer=signer)
    result = verify_file(saved.path)
    assert result.made_by_photogen and result.ai_generated and result.kind == "ai-generated"
    assert result.digital_source_type == TRAINED
    assert result.creation_id == claim.creation_id and result.model == "tiny-sd"
    assert result.watermark_found and result.watermark_matches_creation
    # c2pa-python is a dependency: content credentials are always there, never behind a check
    assert saved.c2pa_signed and saved.c2pa_error is None and result.c2pa_present and result.c2pa_valid
    assert "C2PA content credentials" in result.signals

    # what a messenger app does: decode, halve, re-encode at quality 85 (all metadata gone)
    image = Image.open(saved.path).convert("RGB")
    image.resize((image.width // 2, image.height // 2), Image.LANCZOS).save(tmp_path / "shared.jpg", quality=85)
    shared = verify_file(tmp_path / "shared.jpg")
    assert shared.made_by_photogen and shared.watermark_found
    assert shared.kind == "ai-generated" and shared.ai_generated
    assert shared.signals == ["invisible watermark"]
    assert "Missing: C2PA content credentials, XMP metadata" in shared.summary
    assert "Missing" not in result.summary


def test_instant_output_is_labeled_instant(tmp_path: Path, portrait: tuple[Image.Image, tuple[int, int, int, int]]) -> None:
    image, box = portrait
    styled = apply_instant_style(image, "watercolor", [box], max_side=600)
    saved = save_output(styled.image, tmp_path / "instant.jpg", CreationClaim("instant", style=styled.style))
    result = verify_file(saved.path)
    assert result.made_by_photogen and result.kind == "instant" and result.ai_generated is False
    assert result.digital_source_type.endswith("algorithmicallyEnhanced")  # type: ignore[union-attr]
    assert "instant" in result.summary


def test_print_pdf_verifies(tmp_path: Path) -> None:
    card = render_card(synthetic_photo((700, 500)), "birthday")
    claim = CreationClaim("ai-generated", template="card:birthday")
    saved = save_output(card, tmp_path / "card.pdf", claim, print_spec=CARD_5X7)
    result = verify_file(saved.path)
    assert result.made_by_photogen and result.watermark_found and result.creation_id == claim.creation_id
    # PDFs carry content credentials too (c2pa-python signs application/pdf)
    assert saved.c2pa_signed and result.c2pa_present and result.c2pa_valid
    assert result.signals == ["C2PA content credentials", "XMP metadata", "invisible watermark"]
    assert list(tmp_path.iterdir()) == [saved.path], "no temporary page is left beside it"


def test_a_failed_signature_is_reported_not_swallowed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = LocalSigner(b"not a certificate", b"not a key")
    claim = CreationClaim("ai-generated")
    with caplog.at_level("WARNING"):
        saved = save_output(synthetic_photo((300, 300)), tmp_path / "out.png", claim, signer=broken)
    assert not saved.c2pa_signed and saved.c2pa_error
    assert "no content credentials" in caplog.text
    result = verify_file(saved.path)
    assert not result.c2pa_present and result.made_by_photogen and result.watermark_found


def test_output_never_leaks_source_metadata(tmp_path: Path) -> None:
    source = write_photo(
        tmp_path / "Private Library" / "grandma-at-home.jpg",
        size=(400, 300),
        gps=(48.8584, 2.2945),
        make="Canon",
        model="EOS SecretCam",
        taken="2021:07:14 10:00:00",
    )
    photo = Image.open(source)
    assert "exif" in photo.info
    styled = apply_instant_style(photo, "cartoon", [(150, 80, 80, 100)])
    claim = CreationClaim("instant", style="cartoon")
    for ext in ("jpg", "png"):
        out = tmp_path / output_filename(claim, "jpeg" if ext == "jpg" else "png")
        save_output(styled.image, out, claim)
        data = out.read_bytes()
        for secret in (b"grandma", b"Private Library", b"Canon", b"SecretCam", b"2021:07:14", str(tmp_path).encode()):
            assert secret not in data, f"{secret!r} leaked into {out.name}"
        written = Image.open(io.BytesIO(data))
        exif = written.info.get("exif")
        assert not exif or not piexif.load(exif)["GPS"]
        assert "grandma" not in out.name
