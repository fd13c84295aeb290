"""Where a model's weights come from: license acceptance, hub download, import of local weights.

Source weights live under `<home>/models/<model_id>/`; each installed model has a `photogen_source.json`
record that says where its diffusers folder is and what it was made from (the export manifest copies
that, which is how a stale export is recognised).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from photogen.errors import PhotogenError
from photogen.generate.catalog import ModelSpec, get_model_spec, imported_spec
from photogen.generate.download import ByteProgress, fetch_snapshot, snapshot_dir
from photogen.generate.manifest import SourceInfo, fingerprint_folder, sha256_file
from photogen.generate.tiny import is_test_model
from photogen.settings import Settings

logger = logging.getLogger(__name__)

SOURCE_RECORD = "photogen_source.json"
# shown the spec (license name, url, summary); returns True when the user accepts
LicensePrompt = Callable[[ModelSpec], bool]

_REQUIRED_COMPONENTS = ("unet", "vae", "text_encoder", "tokenizer", "scheduler")


@dataclass(frozen=True)
class InstalledModel:
    spec: ModelSpec
    source_dir: Path
    source: SourceInfo
    test_model: bool


def models_home(settings: Settings) -> Path:
    return settings.home / "models"


# ----------------------------------------------------------------------------------------- licenses


def _licenses_path(settings: Settings) -> Path:
    return settings.home / "licenses.json"


def accepted_licenses(settings: Settings) -> dict[str, dict[str, str]]:
    path = _licenses_path(settings)
    return json.loads(path.read_text()) if path.exists() else {}


def is_license_accepted(spec: ModelSpec, settings: Settings) -> bool:
    if not spec.needs_license_acceptance:
        return True
    return accepted_licenses(settings).get(spec.id, {}).get("license") == spec.license.id


def record_license_acceptance(spec: ModelSpec, settings: Settings) -> None:
    records = accepted_licenses(settings)
    records[spec.id] = {
        "license": spec.license.id,
        "accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    _write_json_atomic(_licenses_path(settings), records)


def ensure_license(spec: ModelSpec, settings: Settings, prompt: LicensePrompt | None) -> None:
    """Ask once per model and license; the answer is recorded so it is not asked again."""
    if is_license_accepted(spec, settings):
        return
    if prompt is None or not prompt(spec):
        raise PhotogenError(
            f"{spec.title} is under the {spec.license.name} license ({spec.license.url}): {spec.license.summary} "
            f"Accept it to download (`photogen models download {spec.id} --accept-license`)."
        )
    record_license_acceptance(spec, settings)


# ----------------------------------------------------------------------------------------- records


def _write_json_atomic(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
    os.replace(tmp, path)


def _write_record(model_id: str, source_dir: Path, source: SourceInfo, base: str, settings: Settings) -> InstalledModel:
    record = {"model_id": model_id, "source_dir": str(source_dir), "base": base, "source": source.model_dump()}
    _write_json_atomic(models_home(settings) / model_id / SOURCE_RECORD, record)
    return installed_model(model_id, settings)


def installed_model(model_id: str, settings: Settings) -> InstalledModel:
    """The installed model `model_id`, or a PhotogenError that says how to get it."""
    record_path = models_home(settings) / model_id / SOURCE_RECORD
    if not record_path.exists():
        try:
            spec = get_model_spec(model_id)
            size = f" ({spec.download_bytes / 1e9:.1f} GB)" if spec.download_bytes else ""
            how = (
                "`photogen models create-tiny DIR` builds it"
                if spec.kind == "test"
                else f"run `photogen models download {model_id}`{size}, or `photogen models import PATH --name {model_id}`"
            )
        except PhotogenError:
            how = f"run `photogen models import PATH --name {model_id}` with a diffusers folder or .safetensors file"
        raise PhotogenError(f"Model '{model_id}' is not installed: {how}.")
    record = json.loads(record_path.read_text())
    source_dir = Path(record["source_dir"])
    if not (source_dir / "model_index.json").exists():
        raise PhotogenError(
            f"Model '{model_id}' was installed from {source_dir}, which is gone. Import or download it again."
        )
    missing = [c for c in _REQUIRED_COMPONENTS if not (source_dir / c).is_dir()]
    if missing:
        raise PhotogenError(
            f"Model '{model_id}' in {source_dir} lacks {', '.join(missing)}: part of its folder was deleted. "
            "Download it again (only what is missing is fetched) or import it again."
        )
    try:
        spec = get_model_spec(model_id)
    except PhotogenError:
        spec = imported_spec(model_id, base=record.get("base", "sd15"))
    return InstalledModel(spec, source_dir, SourceInfo.model_validate(record["source"]), is_test_model(source_dir))


def list_installed(settings: Settings) -> list[str]:
    home = models_home(settings)
    return sorted(p.parent.name for p in home.glob(f"*/{SOURCE_RECORD}")) if home.exists() else []


# ----------------------------------------------------------------------------------------- download


def download_model(model: str | ModelSpec, settings: Settings, accept_license: LicensePrompt | None = None,
                   progress: ByteProgress | None = None, endpoint: str | None = None, token: str | None = None,
                   cancel: threading.Event | None = None) -> InstalledModel:  # fmt: skip
    """Download a catalog model (and its LoRA) after its license was accepted; returns the installed model.

    Resumable and checked (see photogen.generate.download): the model is recorded as installed only once
    every file is whole and matches the hub's hashes.
    """
    spec = get_model_spec(model) if isinstance(model, str) else model
    if spec.hf_repo is None:
        raise PhotogenError(f"'{spec.id}' is not downloadable: build it with `photogen models create-tiny DIR`.")
    ensure_license(spec, settings, accept_license)
    root = downloads_dir(spec.id, settings)
    kwargs: dict[str, Any] = {"endpoint": endpoint, "token": token, "progress": progress, "cancel": cancel}
    base_dir, _ = fetch_snapshot(spec.hf_repo, spec.revision or "main", root, list(spec.allow_patterns), **kwargs)
    lora_commit = None
    if spec.lora_repo:
        lora_patterns = ["*.safetensors", "*.json"]
        lora_dir, _ = fetch_snapshot(spec.lora_repo, spec.lora_revision or "main", root, lora_patterns, **kwargs)
        lora_commit = lora_dir.name
    # snapshot folders are named by the commit they hold: record that, not the branch name
    source = SourceInfo(
        kind="hub", repo=spec.hf_repo, revision=base_dir.name, lora_repo=spec.lora_repo, lora_revision=lora_commit
    )
    return _write_record(spec.id, base_dir, source, spec.base, settings)


def downloads_dir(model_id: str, settings: Settings) -> Path:
    """Where a model's hub downloads live: `<repo>/<commit>/` when complete, `<commit>.partial/` before."""
    return models_home(settings) / model_id / "downloads"


