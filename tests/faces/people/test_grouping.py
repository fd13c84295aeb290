"""The automatic grouping (`photogen.faces.people.grouping`): "are these the same person?" suggestions."""

from __future__ import annotations

import pytest

from photogen.errors import PhotogenError
from photogen.faces import people
from photogen.library.library import Library
from tests.faces.conftest import people_by_identity
from tests.faces.people.conftest import faces_of


def test_merge_suggestions_offer_near_pairs_most_alike_first(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    # an identity the clustering split in two: half of Salley's faces on a person of their own
    salley_faces = faces_of(lib, who["john_salley"])
    with lib.catalog.tx():
        half = int(lib.catalog.execute("INSERT INTO people (created_at) VALUES ('2026-01-01')").lastrowid)
        for face in salley_faces[::2]:
            lib.catalog.execute("UPDATE faces SET person_id = ? WHERE id = ?", (half, face.id))
    found = people.merge_suggestions(lib, limit=50)
    assert found and {found[0].person_id, found[0].other_id} == {who["john_salley"], half}
    assert found[0].similarity > 0.6  # the same man
    assert [s.similarity for s in found] == sorted((s.similarity for s in found), reverse=True)
    floor = lib.settings.face_link_threshold - 0.1
    assert all(s.similarity >= floor for s in found)
    # labelled people in group photos together are never suggested
    photos = {p.id: set(p.photo_ids) for p in people.list_people(lib)}
    assert all(not photos[s.person_id] & photos[s.other_id] for s in found)
    people.dismiss_suggestion(lib, half, who["john_salley"])
    assert all({s.person_id, s.other_id} != {who["john_salley"], half} for s in people.merge_suggestions(lib))
    with pytest.raises(PhotogenError):
        people.dismiss_suggestion(lib, half, half)
