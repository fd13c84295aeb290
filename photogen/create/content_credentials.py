"""C2PA content credentials: an on-device signer (a local CA and the certificate it issues) that signs outputs.

A local certificate is not on any public trust list, so validators report the signature as valid
but the signer as untrusted: the claim is tamper-evident, not endorsed.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import asdict
from pathlib import Path

from photogen.create.claim import CreationClaim, software

C2PA_ASSERTION = "org.photogen.creation"

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
            "claim_generator_info": [{"name": "photogen", "version": software().partition(" ")[2] or "0"}],
            "title": title,
            "format": mime,
            "assertions": [
                {
                    "label": "c2pa.actions",
                    "data": {
                        "actions": [
                            {"action": "c2pa.created", "digitalSourceType": claim.digital_source_type, "softwareAgent": software()},
                            *({"action": "c2pa.resized", "softwareAgent": software(), "parameters": {"description": edit}} for edit in claim.edits),
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