def lora_weights_dir(installed: InstalledModel, settings: Settings) -> Path:
    """The downloaded snapshot of an LCM-LoRA model's LoRA."""
    spec = installed.spec
    assert spec.lora_repo and installed.source.lora_revision
    return snapshot_dir(downloads_dir(spec.id, settings), spec.lora_repo, installed.source.lora_revision)


# ----------------------------------------------------------------------------------------- import


def import_model(path: str | Path, settings: Settings, model_id: str | None = None) -> InstalledModel:
    """Import a diffusers folder (used where it is, by reference) or a single SD 1.5 `.safetensors` checkpoint."""
    src = Path(path).expanduser().resolve()
    if not src.exists():
        raise PhotogenError(f"{src} does not exist. Give a diffusers model folder or a .safetensors checkpoint.")
    model_id = model_id or src.stem.lower().replace(" ", "-")
    if src.is_dir():
        return _import_folder(src, model_id, settings)
    if src.suffix == ".safetensors":
        return _import_checkpoint(src, model_id, settings)
    raise PhotogenError(
        f"{src.name} is neither a diffusers folder nor a .safetensors file (.ckpt pickles are not loaded: they can run code)."
    )


def _import_folder(src: Path, model_id: str, settings: Settings) -> InstalledModel:
    index = src / "model_index.json"
    if not index.exists():
        raise PhotogenError(f"{src} has no model_index.json: it is not a diffusers pipeline folder.")
    missing = [c for c in _REQUIRED_COMPONENTS if not (src / c).is_dir()]
    if missing:
        raise PhotogenError(
            f"{src} lacks {', '.join(missing)}: a Stable Diffusion pipeline folder has {', '.join(_REQUIRED_COMPONENTS)}."
        )
    logger.info("hashing %s to recognise later changes", src)
    source = SourceInfo(kind="folder", content_sha256=fingerprint_folder(src))
    base = "tiny" if is_test_model(src) else "sd15"
    return _write_record(model_id, src, source, base, settings)


def _import_checkpoint(src: Path, model_id: str, settings: Settings) -> InstalledModel:
    from safetensors import safe_open

    try:
        with safe_open(src, framework="pt") as f:
            keys = set(f.keys())
    except Exception as e:  # safetensors raises its own error types for a bad header
        raise PhotogenError(f"{src.name} is not a readable .safetensors file ({e}).") from e
    if not any(k.startswith("model.diffusion_model.") for k in keys):
        raise PhotogenError(
            f"{src.name} is not a single-file Stable Diffusion checkpoint (no model.diffusion_model.* weights)."
        )

    from diffusers import StableDiffusionPipeline

    from photogen.generate.sd15_config import write_sd15_config_dir

    out = models_home(settings) / model_id / "diffusers"
    with tempfile.TemporaryDirectory(dir=settings.home) as tmp:
        # the configs are written locally because from_single_file would otherwise fetch them from the hub
        config_dir = write_sd15_config_dir(Path(tmp) / "config")
        pipe = StableDiffusionPipeline.from_single_file(str(src), config=str(config_dir), local_files_only=True)
        staging = Path(tmp) / "out"
        pipe.save_pretrained(staging)
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staging), out)
    source = SourceInfo(kind="checkpoint", content_sha256=sha256_file(src))
    return _write_record(model_id, out, source, "sd15", settings)
