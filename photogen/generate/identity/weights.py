"""Installed identity adapters: the user's download imported after its checks (and license opt-in), found by id."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from photogen.errors import PhotogenError
from photogen.generate.identity.adapters import IdentityAdapterSpec, get_adapter_spec
from photogen.generate.identity.checkpoint import (
    AdapterLayout,
    StateDict,
    read_state_dict,
    validate_layout,
    write_state_dict,
)
from photogen.generate.manifest import sha256_file
from photogen.settings import Settings

logger = logging.getLogger(__name__)

ADAPTER_FILE = "adapter.safetensors"
ADAPTER_RECORD = "adapter.json"
IMAGE_ENCODER_DIR = "image_encoder"


@dataclass(frozen=True)
class InstalledAdapter:
    spec: IdentityAdapterSpec
    dir: Path
    weights_sha256: str
    layout: AdapterLayout

    @property
    def weights_path(self) -> Path:
        return self.dir / ADAPTER_FILE

    @property
    def image_encoder_dir(self) -> Path | None:
        path = self.dir / IMAGE_ENCODER_DIR
        return path if path.is_dir() else None

    def state_dict(self) -> StateDict:
        return read_state_dict(self.weights_path)


def adapters_home(settings: Settings) -> Path:
    return settings.home / "adapters"


def _image_encoder_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(q for q in folder.rglob("*") if q.is_file()):
        h.update(f"{p.relative_to(folder).as_posix()}\0{sha256_file(p)}\n".encode())
    return h.hexdigest()


def import_adapter(path: str | Path, adapter_id: str, settings: Settings, *, accept_license: bool = False,
                   image_encoder: str | Path | None = None) -> InstalledAdapter:  # fmt: skip
    """Install the user's own download of `adapter_id` after checking its layout (and license opt-in).

    `image_encoder`: for CLIP-image adapters, the downloaded encoder folder (`models/image_encoder` of
    h94/IP-Adapter: config.json + model.safetensors).
    """
    spec = get_adapter_spec(adapter_id)
    if spec.needs_license_acceptance and not accept_license:
        raise PhotogenError(
            f"{spec.title} is under the {spec.license.name} ({spec.license.url}): {spec.license.summary} "
            f"Accept it to use this adapter (--accept-license), or use ip-adapter-plus-face (Apache-2.0)."
        )
    groups = read_state_dict(Path(path))
    layout = validate_layout(groups, spec)
    encoder_src = Path(image_encoder) if image_encoder else None
    if spec.family == "clip-image":
        if encoder_src is None or not (encoder_src / "config.json").exists():
            raise PhotogenError(
                f"{spec.id} needs its CLIP image encoder: pass the folder {spec.image_encoder_subfolder or 'image_encoder'} "
                f"downloaded from {spec.hf_repo or 'the adapter repo'} (config.json + model.safetensors)."
            )
        _check_image_encoder(encoder_src, layout)
    out = adapters_home(settings) / spec.id
    staging = out.with_name(f".staging-{spec.id}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    write_state_dict(groups, staging / ADAPTER_FILE)
    if encoder_src is not None and spec.family == "clip-image":
        shutil.copytree(encoder_src, staging / IMAGE_ENCODER_DIR)
    sha = sha256_file(staging / ADAPTER_FILE)
    if (staging / IMAGE_ENCODER_DIR).is_dir():
        sha = hashlib.sha256((sha + _image_encoder_fingerprint(staging / IMAGE_ENCODER_DIR)).encode()).hexdigest()
    record = {
        "adapter_id": spec.id,
        "imported_from": str(path),
        "weights_sha256": sha,
        "layout": layout.to_json(),
        "license": spec.license.id,
        "license_accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds")
        if spec.needs_license_acceptance
        else None,
    }
    (staging / ADAPTER_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True))
    shutil.rmtree(out, ignore_errors=True)
    os.replace(staging, out)
    logger.info("installed identity adapter %s from %s", spec.id, path)
    return installed_adapter(spec.id, settings)


def _check_image_encoder(folder: Path, layout: AdapterLayout) -> None:
    config = json.loads((folder / "config.json").read_text())
    vision = config.get("vision_config", config)
    hidden = vision.get("hidden_size")
    if hidden != layout.input_dim:
        raise PhotogenError(
            f"The image encoder in {folder} makes {hidden}-d features but the adapter takes {layout.input_dim}-d ones: "
            "use the encoder published with the adapter (OpenCLIP ViT-H/14, 1280-d)."
        )


def installed_adapter(adapter_id: str, settings: Settings) -> InstalledAdapter:
    spec = get_adapter_spec(adapter_id)
    folder = adapters_home(settings) / spec.id
    record_path = folder / ADAPTER_RECORD
    if not record_path.exists():
        how = (
            "`photogen.generate.identity.create_tiny_adapter` makes it"
            if spec.test_model
            else f"download {spec.weight_name} from https://huggingface.co/{spec.hf_repo} and import it"
        )
        raise PhotogenError(f"The identity adapter '{spec.id}' is not installed: {how}.")
    record = json.loads(record_path.read_text())
    if spec.needs_license_acceptance and not record.get("license_accepted_at"):
        raise PhotogenError(f"The license of '{spec.id}' was not accepted: import it again with --accept-license.")
    layout = AdapterLayout(
        **{**record["layout"], "cross_layers": {int(k): v for k, v in record["layout"]["cross_layers"].items()}}
    )
    return InstalledAdapter(spec, folder, record["weights_sha256"], layout)
