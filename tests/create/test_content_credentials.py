from __future__ import annotations

from pathlib import Path

from photogen.create.content_credentials import C2PA_FORMATS, LocalSigner


def test_every_output_format_carries_every_signal() -> None:
    """What README and `verify` promise: PNG, JPEG and PDF each carry C2PA, XMP and the watermark."""
    import c2pa

    supported = set(c2pa.Builder.get_supported_mime_types())
    assert set(C2PA_FORMATS.values()) <= supported


def test_signer_persists(tmp_path: Path) -> None:
    first = LocalSigner.load_or_create(tmp_path / "signing")
    second = LocalSigner.load_or_create(tmp_path / "signing")
    assert first.chain_pem == second.chain_pem
    assert ((tmp_path / "signing" / "signer.key").stat().st_mode & 0o777) == 0o600
