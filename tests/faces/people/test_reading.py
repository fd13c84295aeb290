"""Reading people (`photogen.faces.people.reading`): suggested names, reference faces, what a revoke leaves."""

from __future__ import annotations

import numpy as np

from photogen.faces import people
from photogen.library.consent import exclude_photo, revoke_album
from photogen.library.library import Library
from tests.faces.conftest import people_by_identity
from tests.faces.people.conftest import faces_of


def test_suggested_names_follow_the_sidecar_names_of_a_persons_photos(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    cat = lib.catalog
    # Takeout-style sidecar names: every photo with Penny says "Penny"; photos with Sheldon also list
    # "Sheldon"; each group photo names everyone in it, so the names there do not line up alone
    with cat.tx():
        for identity, name in (("bbt_penny", "Penny"), ("bbt_sheldon", "Sheldon"), ("bbt_leonard", "Leonard")):
            for photo in people.get_person(lib, who[identity]).photo_ids:
                cat.execute("INSERT OR IGNORE INTO photo_names (photo_id, name) VALUES (?, ?)", (photo, name))
    suggested = {p.id: p.suggested_name for p in people.list_people(lib)}
    assert suggested[who["bbt_penny"]] == "Penny"
    assert suggested[who["bbt_sheldon"]] == "Sheldon"
    assert suggested[who["bbt_leonard"]] == "Leonard"
    assert suggested[who["john_salley"]] is None  # no names in their photos
    # a name the user gave is not offered again, and a named person gets no suggestion
    people.name_person(lib, who["bbt_penny"], "Penny")
    people.name_person(lib, who["bbt_leonard"], "Sheldon")
    suggested = {p.id: p.suggested_name for p in people.list_people(lib)}
    assert suggested[who["bbt_penny"]] is None and suggested[who["bbt_sheldon"]] is None


def test_reference_faces_rank_by_quality_and_honour_pins(indexed_library: Library) -> None:
    lib = indexed_library
    sheldon = people_by_identity(lib)["bbt_sheldon"]
    faces = faces_of(lib, sheldon)
    refs = people.reference_faces(lib, sheldon, limit=3)
    assert len(refs.faces) == 3 and len({f.photo_id for f in refs.faces}) == 3
    qualities = [f.quality for f in refs.faces]
    assert qualities == sorted(qualities, reverse=True) and qualities[0] == max(f.quality for f in faces)
    assert abs(float(np.linalg.norm(refs.person_centroid)) - 1) < 1e-5
    assert all(float(f.embedding @ refs.person_centroid) > 0.5 for f in refs.faces)
    worst = min(faces, key=lambda f: f.quality)
    people.set_reference(lib, worst.id, "pin")
    people.set_reference(lib, refs.faces[0].id, "drop")
    again = people.reference_faces(lib, sheldon, limit=3)
    assert again.faces[0].id == worst.id and refs.faces[0].id not in {f.id for f in again.faces}
    assert again.faces[0].embedding.shape == (128,) and again.faces[0].landmarks.shape == (5, 2)


def test_revoke_removes_faces_embeddings_and_emptied_people_but_keeps_the_rest(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    sheldon, leonard, salley = who["bbt_sheldon"], who["bbt_leonard"], who["john_salley"]
    people.name_person(lib, sheldon, "Sheldon")
    people.name_person(lib, salley, "John")
    people.mark_me(lib, leonard)
    portrait_faces = {f.id: f.embedding.tobytes() for f in people.load_faces(lib) if f.person_id == salley}

    revoke_album(lib, "people")  # sheldon and leonard are still in the group photos

    cat = lib.catalog
    left = people.list_people(lib)
    by_id = {p.id: p for p in left}
    assert salley not in by_id and cat.one("SELECT 1 FROM people WHERE id = ?", (salley,)) is None
    assert by_id[sheldon].name == "Sheldon" and by_id[leonard].is_me
    assert cat.scalar(
        "SELECT count(*) FROM faces WHERE photo_id NOT IN "
        "(SELECT f.photo_id FROM photo_files f JOIN albums a ON a.id = f.album_id WHERE a.name = 'groups')"
    ) == 0  # fmt: skip
    assert not set(portrait_faces) & {r[0] for r in cat.query("SELECT id FROM faces")}
    assert cat.scalar("SELECT count(*) FROM blobs WHERE kind = 'face'") == cat.scalar("SELECT count(*) FROM faces")
    cat.checkpoint()
    raw = b"".join(p.read_bytes() for p in lib.home.rglob("*") if p.is_file())
    assert not any(e[:32] in raw for e in portrait_faces.values())
    # excluding a photo takes its faces along too
    photo = by_id[sheldon].photo_ids[0]
    exclude_photo(lib, photo)
    assert cat.scalar("SELECT count(*) FROM faces WHERE photo_id = ?", (photo,)) == 0
    assert people.get_person(lib, sheldon).face_count == by_id[sheldon].face_count - 1
