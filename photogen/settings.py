"""One typed settings object: every knob has a default and can be overridden by `PHOTOGEN_*`."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

import platformdirs
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(platformdirs.user_data_dir("photogen", appauthor=False))


def source_checkout() -> Path | None:
    """The repository root when photogen runs from a source checkout (editable or PYTHONPATH), else None.

    A checkout has photogen's pyproject.toml beside the package; an installed wheel lives in a
    site-packages folder, which photogen must never write into.
    """
    root = Path(__file__).resolve().parent.parent
    installed = {Path(sysconfig.get_path(k)).resolve() for k in ("purelib", "platlib")}
    if root in installed or root.name in ("site-packages", "dist-packages"):
        return None
    return root if (root / "pyproject.toml").is_file() else None


def default_models_dir() -> Path:
    """`exported_models/` in a source checkout, the user's cache folder for an installed package."""
    root = source_checkout()
    if root is not None:
        return root / "exported_models"
    return Path(platformdirs.user_cache_dir("photogen", appauthor=False)) / "exported_models"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PHOTOGEN_", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Data directory: catalog and encrypted files.")
    passphrase: SecretStr | None = Field(default=None, description="Passphrase for headless use when no OS keyring exists.")
    use_keyring: bool = Field(default=True, description="Keep the key in the OS keyring when a real one exists.")
    # Argon2id cost for a new data directory; an existing one keeps the cost it was made with.
    kdf_memory_kib: int = 64 * 1024
    kdf_iterations: int = 3
    max_image_pixels: int = 120_000_000
    thumbnail_size: int = 512
    # decoding releases the GIL, so a couple of threads overlap file reads and JPEG decoding
    index_threads: int = 2
    # ONNX exports: PHOTOGEN_MODELS_DIR, else see default_models_dir()
    models_dir: Path = Field(default_factory=default_models_dir, description="Where ONNX exports are written.")
    onnx_threads: int = 0  # 0: let ONNX Runtime pick (one per physical core)
    # faces: detector/embedder pair, detection and clustering knobs (measured values: photogen/faces)
    face_backend: str = "yunet-sface"
    face_score_threshold: float = 0.72
    face_detect_max_side: int = 1280
    # photos are decoded for face analysis at most this big: small faces keep their detail, and
    # 24-megapixel originals decode at half size (JPEG draft mode) instead of in full
    face_decode_max_side: int = 2560
    face_link_threshold: float = 0.38
    face_attach_threshold: float = 0.40
    face_min_quality: float = 0.35
    face_min_faces: int = 2
    # photos analysed at once, each by its own single-threaded models (0: one per core, at most 4)
    face_workers: int = 0
    # Hugging Face Spaces set SPACE_ID; there every visitor gets a private, throwaway session (photogen.ui.session)
    space_mode: bool = Field(default_factory=lambda: bool(os.environ.get("SPACE_ID")))
    # a Space secret: whoever enters it in the Models tab may download, export and delete models there
    space_owner_token: SecretStr | None = None

    @property
    def catalog_path(self) -> Path:
        return self.home / "catalog.db"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def keyinfo_path(self) -> Path:
        return self.home / "key.json"
