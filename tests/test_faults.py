"""kill -9 during export and generation, then a re-run: no corrupt export is used, nothing is half there.

The killed runs are the real CLI in a subprocess. Where the moment matters, the process kills itself
(SIGKILL, so nothing is cleaned up) at an exact point: after a file was written but before the catalog
row that owns it committed, or halfway through writing an output file.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from photogen.create.studio import CreateRequest, Studio
from photogen.create.verify import verify_file
from photogen.generate import commands
from photogen.generate.export import ensure_export, export_dir
from photogen.generate.manifest import MANIFEST_NAME, verify_export
from photogen.generate.sources import installed_model
from photogen.library.indexer import index_library
from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from photogen.library.library import open_library
from photogen.settings import Settings
from tests.conftest import TEST_KDF

PASSPHRASE = "faults passphrase"

# Runs the CLI after arranging for the process to SIGKILL itself at one point (argv[1]).
_KILL_AT = r"""
import os, pathlib, signal, sys

point = sys.argv.pop(1)


def die():
    os.kill(os.getpid(), signal.SIGKILL)


if point == "creation-blob-written":  # the encrypted output is on disk, its catalog rows are not committed
    from photogen.library import blobs

    real_put = blobs.BlobStore.put

    def put(self, logical, data, durable=True):
        path = real_put(self, logical, data, durable)
        if logical.startswith("creation:"):
            die()
        return path

    blobs.BlobStore.put = put
elif point == "creation-recorded":  # the catalog has the creation; no output file written yet
    from photogen.create import studio

    real_record = studio.Studio._record

    def record(self, *args, **kwargs):
        real_record(self, *args, **kwargs)
        die()

    studio.Studio._record = record
