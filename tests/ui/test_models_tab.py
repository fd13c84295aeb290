"""The Models tab over the app's real HTTP API: download from a fake hub, export, then make a picture in Create.

No real network: the hub is tests/generate/fake_hub.py on 127.0.0.1, found through HF_ENDPOINT.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from gradio_client import Client

from photogen.create.studio import Studio
from photogen.errors import PhotogenError, Refusal
from photogen.generate.catalog import get_model_spec
from photogen.generate.sources import installed_model
from photogen.generate.tiny import create_tiny_pipeline
from photogen.settings import Settings
from photogen.ui import models_tab
from photogen.ui.app import build_app
from photogen.ui.session import SessionFactory
from tests.conftest import TEST_KDF
from tests.generate.fake_hub import FakeHub, FakeRepo, serve

MODEL = "lcm-dreamshaper-v7"
REPO = get_model_spec(MODEL).hf_repo or ""


@pytest.fixture(scope="module")
def tiny_repo(tmp_path_factory: pytest.TempPathFactory) -> FakeRepo:
    return FakeRepo.from_folder(create_tiny_pipeline(tmp_path_factory.mktemp("tiny") / "tiny-sd"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", models_dir=tmp_path / "exported", passphrase="models tab",
                    use_keyring=False, onnx_threads=2, **TEST_KDF)  # fmt: skip


@pytest.fixture
def hub(tiny_repo: FakeRepo, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    with serve(FakeHub({REPO: tiny_repo})) as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")
        monkeypatch.delenv("HF_TOKEN", raising=False)
        yield h


@pytest.fixture
def studio(settings: Settings) -> Studio:
    return Studio(settings)


@pytest.fixture
def app_url(settings: Settings, studio: Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    demo = build_app(SessionFactory(settings), studio)
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield url
    finally:
        demo.close()


def test_from_download_to_a_picture_without_a_terminal(settings: Settings, hub: FakeHub, app_url: str,
                                                      studio: Studio) -> None:  # fmt: skip
    owner = Client(app_url, verbose=False)
    owner.predict(api_name="/open")
    refused = owner.predict(MODEL, False, api_name="/models_download")
    assert refused.startswith("**Not done:**") and 'tick "I accept"' in refused
    assert not [e for e in hub.log if "/resolve/" in e.path]  # nothing fetched before the license was accepted
    status = owner.predict(MODEL, True, api_name="/models_download")
    assert f"Downloaded **{get_model_spec(MODEL).title}**" in status
    assert installed_model(MODEL, settings).source.revision == hub.repos[REPO].commit
    status = owner.predict(MODEL, "fp32", api_name="/models_export")
    assert f"Exported **{MODEL}** at fp32" in status
    rows = {r[1]: r for r in models_tab.catalog_rows(settings)}
    assert rows[MODEL][4].startswith("yes (") and "fp32 ready" in rows[MODEL][5]

    owner.predict([], [], "watercolor", api_name="/_on_load")  # the user opens Create: AI styles are offered now
    gallery, sources, files = owner.predict(
        "a lighthouse at dusk", [], [], "anime", "", "text", "fast", 3, 1, None, "", "", "keep", ["png"],
        api_name="/_generate",
    )  # fmt: skip
    assert len(gallery) == 1 and "AI-generated" in sources and MODEL in sources and "test model" in sources
    assert len(files) == 1 and Path(files[0]).stat().st_size > 0

    loaded = studio.engine()._models
    assert any(key[0] == MODEL for key in loaded)
    assert "Deleted" in owner.predict(MODEL, api_name="/models_delete")
    assert not any(key[0] == MODEL for key in loaded)  # unloaded too: a deleted model is not used from memory


def test_guests_cannot_download_export_delete_or_import(settings: Settings, hub: FakeHub, app_url: str,
                                                        tmp_path: Path) -> None:  # fmt: skip
    guest = Client(app_url, verbose=False, headers={"X-Forwarded-For": "203.0.113.9"})  # as through a share link
    guest.predict(api_name="/open")
    for args, api in [((MODEL, True), "/models_download"), ((MODEL, "fp32"), "/models_export"),
                      ((MODEL,), "/models_delete"), ((MODEL, "fp32"), "/models_delete_export"),
                      ((str(tmp_path), models_tab.CHECKPOINT, "mine", None, False), "/models_import")]:  # fmt: skip
        with pytest.raises(Exception, match="Only the owner"):
            guest.predict(*args, api_name=api)
    assert not hub.log and not (settings.home / "models").exists()


def test_space_visitors_cannot_touch_models(settings: Settings, tmp_path: Path) -> None:
    space = settings.model_copy(update={"space_mode": True})
    with pytest.raises(Refusal, match="Only the owner.*shared Space"):
        models_tab.import_path(space, None, str(tmp_path), models_tab.CHECKPOINT, "", None, False)
    with pytest.raises(Refusal, match="Only the owner.*shared Space"):
        models_tab.download(space, None, MODEL, True, lambda *a, **k: None)
    with pytest.raises(PhotogenError, match="set the Space secret PHOTOGEN_SPACE_OWNER_TOKEN"):
        models_tab.unlock_space(space, "anything")  # no token configured: nobody can unlock


def test_license_is_shown_in_full_or_says_where_to_read_it(settings: Settings) -> None:
    text, accepted = models_tab.license_text(settings, MODEL)
    assert "MIT" in text and "THE SOFTWARE IS PROVIDED \"AS IS\"" in text and not accepted
    text, _ = models_tab.license_text(settings, "sd-turbo")
    assert "Stability AI Community License" in text and "read it at https://huggingface.co/stabilityai/sd-turbo" in text


def test_delete_an_export_then_the_model(settings: Settings, tmp_path: Path) -> None:
    from photogen.generate import commands

    tiny = commands.create_tiny(tmp_path / "tiny", settings)
    commands.export("tiny-test", "int8", settings)
    assert "int8 ready" in {r[1]: r for r in models_tab.catalog_rows(settings)}["tiny-test"][5]
    assert "Deleted the int8 export" in models_tab.delete_export(settings, None, "tiny-test", "int8")
    assert {r[1]: r for r in models_tab.catalog_rows(settings)}["tiny-test"][5] == "none"
    models_tab.delete_model(settings, None, "tiny-test")
    assert (tiny / "model_index.json").exists()  # a folder imported in place is the user's: kept
    assert {r[1]: r for r in models_tab.catalog_rows(settings)}["tiny-test"][4] == "no"
    with pytest.raises(PhotogenError, match="nothing to delete"):
        models_tab.delete_model(settings, None, "tiny-test")


def test_download_progress_reaches_the_bar_and_cancel_stops_it(settings: Settings, hub: FakeHub,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import threading

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)
    cancel = threading.Event()
    shown: list[tuple[float | None, str]] = []

    def bar(fraction: float | None, desc: str = "") -> None:
        shown.append((fraction, desc))
        if len(shown) == 3:
            cancel.set()  # the user presses Cancel while the bar moves

    with pytest.raises(PhotogenError, match="cancelled"):
        models_tab.download(settings, None, MODEL, True, bar, cancel)
    with pytest.raises(PhotogenError, match="not installed"):
        installed_model(MODEL, settings)
    shown.clear()
    models_tab.download(settings, None, MODEL, True, lambda f, desc="": shown.append((f, desc)))
    fractions = [f for f, _ in shown]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] > 0  # resumed, not from zero
    assert all(" GB" in d and " of " in d for _, d in shown)


def test_in_a_space_only_the_owner_token_unlocks_model_controls(settings: Settings, hub: FakeHub, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from pydantic import SecretStr

    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio-tmp"))
    space = settings.model_copy(update={"space_mode": True, "space_owner_token": SecretStr("owner-secret-1234")})
    demo = build_app(SessionFactory(space))
    demo.queue()
    _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        visitor, owner = Client(url, verbose=False), Client(url, verbose=False)
        for c in (visitor, owner):
            c.predict(api_name="/open")
        with pytest.raises(Exception, match="Only the owner"):
            visitor.predict(MODEL, True, api_name="/models_download")
        with pytest.raises(Exception, match="not the Space owner's token"):
            visitor.predict("guess", api_name="/models_unlock")
        with pytest.raises(Exception, match="Only the owner"):
            visitor.predict(MODEL, True, api_name="/models_download")  # a wrong guess unlocks nothing
        assert not [e for e in hub.log if "/resolve/" in e.path]
        owner.predict("owner-secret-1234", api_name="/models_unlock")
        assert "Downloaded" in owner.predict(MODEL, True, api_name="/models_download")
        with pytest.raises(Exception, match="Only the owner"):
            owner.predict(str(tmp_path), models_tab.CHECKPOINT, "", None, False, api_name="/models_import")  # never host files
        with pytest.raises(Exception, match="Only the owner"):
            visitor.predict(MODEL, api_name="/models_delete")  # the unlock is the owner's session's alone
    finally:
        demo.close()
    assert installed_model(MODEL, space).source.revision == hub.repos[REPO].commit


def test_check_on_the_hub_measures_the_download_and_shows_the_full_license(settings: Settings, tiny_repo: FakeRepo,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    text = b"STABILITY AI COMMUNITY LICENSE AGREEMENT\n\nClause 1. (the full text, as the hub serves it)\n"
    repo = FakeRepo(files={**tiny_repo.files, "LICENSE.md": text}, commit="abcdef1" + "0" * 33)
    with serve(FakeHub({"stabilityai/sd-turbo": repo})) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        shown, status = models_tab.check_hub(settings, None, "sd-turbo")
        from photogen.generate.download import hub_details

        spec = get_model_spec("sd-turbo")
        measured = hub_details("stabilityai/sd-turbo", "main", list(spec.allow_patterns), None).download_bytes
    assert "Clause 1. (the full text, as the hub serves it)" in shown and "Stability AI Community License" in shown
    wanted = sum(len(d) for n, d in repo.files.items() if n not in ("LICENSE.md", "photogen_test_model.json"))
    assert measured == wanted
    assert f"{wanted / 1e9:.2f} GB to download (measured on the hub, commit abcdef1)" in status
    assert not (settings.home / "models").exists()  # nothing was downloaded
    with pytest.raises(Refusal):
        models_tab.check_hub(settings.model_copy(update={"space_mode": True}), None, "sd-turbo")


def test_cancel_in_the_app_stops_the_download_and_the_next_one_resumes(settings: Settings, hub: FakeHub, app_url: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    import time

    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 64 * 1024)  # so the cancel lands mid-file
    hub.chunk_delay = 0.05  # about 1.3 MB/s: the 6 MB text encoder takes seconds
    big = "text_encoder/model.safetensors"
    owner = Client(app_url, verbose=False)
    owner.predict(api_name="/open")
    job = owner.submit(MODEL, True, api_name="/models_download")
    deadline = time.monotonic() + 60
    while not any(e.body_bytes for e in hub.served(big)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Stopping the download" in owner.predict(MODEL, api_name="/models_cancel")
    result = job.result(timeout=120)
    assert result.startswith("**Not done:**") and "cancelled" in result
    with pytest.raises(PhotogenError, match="not installed"):
        installed_model(MODEL, settings)
    assert owner.predict(MODEL, api_name="/models_cancel") == "No download of this model is running."
    hub.chunk_delay = 0.0
    hub.log.clear()
    assert "Downloaded" in owner.predict(MODEL, True, api_name="/models_download")
    assert not hub.served("model_index.json")  # finished before the cancel: not fetched again
    (resumed,) = hub.served(big)
    assert resumed.range is not None and resumed.range.startswith("bytes=")
    assert resumed.body_bytes == len(hub.repos[REPO].files[big]) - int(resumed.range[6:-1])


def test_import_by_path_from_the_tab(settings: Settings, tiny_repo: FakeRepo, tmp_path: Path) -> None:
    folder = tmp_path / "my-model"
    for name, data in tiny_repo.files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    assert models_tab.import_path(settings, None, str(folder), models_tab.CHECKPOINT, "my-model", None, False) == (
        "Imported **my-model**. Next: export it for this computer."
    )
    assert installed_model("my-model", settings).source_dir == folder.resolve()
    broken = tmp_path / "adapter.safetensors"
    broken.write_bytes(b"not weights")
    with pytest.raises(PhotogenError):
        models_tab.import_path(settings, None, str(broken), models_tab.ADAPTER, "", "ip-adapter-plus-face", True)
    with pytest.raises(PhotogenError, match="Choose which identity adapter"):
        models_tab.import_path(settings, None, str(broken), models_tab.ADAPTER, "", None, True)
    with pytest.raises(PhotogenError, match="does not exist"):
        models_tab.import_path(settings, None, str(tmp_path / "nope"), models_tab.CHECKPOINT, "", None, False)


@pytest.mark.parametrize("space_mode", [False, True])
def test_the_models_tab_is_hidden_from_guests_but_shown_in_a_space_for_the_owner_to_unlock(
    settings: Settings, space_mode: bool
) -> None:
    demo = build_app(SessionFactory(settings.model_copy(update={"space_mode": space_mode})))
    config = demo.get_config_file()
    models_tab_id = next(c["id"] for c in config["components"] if c["type"] == "tabitem" and c["props"].get("id") == "models")
    gate = next(d for d in config["dependencies"] if d.get("api_name") == "_gate")
    assert (models_tab_id in gate["outputs"]) is not space_mode
