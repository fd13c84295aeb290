"""Past creations: listed with their sources, reopened, saved again with provenance, deleted with their pictures."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image

from photogen.create import creations
from photogen.create.verify import verify_file
from photogen.errors import PhotogenError
from photogen.library.library import Library


def _made(lib: Library) -> int:
    cat = lib.catalog
    with cat.tx():
        person = cat.execute("INSERT INTO people (name, created_at) VALUES ('Grandpa Joe', '2026-01-01')").lastrowid
        cid = cat.execute(
            "INSERT INTO creations (created_at, kind, prompt, params) VALUES ('2026-01-02T10:00:00', 'instant', '', ?)",
            (json.dumps({"kind": "instant", "style": "watercolor", "template": "card:birthday"}),),
        ).lastrowid
        cat.execute("INSERT INTO creation_sources (creation_id, person_id) VALUES (?, ?)", (cid, person))
    for variant, colour in ((0, "red"), (1, "blue")):
        buf = io.BytesIO()
        Image.new("RGB", (40, 60), colour).save(buf, format="PNG")
        lib.put_blob(f"creation:{cid}:{variant}", buf.getvalue(), "creation", creation_id=cid)
    return int(cid)


def test_list_show_save_and_delete(library: Library, tmp_path) -> None:
    cid = _made(library)
    (record,) = creations.list_creations(library)
    assert record.id == cid and record.kind == "instant" and record.people == ["Grandpa Joe"] and len(record.variants) == 2
    assert "card:birthday" in record.label
    images = creations.creation_images(library, cid)
    assert [im.getpixel((0, 0)) for im in images] == [(255, 0, 0), (0, 0, 255)] and images[0].size == (40, 60)
    paths = creations.save_creation(library, cid, tmp_path / "out")
    assert len(paths) == 2 and verify_file(paths[0]).kind == "instant"

    creations.delete_creation(library, cid)
    assert creations.list_creations(library) == []
    assert library.catalog.scalar("SELECT count(*) FROM blobs WHERE kind = 'creation'") == 0
    with pytest.raises(PhotogenError, match=f"No creation #{cid}"):
        creations.get_creation(library, cid)
