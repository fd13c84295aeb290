"""People from the catalog as references: selection rules, crops, and the errors a user can cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photogen.errors import PhotogenError
from photogen.generate.identity.references import (
    REFERENCE_CROP_SIZE,
    people_references,
    person_reference,
)
from photogen.library.catalog import utc_now
from photogen.library.library import Library


class FakeCatalog:
    """Rows written straight into the catalog tables, as the indexer and faces stage would leave them."""

    def __init__(self, library: Library) -> None:
        self.library = library
        self.cat = library.catalog
        self.pixels: dict[int, np.ndarray] = {}
        self.allowed = self._album("allowed", granted=True)
        self.revoked = self._album("revoked", granted=False)

    def _album(self, name: str, granted: bool) -> int:
        now = utc_now()
        source = self.cat.execute(
            "INSERT INTO sources (name, kind, location, created_at) VALUES (?, 'folder', '/nowhere', ?)", (name, now)
        ).lastrowid
        album = self.cat.execute(
            "INSERT INTO albums (source_id, name, key, created_at) VALUES (?, ?, '', ?)", (source, name, now)
        ).lastrowid
        if granted:
            self.cat.execute("INSERT INTO grants (album_id, granted_at) VALUES (?, ?)", (album, now))
        return int(album)

    def person(self, name: str, *, hidden: bool = False, me: bool = False) -> int:
        return int(self.cat.execute(
            "INSERT INTO people (name, is_me, hidden, created_at) VALUES (?, ?, ?, ?)", (name, int(me), int(hidden), utc_now())
        ).lastrowid)  # fmt: skip

    def photo(self, rgb: np.ndarray, *, album: int | None = None, excluded: bool = False) -> int:
        photo_id = int(self.cat.execute(
            "INSERT INTO photos (content_hash, width, height, excluded, indexed_at) VALUES (?, ?, ?, ?, ?)",
            (f"h{len(self.pixels)}", rgb.shape[1], rgb.shape[0], int(excluded), utc_now()),
        ).lastrowid)  # fmt: skip
        self.cat.execute("INSERT INTO photo_files (album_id, photo_id, rel_path) VALUES (?, ?, ?)",
                         (album or self.allowed, photo_id, f"{photo_id}.jpg"))  # fmt: skip
        self.pixels[photo_id] = rgb
        return photo_id

    def face(self, photo_id: int, face, person_id: int, *, pinned: int = 0, quality: float | None = None) -> int:  # noqa: ANN001
        x, y, w, h = face.box
        return int(self.cat.execute(
            """INSERT INTO faces (photo_id, box_x, box_y, box_w, box_h, landmarks, score, quality, embedding, backend,
               person_id, assignment, pinned_reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'auto', ?)""",
            (photo_id, x, y, w, h, face.landmarks.astype(np.float32).tobytes(), face.score,
             face.quality if quality is None else quality, face.embedding.astype(np.float32).tobytes(),
             face.backend, person_id, pinned),
        ).lastrowid)  # fmt: skip

    def load(self, photo_id: int) -> np.ndarray:
        return self.pixels[photo_id]


@pytest.fixture
def fake(library: Library) -> FakeCatalog:
    return FakeCatalog(library)


def _add(fake: FakeCatalog, real_faces: dict, who: str, person_id: int, indices: range = range(4)) -> list[int]:
    ids = []
    for i in indices:
        _, rgb, face = real_faces[who][i]
        ids.append(fake.face(fake.photo(rgb), face, person_id))
    return ids


def test_pinned_first_dropped_never_one_face_a_photo(fake: FakeCatalog, real_faces: dict) -> None:
    amy = fake.person("Amy")
    ids = []
    for i, quality in enumerate((0.9, 0.5, 0.8, 0.7)):
        _, rgb, face = real_faces["bbt_amy"][i]
        ids.append(fake.face(fake.photo(rgb), face, amy, quality=quality))
    fake.cat.execute("UPDATE faces SET pinned_reference = 1 WHERE id = ?", (ids[1],))  # the worst one, pinned
    fake.cat.execute("UPDATE faces SET pinned_reference = -1 WHERE id = ?", (ids[0],))  # the best one, dropped
    # a second face row on the photo of ids[2] (e.g. a re-detection): never two references from one photo
    photo_of_2 = fake.cat.scalar("SELECT photo_id FROM faces WHERE id = ?", (ids[2],))
    dup = fake.face(photo_of_2, real_faces["bbt_amy"][2][2], amy, quality=0.85)

    ref = person_reference(fake.library, "amy", limit=3, load_photo=fake.load)
    chosen = [f.face_id for f in ref.faces]
    assert chosen[0] == ids[1]  # pinned first, whatever its quality
    assert ids[0] not in chosen  # dropped: never
    assert chosen[1:] == [dup, ids[3]]  # then by quality, one a photo
    assert len(set(ref.photo_ids)) == len(ref.photo_ids) == 3


def test_crops_are_aligned_faces_of_the_same_person(fake: FakeCatalog, real_faces: dict, face_analyzer) -> None:  # noqa: ANN001
    _add(fake, real_faces, "bbt_penny", fake.person("Penny"))
    ref = person_reference(fake.library, "Penny", load_photo=fake.load)
    assert ref.crops is not None and ref.crops.shape == (4, REFERENCE_CROP_SIZE, REFERENCE_CROP_SIZE, 3)
    # the crop, shrunk to the embedder's 112, embeds like the stored face: landmarks and pixels agree
    from PIL import Image

    small = np.stack([np.asarray(Image.fromarray(c).resize((112, 112), Image.Resampling.BICUBIC)) for c in ref.crops])
    embedded = face_analyzer.backend.embed(small)
    stored = np.stack([f.embedding for f in ref.faces])
    assert np.min(np.sum(embedded * stored, axis=1)) > 0.9
    assert float(ref.centroid @ real_faces["bbt_penny"][4][2].embedding) > 0.55  # held-out photo


def test_who_resolution_and_its_errors(fake: FakeCatalog, real_faces: dict) -> None:
    me = fake.person("Sheldon Cooper", me=True)
    _add(fake, real_faces, "bbt_sheldon", me, range(2))
    assert person_reference(fake.library, "me", with_crops=False).person_id == me
    assert person_reference(fake.library, str(me), with_crops=False).name == "Sheldon Cooper"
    with pytest.raises(PhotogenError, match="No person 'Raj'"):
        person_reference(fake.library, "Raj", with_crops=False)
    hidden = fake.person("Leonard", hidden=True)
    _add(fake, real_faces, "bbt_leonard", hidden, range(1))
    with pytest.raises(PhotogenError, match="Leonard is hidden"):
        person_reference(fake.library, "leonard", with_crops=False)
    twin = fake.person("Sheldon Cooper")
    _add(fake, real_faces, "bbt_sheldon", twin, range(2, 3))
    with pytest.raises(PhotogenError, match="Several people are named"):
        person_reference(fake.library, "sheldon cooper", with_crops=False)
    with pytest.raises(PhotogenError, match="named twice"):
        people_references(fake.library, ["me", str(me)], with_crops=False)


def test_revoked_excluded_and_dropped_faces_are_not_usable(fake: FakeCatalog, real_faces: dict) -> None:
    penny = fake.person("Penny")
    for i in range(2):  # only in a revoked album
        _, rgb, face = real_faces["bbt_penny"][i]
        fake.face(fake.photo(rgb, album=fake.revoked), face, penny)
    with pytest.raises(PhotogenError, match="revoked"):
        person_reference(fake.library, "Penny", with_crops=False)
    _, rgb, face = real_faces["bbt_penny"][2]
    allowed = fake.face(fake.photo(rgb), face, penny)
    _, rgb, face = real_faces["bbt_penny"][3]
    fake.face(fake.photo(rgb, excluded=True), face, penny)
    assert [f.face_id for f in person_reference(fake.library, "Penny", with_crops=False).faces] == [allowed]
    fake.cat.execute("UPDATE faces SET pinned_reference = -1 WHERE id = ?", (allowed,))
    with pytest.raises(PhotogenError, match="no usable face"):
        person_reference(fake.library, "Penny", with_crops=False)


def test_unreadable_reference_photos_are_a_clear_error(fake: FakeCatalog, real_faces: dict) -> None:
    _add(fake, real_faces, "bbt_amy", fake.person("Amy"), range(2))

    def offline(photo_id: int) -> np.ndarray:
        raise PhotogenError(f"Photo {photo_id} cannot be read from its source")

    with pytest.raises(PhotogenError, match="can be read from its source right now"):
        person_reference(fake.library, "Amy", load_photo=offline)


def test_library_loader_reads_allowed_photos(library: Library, tmp_path: Path, real_faces: dict) -> None:
    """The default loader goes through the library's own read path (grants, exclusion)."""
    import shutil

    from photogen.generate.identity.references import library_photo_loader
    from photogen.library.consent import add_folder_source

    src = tmp_path / "photos"
    src.mkdir()
    shutil.copy(real_faces["bbt_amy"][0][0], src / "amy.jpg")
    add_folder_source(library, src, allow=["photos"])
    cat = library.catalog
    photo_id = int(cat.execute("INSERT INTO photos (content_hash, indexed_at) VALUES ('x', ?)", (utc_now(),)).lastrowid)
    cat.execute("INSERT INTO photo_files (album_id, photo_id, rel_path) VALUES ((SELECT id FROM albums), ?, 'amy.jpg')",
                (photo_id,))  # fmt: skip
    load = library_photo_loader(library)
    assert load(photo_id).shape == real_faces["bbt_amy"][0][1].shape
    cat.execute("UPDATE photos SET excluded = 1 WHERE id = ?", (photo_id,))
    with pytest.raises(PhotogenError, match="excluded"):
        load(photo_id)
