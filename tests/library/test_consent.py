from __future__ import annotations

import os
from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.library.consent import (
    add_folder_source,
    exclude_photo,
    list_albums,
    revoke_album,
    revoke_source,
)
from photogen.library.indexer import index_library
from photogen.library.photos import list_photos, read_original
from tests.conftest import write_photo


def names(lib) -> set[str]:
    return {Path(p.path).name for p in list_photos(lib)}


def test_only_allowed_albums_are_read(library, tree: Path, monkeypatch) -> None:
    add_folder_source(library, tree, ["Paris", "Family"])
    opened: list[str] = []
    real_open = open

    def spy(file, *args, **kwargs):  # record every file the indexer opens
        opened.append(os.fsdecode(file) if isinstance(file, (str, bytes, os.PathLike)) else str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    index_library(library)
    monkeypatch.undo()
    assert names(library) == {"eiffel.jpg", "louvre.jpg", "xmas.jpg"}
    assert not any("Private" in p or "loose" in p for p in opened)
    albums = {a.name: a.allowed for a in list_albums(library)}
    assert albums == {"Pictures": False, "Family": True, "Paris": True, "Private": False}






def test_revoke_album_leaves_no_derived_bytes(library, tree: Path) -> None:
    add_folder_source(library, tree, ["all"])
    index_library(library)
    cat = library.catalog
    paris_ids = [p.id for p in list_photos(library) if p.album == "Paris"]
    paris_blobs = {library.blobs.path_for(r[0]) for r in cat.query(f"SELECT name FROM blobs WHERE photo_id IN ({','.join('?' * len(paris_ids))})", paris_ids)}
    assert len(paris_blobs) == 2 and all(p.exists() for p in paris_blobs)
    # something derived from a Paris photo: a face, a person, a creation
    person = cat.execute("INSERT INTO people (name, created_at) VALUES ('Anna', 'now')").lastrowid
    cat.execute("INSERT INTO faces (photo_id, box_x, box_y, box_w, box_h, score, quality, embedding, person_id) VALUES (?, 0, 0, 1, 1, 1, 1, x'00', ?)", (paris_ids[0], person))
    cat.execute("INSERT INTO photo_names (photo_id, name) VALUES (?, 'Anna')", (paris_ids[0],))  # a Takeout people tag
    creation = cat.execute("INSERT INTO creations (created_at, kind) VALUES ('now', 'card')").lastrowid
    cat.execute("INSERT INTO creation_sources (creation_id, photo_id) VALUES (?, ?)", (creation, paris_ids[0]))
    library.put_blob("creation:1", b"card", "creation", creation_id=creation)
    creation_blob = library.blobs.path_for("creation:1")

    revoke_album(library, "Paris")

    assert names(library) == {"xmas.jpg", "secret.jpg", "loose.jpg"}
    assert not any(p.exists() for p in paris_blobs) and not creation_blob.exists()
    for table in ("faces", "people", "photo_names", "creations", "creation_sources"):
        assert cat.scalar(f"SELECT count(*) FROM {table}") == 0, table
    assert cat.scalar("SELECT count(*) FROM photos WHERE id IN (?, ?)", paris_ids) == 0
    assert cat.scalar("SELECT count(*) FROM audit_log WHERE action = 'album.revoke'") == 1
    # every remaining encrypted file belongs to a remaining photo
    live = {library.blobs.path_for(r[0]) for r in cat.query("SELECT name FROM blobs")}
    assert set(library.blobs.all_paths()) == live and len(live) == 3
    with pytest.raises(PhotogenError):
        read_original(library, paris_ids[0])


def test_photo_in_two_albums_survives_revoking_one(library, tree: Path) -> None:
    (tree / "Family" / "copy-of-eiffel.jpg").write_bytes((tree / "Paris" / "eiffel.jpg").read_bytes())
    add_folder_source(library, tree, ["Paris", "Family"])
    index_library(library)
    (eiffel,) = [p for p in list_photos(library) if len(p.albums) == 2]
    assert len(list_photos(library)) == 3  # one photo, two albums
    assert eiffel.albums == ["Pictures/Family", "Pictures/Paris"]
    revoke_album(library, "Paris")
    survivors = {p.id: p for p in list_photos(library)}
    assert eiffel.id in survivors and survivors[eiffel.id].albums == ["Pictures/Family"]


def test_revoke_source_forgets_it_entirely(library, tree: Path) -> None:
    add_folder_source(library, tree, ["all"])
    index_library(library)
    assert revoke_source(library, "Pictures") == 5
    cat = library.catalog
    for table in ("sources", "albums", "grants", "photos", "photo_files", "blobs"):
        assert cat.scalar(f"SELECT count(*) FROM {table}") == 0, table
    assert library.blobs.all_paths() == []


def test_excluded_photo_is_kept_out_across_rescans(library, tree: Path) -> None:
    add_folder_source(library, tree, ["all"])
    index_library(library)
    (secret,) = [p for p in list_photos(library) if p.path.endswith("secret.jpg")]
    exclude_photo(library, secret.id)
    assert "secret.jpg" not in names(library)
    assert library.catalog.scalar("SELECT camera_make FROM photos WHERE id = ?", (secret.id,)) is None
    # touching the file makes the indexer look again; it must stay excluded
    os.utime(tree / "Private" / "secret.jpg", (1, 1))
    index_library(library)
    assert "secret.jpg" not in names(library)
    with pytest.raises(PhotogenError, match="excluded"):
        read_original(library, secret.id)






def test_revoke_impact_counts_what_a_revoke_deletes_before_it_is_done(library, tmp_path: Path) -> None:
    from photogen.library.consent import revoke_impact

    write_photo(tmp_path / "p" / "Family" / "a.jpg", seed=1)
    write_photo(tmp_path / "p" / "Family" / "b.jpg", seed=2)
    write_photo(tmp_path / "p" / "Work" / "c.jpg", seed=3)
    add_folder_source(library, tmp_path / "p", ["all"])
    index_library(library)
    ids = {p.path.rsplit("/", 1)[-1]: p.id for p in list_photos(library)}
    cat = library.catalog
    with cat.tx():
        only_family = cat.execute("INSERT INTO people (name, created_at) VALUES ('Ann', 'now')").lastrowid
        both = cat.execute("INSERT INTO people (name, created_at) VALUES ('Bob', 'now')").lastrowid
        for photo, person in (("a.jpg", only_family), ("b.jpg", both), ("c.jpg", both)):
            cat.execute(
                "INSERT INTO faces (photo_id, box_x, box_y, box_w, box_h, score, quality, embedding, person_id) VALUES (?, 0, 0, 1, 1, 1, 1, x'00', ?)",
                (ids[photo], person),
            )
        creation = cat.execute("INSERT INTO creations (created_at, kind) VALUES ('now', 'instant')").lastrowid
        cat.execute("INSERT INTO creation_sources (creation_id, photo_id) VALUES (?, ?)", (creation, ids["a.jpg"]))
    impact = revoke_impact(library, album="p/Family")
    assert (impact.photos, impact.faces, impact.people, impact.creations) == (2, 2, 1, 1)
    assert "deletes 2 photo(s)" in impact.describe("p/Family")
    assert len(list_photos(library)) == 3  # counting changed nothing
    assert revoke_impact(library, source="p").photos == 3