elif point == "output-half-written":  # half of the output file's bytes reached the disk
    real_write = pathlib.Path.write_bytes

    def write_bytes(self, data):
        if self.name.startswith(".photogen-"):
            with open(self, "wb") as fh:
                fh.write(data[: len(data) // 2])
                fh.flush()
                os.fsync(fh.fileno())
            die()
        return real_write(self, data)

    pathlib.Path.write_bytes = write_bytes
else:
    raise SystemExit(f"unknown kill point {point}")

sys.argv[0] = "photogen"
from photogen.cli import main

main()
"""


def _env(settings: Settings) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")}
    return clean | {
        "PHOTOGEN_HOME": str(settings.home),
        "PHOTOGEN_MODELS_DIR": str(settings.models_dir),
        "PHOTOGEN_PASSPHRASE": PASSPHRASE,
        "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB),  # the lowest the environment may set
        "PHOTOGEN_KDF_ITERATIONS": str(KDF_MIN_ITERATIONS),
        "PYTHONWARNINGS": "ignore",
    }


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "photogen.cli", *args], env=_env(settings), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("faults-tiny")
    return commands.create_tiny(root / "tiny-sd", Settings(home=root / "unused"), register=False)


@pytest.fixture(scope="module")
def shared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One exported_models folder for the module: an export is the slow part."""
    return tmp_path_factory.mktemp("faults-exported")


@pytest.fixture
def home(tmp_path: Path, tiny_dir: Path, shared_models: Path) -> Settings:
    """A fresh data directory with the tiny model installed, exporting into the shared folder."""
    settings = Settings(home=tmp_path / "home", models_dir=shared_models, passphrase=PASSPHRASE, use_keyring=False, **TEST_KDF)
    commands.import_weights(tiny_dir, settings, name="tiny-test")
    return settings


@pytest.fixture
def exported(home: Settings) -> Settings:
    ensure_export(installed_model("tiny-test", home), "fp32", home)
    return home


def _leftovers(models_dir: Path) -> list[str]:
    """Everything under exported_models besides the finished exports themselves."""
    finished = {p.parent for p in models_dir.rglob(MANIFEST_NAME)}
    found = []
    for path in models_dir.rglob("*"):
        if path.is_dir() and not any(path == f or path in f.parents or f in path.parents for f in finished):
            found.append(str(path.relative_to(models_dir)))
    return found


# ---- export ------------------------------------------------------------------------------------


def test_an_export_killed_midway_is_never_used_and_a_rerun_exports_cleanly(home: Settings) -> None:
    final = export_dir(home, "tiny-test", "fp32")
    shutil.rmtree(final, ignore_errors=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "photogen.cli", "models", "export", "tiny-test", "--precision", "fp32"],
        env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    staging: list[Path] = []
    while time.monotonic() < deadline and proc.poll() is None:
        # kill once the staging folder holds a first ONNX file: a half-written export
        staging = list(final.parent.glob(".staging-fp32-*/*/*.onnx"))
        if staging:
            break
        time.sleep(0.005)
    assert proc.poll() is None, "the export finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    assert not final.exists(), "a killed export must not appear under its final name"
    assert list(final.parent.glob(".staging-fp32-*")), "the kill came too late to leave a half-written export"
    assert commands.model_info("tiny-test", home).exports["fp32"] == "missing"
    # a kill between moving the previous export aside and moving the new one in leaves this behind
    old = final.parent / ".old-fp32-deadbeef"
    (old / "unet").mkdir(parents=True)
    (old / "unet" / "model.onnx").write_bytes(b"the previous export, moved aside")

    proc2 = _cli(home, "models", "export", "tiny-test", "--precision", "fp32", "--json")
    assert proc2.returncode == 0, proc2.stderr
    manifest = verify_export(final, installed_model("tiny-test", home).source)
    assert json.loads(proc2.stdout)["files"].keys() == manifest.files.keys()
    assert {"unet/model.onnx", "text_encoder/model.onnx", "vae_decoder/model.onnx"} <= manifest.files.keys()
    assert _leftovers(home.models_dir) == [], "the re-run must clear what killed runs left"
    assert commands.model_info("tiny-test", home).exports["fp32"] == "ready"


def test_a_truncated_export_is_detected_and_redone_by_generate(exported: Settings, tmp_path: Path) -> None:
    final = export_dir(exported, "tiny-test", "fp32")
    unet = final / "unet" / "model.onnx"
    good_size = unet.stat().st_size
    with open(unet, "r+b") as fh:
        fh.truncate(good_size // 3)
    assert "truncated" in commands.model_info("tiny-test", exported).exports["fp32"]

    out = tmp_path / "out"
    proc = _cli(exported, "generate", "--mode", "text", "--prompt", "a beach", "--steps", "2", "--out", str(out), "--json")
    assert proc.returncode == 0, proc.stderr
    assert unet.stat().st_size == good_size
    verify_export(final, installed_model("tiny-test", exported).source)
    (path,) = json.loads(proc.stdout)["variants"][0]["paths"]
    assert verify_file(Path(path)).made_by_photogen


# ---- generation --------------------------------------------------------------------------------


def _catalog_state(settings: Settings) -> tuple[list[int], int]:
    """Creation ids, and the count of encrypted files no catalog row owns; asserts the rows are whole."""
    with open_library(settings) as lib:
        cat = lib.catalog
        ids = []
        for creation_id, output_blob in cat.query("SELECT id, output_blob FROM creations ORDER BY id"):
            ids.append(creation_id)
            assert output_blob is not None, f"creation {creation_id} has no output"
            owner = cat.scalar("SELECT creation_id FROM blobs WHERE name = ?", (output_blob,))
            assert owner == creation_id, f"creation {creation_id}'s output is not recorded as its blob"
            Image.open(io.BytesIO(lib.get_blob(output_blob))).verify()  # present, decrypts, a whole PNG
        assert cat.scalar("SELECT count(*) FROM blobs WHERE kind = 'creation' AND creation_id NOT IN (SELECT id FROM creations)") == 0
        rows = [name for (name,) in cat.query("SELECT name FROM blobs")]
        for name in rows:
            assert lib.blobs.exists(name), f"blob row {name.split(':')[0]} without its file"
        owned = {lib.blobs.path_for(name) for name in rows}
        orphans = len([p for p in lib.blobs.all_paths() if p not in owned])
    return ids, orphans


@pytest.mark.parametrize(
    "point, recorded, orphans_after_kill",
    [
        ("creation-blob-written", False, True),  # rolled back; the file it wrote is an orphan
        ("creation-recorded", True, False),
        ("output-half-written", True, False),
    ],
)
def test_generation_killed_then_rerun_leaves_a_consistent_catalog(
    exported: Settings, tmp_path: Path, point: str, recorded: bool, orphans_after_kill: bool
) -> None:
    out = tmp_path / "out"
    args = ["generate", "--mode", "text", "--prompt", "a beach", "--steps", "1", "--out", str(out)]
    proc = subprocess.run([sys.executable, "-c", _KILL_AT, point, *args], env=_env(exported), capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, f"the run was not killed at {point}: {proc.stderr[-2000:]}"

    ids, orphans = _catalog_state(exported)
    assert ids == ([1] if recorded else [])
    assert (orphans > 0) is orphans_after_kill
    # nothing under an output name: the file is whole or absent; a killed write leaves only a hidden temp
    made = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [name for name in made if not name.startswith(".photogen-")], made
    if point == "output-half-written":
        assert made and all(name.startswith(".photogen-") for name in made)

    # the next index collects what the killed run left; a re-run then makes a whole creation
    with open_library(exported) as lib:
        index_library(lib)
    assert _catalog_state(exported) == (ids, 0)
    with open_library(exported) as lib:
        creation = Studio(exported).create(lib, CreateRequest(mode="text", prompt="a beach", steps=1), out)
    assert creation.id == (2 if recorded else 1)
    (saved,) = creation.variants[0].files
    assert saved.exists() and verify_file(saved).made_by_photogen
    Image.open(saved).verify()
    assert _catalog_state(exported) == ([*ids, creation.id], 0)
