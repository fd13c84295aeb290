"""Album grants: only the albums named are allowed, new ones stay closed, names are taken literally from a list."""

from __future__ import annotations

from pathlib import Path

import pytest

from photogen.errors import PhotogenError
from photogen.library.consent import add_folder_source
from photogen.library.grants import allow_album, list_albums
from photogen.library.indexer import index_library
from photogen.library.photos import list_photos
from tests.conftest import write_photo


def names(lib) -> set[str]:
    return {Path(p.path).name for p in list_photos(lib)}


def test_unknown_album_adds_nothing(library, tree: Path) -> None:
    with pytest.raises(PhotogenError, match="No album named 'Pari'"):
        add_folder_source(library, tree, ["Pari"])
    assert library.catalog.scalar("SELECT count(*) FROM sources") == 0


def test_albums_that_appear_later_stay_closed(library, tree: Path) -> None:
    add_folder_source(library, tree, ["all"])
    index_library(library)
    write_photo(tree / "NewTrip" / "beach.jpg", seed=9)
    report = index_library(library)
    assert report.new_albums == ["Pictures/NewTrip"]
    assert "beach.jpg" not in names(library)
    allow_album(library, "NewTrip")
    index_library(library)
    assert "beach.jpg" in names(library)


def test_an_album_named_all_is_just_an_album_when_picked_from_a_list(library, tmp_path: Path) -> None:
    root = tmp_path / "Pics"
    write_photo(root / "all" / "a.jpg", seed=1)
    write_photo(root / "Private" / "p.jpg", seed=2)
    add_folder_source(library, root, ["all"], allow_all=False)  # what the UI's checklist passes
    assert {a.name: a.allowed for a in list_albums(library)} == {"Private": False, "all": True}


def test_a_renamed_source_keeps_its_root_album_name(library, tmp_path: Path) -> None:
    root = tmp_path / "Pictures"
    write_photo(root / "loose.jpg", seed=1)
    write_photo(root / "Trip" / "t.jpg", seed=2)
    add_folder_source(library, root, ["Pictures"], name="Family", allow_all=False)
    assert {a.qualified_name: a.allowed for a in list_albums(library)} == {"Family/Pictures": True, "Family/Trip": False}
