"""The studio end to end: real photos in, recorded, provenance-marked files out (tiny model for AI modes)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from photogen.create.studio import CreateRequest, Studio
from photogen.create.verify import verify_file
from photogen.errors import PhotogenError
from photogen.generate import commands
from photogen.library.consent import add_folder_source, revoke_album
from photogen.library.indexer import index_library
from photogen.library.library import Library, open_library
from photogen.library.photos import list_photos
from photogen.settings import Settings
from tests.conftest import SHARED_FACES, TEST_KDF, write_photo


@pytest.fixture(scope="module")
def studio_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, Path]]:
    if not SHARED_FACES.is_dir():
        pytest.skip("../shared/faces is absent (it ships with CI, not with a fresh clone)")
    root = tmp_path_factory.mktemp("studio")
    settings = Settings(home=root / "home", models_dir=root / "exported", passphrase="studio", use_keyring=False, onnx_threads=2, **TEST_KDF)
    tiny = commands.create_tiny(root / "tiny", settings)
    from photogen.generate.identity import create_tiny_adapter

    create_tiny_adapter("tiny-faceid", tiny, settings)
    photos = root / "Pictures"
    (photos / "Family").mkdir(parents=True)
    shutil.copy(SHARED_FACES / "people" / "john_salley" / "1.jpg", photos / "Family" / "portrait.jpg")
    shutil.copy(SHARED_FACES / "people" / "john_salley" / "2.jpg", photos / "Family" / "portrait-2.jpg")
    shutil.copy(SHARED_FACES / "people" / "john_salley" / "3.jpg", photos / "Family" / "portrait-3.jpg")
    shutil.copy(SHARED_FACES / "groups" / "human_group_3.jpg", photos / "Family" / "group.jpg")
    write_photo(photos / "Trips" / "paris.jpg", taken="2024:07:14 10:00:00", gps=(48.8566, 2.3522), seed=1)
    with open_library(settings) as lib:
        add_folder_source(lib, photos, ["all"])
        index_library(lib)
        from photogen.faces.indexing import index_faces
        from photogen.faces.people import list_people, name_person

        index_faces(lib)
        john = next(p for p in list_people(lib) if p.face_count >= 3)
        name_person(lib, john.id, "John")
    yield settings, root


@pytest.fixture
def lib(studio_home: tuple[Settings, Path]) -> Iterator[Library]:
    with open_library(studio_home[0]) as library:
        yield library


@pytest.fixture(scope="module")
def studio(studio_home: tuple[Settings, Path]) -> Studio:
    return Studio(studio_home[0])


def photo_id(lib: Library, name: str) -> int:
    return next(p.id for p in list_photos(lib) if p.path.endswith(name))


def test_instant_card_keeps_the_face_and_marks_itself_instant(lib: Library, studio: Studio, tmp_path: Path) -> None:
    pid = photo_id(lib, "portrait.jpg")
    request = CreateRequest(mode="instant", photo_ids=[pid], style="watercolor", template="card:birthday", title="Happy birthday", message="Love, us", formats=("png", "pdf"))
    creation = studio.create(lib, request, tmp_path)
    (variant,) = creation.variants
    png, pdf = variant.files
    assert Image.open(png).size == (1575, 2175)
    assert any("upscaled x" in n and "realesrgan" in n for n in variant.notes), variant.notes  # printed sharp
    assert pdf.read_bytes().startswith(b"%PDF")
    verdict = verify_file(png)
    assert verdict.made_by_photogen and verdict.kind == "instant"
    # recorded with its sources, and audited
    row = lib.catalog.one("SELECT kind, params FROM creations WHERE id = ?", (creation.id,))
    assert row["kind"] == "instant" and json.loads(row["params"])["template"] == "card:birthday"
    assert [r[0] for r in lib.catalog.query("SELECT photo_id FROM creation_sources WHERE creation_id = ?", (creation.id,))] == [pid]
    audit = lib.catalog.one("SELECT detail FROM audit_log WHERE action = 'creation' AND target = ?", (str(creation.id),))
    assert json.loads(audit["detail"])["photo_ids"] == [pid]
    # the output leaks no library path or name
    assert b"portrait" not in png.read_bytes() and b"Pictures" not in png.read_bytes()


def test_text_mode_uses_place_context_and_is_deterministic(lib: Library, studio: Studio, tmp_path: Path) -> None:
    request = CreateRequest(mode="text", prompt="a picnic in Paris, watercolor", seed=7, variants=2, template="post:4x5")
    first = studio.create(lib, request, tmp_path / "a")
    second = studio.create(lib, request, tmp_path / "b")
    assert first.model_prompt == "a picnic, in Paris" and "tiny-test" in (first.model or "")
    assert first.source_photo_ids == [photo_id(lib, "paris.jpg")]  # "in Paris" resolved to the library's photos there
    assert [v.seed for v in first.variants] == [7, 8]
    assert Image.open(first.variants[0].files[0]).size == (1080, 1350)
    # the pictures (before each file's own watermark, which carries its creation id) are the same for a seed
    a0, b0, a1 = (np.asarray(v.image) for v in (first.variants[0], second.variants[0], first.variants[1]))
    assert np.array_equal(a0, b0)
    assert not np.array_equal(a0, a1)
    assert verify_file(first.variants[0].files[0]).kind == "ai-generated"


def test_background_mode_keeps_people_and_scores_them(lib: Library, studio: Studio, tmp_path: Path) -> None:
    pid = photo_id(lib, "group.jpg")
    creation = studio.create(lib, CreateRequest(mode="background", photo_ids=[pid], prompt="a beach"), tmp_path, progress=None)
    (variant,) = creation.variants
    assert len(variant.likeness) >= 3
    # people are kept pixel-exact, so their faces are still theirs
    assert min(variant.likeness.values()) > 0.8, variant.likeness


def test_revoking_the_album_deletes_creations_made_from_it(studio_home: tuple[Settings, Path], studio: Studio, tmp_path: Path) -> None:
    settings, _ = studio_home
    with open_library(settings) as lib:
        pid = photo_id(lib, "paris.jpg")
        creation = studio.create(lib, CreateRequest(mode="instant", photo_ids=[pid], style="pencil-sketch"), tmp_path)
        blob = lib.blobs.path_for(f"creation:{creation.id}:0")
        assert blob.exists()
        revoke_album(lib, "Trips")
        assert lib.catalog.scalar("SELECT count(*) FROM creations WHERE id = ?", (creation.id,)) == 0
        assert not blob.exists()


def test_text_with_a_person_scores_likeness_and_records_references(lib: Library, studio: Studio, tmp_path: Path) -> None:
    creation = studio.create(lib, CreateRequest(mode="text", prompt="@John on a beach", variants=1, best_of=2, seed=3), tmp_path)
    assert creation.people and creation.people[0][1] == "John"
    (variant,) = creation.variants  # best of 2 candidates, 1 kept
    assert set(variant.likeness) == {"John"}
    # random weights draw no face: it scores 0 and says so
    assert variant.likeness["John"] == 0.0 and any("John" in n for n in variant.notes)
    portraits = {p.id for p in list_photos(lib) if "portrait" in p.path}
    assert portraits & set(creation.source_photo_ids), "the person's reference photos are the creation's sources"
    person_rows = lib.catalog.query("SELECT person_id FROM creation_sources WHERE creation_id = ? AND person_id IS NOT NULL", (creation.id,))
    assert [r[0] for r in person_rows] == [creation.people[0][0]]


@pytest.mark.parametrize(
    "request_, message",
    [
        (CreateRequest(mode="restyle"), "starts from a photo"),
        (CreateRequest(mode="text"), "Describe the picture"),
        (CreateRequest(mode="text", prompt="@Zelda at the beach"), "Zelda"),
        (CreateRequest(mode="text", prompt="beach", people=["Nobody Known"]), "No person named 'Nobody Known'"),
        (CreateRequest(mode="instant", photo_ids=[999_999]), "No photo with id 999999"),
        (CreateRequest(mode="text", prompt="x", variants=3, best_of=2), "best-of"),
        (CreateRequest(mode="text", prompt="x", template="card:nonsense"), "card"),
    ],
)
def test_user_errors_are_clear(lib: Library, studio: Studio, tmp_path: Path, request_: CreateRequest, message: str) -> None:
    with pytest.raises(PhotogenError, match=message):
        studio.create(lib, request_, tmp_path)


def test_a_failed_signature_is_shown_and_recorded_on_the_creation(lib: Library, studio: Studio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from photogen.create.content_credentials import LocalSigner

    monkeypatch.setitem(lib.cache, "c2pa-signer", LocalSigner(b"not a certificate", b"not a key"))
    pid = photo_id(lib, "portrait-2.jpg")  # paris.jpg's album is revoked by an earlier test
    creation = studio.create(lib, CreateRequest(mode="instant", photo_ids=[pid], style="watercolor"), tmp_path)
    (variant,) = creation.variants
    assert any("no content credentials (C2PA signing failed" in n for n in variant.notes), variant.notes
    assert not verify_file(variant.files[0]).c2pa_present
    params = json.loads(lib.catalog.one("SELECT params FROM creations WHERE id = ?", (creation.id,))["params"])
    assert params["c2pa_failed"]["file"] == variant.files[0].name and params["c2pa_failed"]["error"]
    assert lib.catalog.scalar("SELECT count(*) FROM audit_log WHERE action = 'creation.c2pa-failed' AND target = ?", (str(creation.id),)) == 1


def test_the_signer_lives_with_the_library_not_the_studio(studio_home: tuple[Settings, Path], studio: Studio) -> None:
    import gc
    import weakref

    with open_library(studio_home[0]) as library:
        signer = studio.signer(library)
        assert studio.signer(library) is signer and library.cache["c2pa-signer"] is signer
        gone = weakref.ref(signer)
        del signer
    gc.collect()
    assert gone() is None, "something outside the library still holds its signing key"
    assert not any(isinstance(v, dict) and v for k, v in vars(studio).items() if "sign" in k)


def test_upscaling_an_instant_keeps_it_instant_records_the_step_and_reports_progress(lib: Library, studio: Studio, tmp_path: Path) -> None:
    request = CreateRequest(mode="instant", photo_ids=[photo_id(lib, "portrait.jpg")], style="watercolor", formats=("png",))
    creation = studio.create(lib, request, tmp_path / "made")
    small = creation.variants[0].image.resize((300, 140))  # small (a few 128 px tiles): quick on 2 cores
    seen: list[float] = []
    (path,) = studio.upscale_creation(lib, creation.id, [small], tmp_path / "up", progress=lambda f, _what: seen.append(f))
    assert Image.open(path).size == (1200, 560)
    verdict = verify_file(path)
    assert verdict.kind == "instant" and verdict.ai_generated is False  # not "AI-generated"
    assert any("upscaled x4 with realesrgan" in e for e in verdict.edits), verdict.edits
    assert "then upscaled x4" in verdict.summary
    assert seen == sorted(seen) and seen[-1] == 1.0 and len({f for f in seen if 0 < f < 1}) >= 2  # the bar moves


def test_likeness_is_named_by_who_the_face_is(lib: Library, studio: Studio, tmp_path: Path) -> None:
    creation = studio.create(lib, CreateRequest(mode="background", photo_ids=[photo_id(lib, "portrait.jpg")], prompt="a beach"), tmp_path)
    (variant,) = creation.variants
    assert "John" in variant.likeness and variant.likeness["John"] > 0.8, variant.likeness  # not "face 1"
