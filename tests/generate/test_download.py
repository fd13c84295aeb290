"""Hub downloads against a fake hub on loopback: whole and hashed, resumed by Range, clear on every failure."""

from __future__ import annotations

import errno
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.generate import commands, download
from photogen.generate.catalog import get_model_spec
from photogen.generate.download import PARTIAL_SUFFIX, DownloadCancelled, snapshot_dir
from photogen.generate.sources import downloads_dir, installed_model
from photogen.settings import Settings
from tests.generate.fake_hub import FakeHub, FakeRepo, serve

MODEL = "lcm-dreamshaper-v7"
REPO = get_model_spec(MODEL).hf_repo or ""
UNET = "unet/diffusion_pytorch_model.safetensors"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", models_dir=tmp_path / "exported")


@pytest.fixture
def hub(tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The tiny model's files served as the catalog's first model; HF_ENDPOINT set after import, as a user would."""
    from huggingface_hub import constants

    # small reads, so a cut or a cancel lands mid-file (the real chunk is 10 MB, larger than the tiny UNet)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    with serve(FakeHub({REPO: FakeRepo.from_folder(tiny_dir)})) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        yield h


def _final(settings: Settings, hub: FakeHub) -> Path:
    return snapshot_dir(downloads_dir(MODEL, settings), REPO, hub.repos[REPO].commit)


def _partial(settings: Settings, hub: FakeHub) -> Path:
    final = _final(settings, hub)
    return final.with_name(final.name + PARTIAL_SUFFIX)


def _assert_not_installed(settings: Settings) -> None:
    with pytest.raises(PhotogenError, match="not installed"):
        installed_model(MODEL, settings)


def test_download_is_whole_hashed_and_named_by_commit(settings: Settings, hub: FakeHub, tiny_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    installed = commands.download(MODEL, settings, accept_license=True, progress=lambda d, t, _w: seen.append((d, t)))
    repo = hub.repos[REPO]
    assert installed.source_dir == _final(settings, hub) and installed.source.revision == repo.commit
    for name, data in repo.files.items():
        if name != "photogen_test_model.json":  # not in the catalog's allow patterns
            assert (installed.source_dir / name).read_bytes() == data
    assert not (installed.source_dir / "photogen_test_model.json").exists()
    assert not _partial(settings, hub).exists() and not list(installed.source_dir.rglob("*.incomplete"))
    total = sum(len(d) for n, d in repo.files.items() if n != "photogen_test_model.json")
    assert seen[-1] == (total, total) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert installed.test_model  # tiny weights are still labeled as a test model whatever the repo is called


def test_dead_network_mid_file_then_retry_resumes_with_range(settings: Settings, hub: FakeHub) -> None:
    size = len(hub.repos[REPO].files[UNET])
    hub.cut_after[UNET] = size // 2
    with pytest.raises(PhotogenError, match="connection was lost.*resumes"):
        commands.download(MODEL, settings, accept_license=True)
    _assert_not_installed(settings)
    incomplete = _partial(settings, hub) / (UNET + ".incomplete")
    kept = incomplete.stat().st_size
    assert 0 < kept < size

    hub.cut_after.clear()
    hub.log.clear()
    installed = commands.download(MODEL, settings, accept_license=True)
    retry = hub.served(UNET)
    assert [e.range for e in retry] == [f"bytes={kept}-"]
    assert retry[0].body_bytes == size - kept  # only the rest was sent
    assert (installed.source_dir / UNET).read_bytes() == hub.repos[REPO].files[UNET]
    finished_before = [n for n in hub.repos[REPO].files if n < UNET and n != "photogen_test_model.json"]
    assert all(not hub.served(n) for n in finished_before)


def test_hub_gone_is_a_clear_error_and_nothing_is_installed(settings: Settings, hub: FakeHub) -> None:
    hub.stop()
    with pytest.raises(PhotogenError, match="cannot be reached.*run the same download again"):
        commands.download(MODEL, settings, accept_license=True)
    _assert_not_installed(settings)


def test_cancel_keeps_what_arrived_and_a_retry_resumes(settings: Settings, hub: FakeHub) -> None:
    cancel = threading.Event()

    def progress(done: int, total: int, what: str) -> None:
        if what == UNET and done > 0:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="cancelled.*resume"):
        commands.download(MODEL, settings, accept_license=True, progress=progress, cancel=cancel)
    _assert_not_installed(settings)
    kept = (_partial(settings, hub) / (UNET + ".incomplete")).stat().st_size
    assert kept > 0
    hub.log.clear()
    installed = commands.download(MODEL, settings, accept_license=True)
    assert [e.range for e in hub.served(UNET)] == [f"bytes={kept}-"]
    assert (installed.source_dir / UNET).read_bytes() == hub.repos[REPO].files[UNET]


def test_gated_repo_says_accept_on_the_hub_and_log_in(settings: Settings, hub: FakeHub) -> None:
    hub.repos[REPO].gated = True
    with pytest.raises(PhotogenError, match=r"gated model.*accept its terms.*hf auth login.*HF_TOKEN"):
        commands.download(MODEL, settings, accept_license=True)
    _assert_not_installed(settings)
    installed = commands.download(MODEL, settings, accept_license=True, token="hf_test_token")  # logged in: it works
    assert installed.source.revision == hub.repos[REPO].commit


def test_full_disk_mid_file_is_clear_and_the_retry_resumes(settings: Settings, hub: FakeHub,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    real_write = download._Sink.write
    budget = {"bytes": 200_000}

    def write(self: download._Sink, data: bytes) -> int:
        budget["bytes"] -= len(data)
        if budget["bytes"] < 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(download._Sink, "write", write)
    with pytest.raises(PhotogenError, match="disk holding .* is full.*Free some space.*resumes"):
        commands.download(MODEL, settings, accept_license=True)
    _assert_not_installed(settings)
    monkeypatch.setattr(download._Sink, "write", real_write)
    installed = commands.download(MODEL, settings, accept_license=True)
    assert any(e.range for e in hub.log if e.method == "GET" and "/resolve/" in e.path)
    assert (installed.source_dir / UNET).read_bytes() == hub.repos[REPO].files[UNET]


def test_too_little_free_space_stops_before_any_file_is_fetched(settings: Settings, hub: FakeHub,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(download, "_free_bytes", lambda where: 1_000_000)
    with pytest.raises(PhotogenError, match=r"is full \(0.00 GB free\). It needs 0.01 GB more"):
        commands.download(MODEL, settings, accept_license=True)
    assert not [e for e in hub.log if "/resolve/" in e.path]


def test_a_damaged_file_is_removed_never_used(settings: Settings, hub: FakeHub) -> None:
    good = hub.repos[REPO].files[UNET]
    hub.damaged[UNET] = bytes(len(good))  # right size, wrong bytes
    with pytest.raises(PhotogenError, match="arrived damaged.*Download again"):
        commands.download(MODEL, settings, accept_license=True)
    _assert_not_installed(settings)
    partial = _partial(settings, hub)
    assert not (partial / UNET).exists() and not (partial / (UNET + ".incomplete")).exists()
    hub.damaged.clear()
    assert (commands.download(MODEL, settings, accept_license=True).source_dir / UNET).read_bytes() == good


def test_a_deleted_model_folder_is_named_and_a_download_fetches_only_what_is_missing(settings: Settings,
                                                                                     hub: FakeHub) -> None:  # fmt: skip
    installed = commands.download(MODEL, settings, accept_license=True)
    shutil.rmtree(installed.source_dir / "unet")
    with pytest.raises(PhotogenError, match="lacks unet: part of its folder was deleted.*Download it again"):
        installed_model(MODEL, settings)
    hub.log.clear()
    commands.download(MODEL, settings, accept_license=True)
    fetched = sorted(e.path.split("/resolve/")[1].split("/", 1)[1] for e in hub.log if "/resolve/" in e.path)
    assert fetched == ["unet/config.json", UNET]
    assert installed_model(MODEL, settings).source_dir == installed.source_dir

    shutil.rmtree(downloads_dir(MODEL, settings))
    with pytest.raises(PhotogenError, match="which is gone. Import or download it again"):
        installed_model(MODEL, settings)
    with pytest.raises(PhotogenError, match="which is gone"):
        commands.export(MODEL, "fp32", settings)


def test_cli_says_the_same_in_one_line(settings: Settings, hub: FakeHub, tmp_path: Path) -> None:
    """`photogen models download` in a real process, pointed at the fake hub by HF_ENDPOINT alone."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")}
    env |= {"PHOTOGEN_HOME": str(settings.home), "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
    env.pop("HF_TOKEN", None)
    cmd = [sys.executable, "-m", "photogen.cli", "models", "download", MODEL, "--accept-license"]
    hub.repos[REPO].gated = True
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "gated model" in proc.stderr and "HF_TOKEN" in proc.stderr
    hub.repos[REPO].gated = False
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert f"Downloaded {MODEL}" in proc.stdout
    assert installed_model(MODEL, settings).source_dir == _final(settings, hub)
    proc = subprocess.run([*cmd[:3], "models", "delete", MODEL], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not downloads_dir(MODEL, settings).exists()
    _assert_not_installed(settings)


def test_cli_names_a_deleted_model_folder_and_a_dead_hub(settings: Settings, hub: FakeHub) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")}
    env |= {"PHOTOGEN_HOME": str(settings.home), "PHOTOGEN_MODELS_DIR": str(settings.models_dir),
            "HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}  # fmt: skip

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "photogen.cli", *args], env=env, capture_output=True, text=True, timeout=120)

    installed = commands.download(MODEL, settings, accept_license=True)
    shutil.rmtree(installed.source_dir / "unet")
    proc = cli("models", "export", MODEL, "--precision", "fp32")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "lacks unet: part of its folder was deleted" in proc.stderr
    hub.stop()
    proc = cli("models", "download", MODEL, "--accept-license")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "cannot be reached" in proc.stderr and "resumes where it stopped" in proc.stderr
