"""People in photos: names tagged in Google Takeout sidecars (face or no face) and named faces, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from photogen.create.context import context_photo_ids, library_context, plan_prompt, tagged_people
from photogen.library.consent import revoke_source
from photogen.library.indexer import index_library
from photogen.library.library import Library
from photogen.library.photos import list_photos
from photogen.library.sources.takeout import add_takeout
from photogen.ui import library_tab
from tests.library.sources.conftest import PHOTOS, jpeg, lib, sidecar, write_zip

__all__ = ["lib"]  # the fixture, imported for this module's tests

YEAR = f"{PHOTOS}/Photos from 2023"


def _tagged_export(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "takeout-20240101T000000Z-001.zip", {
        f"{YEAR}/party.jpg": jpeg(1),
        f"{YEAR}/party.jpg.json": sidecar("party.jpg", people=[{"name": "Anna"}, {"name": "Grandma Rose"}]),
        f"{YEAR}/beach.jpg": jpeg(2),
        f"{YEAR}/beach.jpg.json": sidecar("beach.jpg", people=[{"name": "grandma  rose"}]),
        f"{YEAR}/cat.jpg": jpeg(3),
        f"{YEAR}/cat.jpg.json": sidecar("cat.jpg"),
    })  # fmt: skip


def _by_name(library: Library) -> dict[str, object]:
    return {Path(p.path).name: p for p in list_photos(library)}


def test_tagged_people_are_in_the_library_without_a_face(lib: Library, tmp_path: Path) -> None:
    add_takeout(lib, [_tagged_export(tmp_path)], ["all"])
    index_library(lib)
    cat = lib.catalog
    assert cat.scalar("SELECT count(*) FROM faces") == 0  # the photos have no faces: the tags alone say who is in them
    photos = _by_name(lib)
    party, beach, cat_photo = photos["party.jpg"], photos["beach.jpg"], photos["cat.jpg"]
    # a named face adds its person; one name spelt two ways is one person
    ben = cat.execute("INSERT INTO people (name, created_at) VALUES ('Ben', 'now')").lastrowid
    cat.execute("INSERT INTO faces (photo_id, box_x, box_y, box_w, box_h, score, quality, embedding, person_id) "
                "VALUES (?, 0, 0, 1, 1, 1, 1, x'00', ?)", (party.id, ben))  # fmt: skip
    photos = _by_name(lib)
    assert photos["party.jpg"].people == ["Anna", "Ben", "Grandma Rose"]
    assert photos["party.jpg"].people_names == ["Anna", "Grandma Rose"]
    assert photos["beach.jpg"].people == ["grandma  rose"] and photos["cat.jpg"].people == []
    rows = {r[1]: r for r in library_tab.photo_rows(lib)}
    assert library_tab.PHOTO_COLUMNS[-1] == "People" and rows["party.jpg"][-1] == "Anna, Ben, Grandma Rose"

    # @Name finds the photos tagged with that name, whatever the case and spacing of the tag
    assert [p.name for p in tagged_people(lib)] == ["Anna", "Grandma Rose"]  # Ben is a named face, not tag-only
    plan = plan_prompt(lib, "@Grandma Rose at the seaside")
    assert [m.name for m in plan.people] == ["Grandma Rose"]
    assert sorted(context_photo_ids(lib, plan)) == sorted([party.id, beach.id])
    assert cat_photo.id not in context_photo_ids(lib, plan_prompt(lib, "@Anna in a garden"))
    assert context_photo_ids(lib, plan_prompt(lib, "@Anna in a garden")) == [party.id]


def test_tags_are_stored_encrypted_listed_by_the_cli_and_gone_after_revoke(lib: Library, tmp_path: Path) -> None:
    add_takeout(lib, [_tagged_export(tmp_path)], ["all"])
    index_library(lib)
    home = lib.settings.home
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")}
    env |= {"PHOTOGEN_HOME": str(home), "PHOTOGEN_PASSPHRASE": "test", "PHOTOGEN_USE_KEYRING": "0"}
    proc = subprocess.run([sys.executable, "-m", "photogen.cli", "photos", "list", "--json"], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    listed = {Path(p["path"]).name: p["people"] for p in json.loads(proc.stdout)}
    assert listed == {"party.jpg": ["Anna", "Grandma Rose"], "beach.jpg": ["grandma  rose"], "cat.jpg": []}

    lib.catalog.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"Grandma" not in data and "Grandma".encode("utf-16-le") not in data, path

    revoke_source(lib, "Google Takeout")
    assert lib.catalog.scalar("SELECT count(*) FROM photo_names") == 0
    assert list_photos(lib) == [] and tagged_people(lib) == []
    assert all(p.name != "Grandma Rose" for p in library_context(lib).people)
