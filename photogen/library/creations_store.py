"""The creations in the catalog: their rows, their sources (photos and people) and their encrypted pictures."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from photogen.library.catalog import utc_now
from photogen.library.library import Library

_COLUMNS = "id, created_at, kind, prompt, params"


def add_creation(
    library: Library,
    *,
    mode: str,
    prompt: str,
    params: dict[str, Any],
    photo_ids: Sequence[int],
    person_ids: Sequence[int],
    pictures: Sequence[tuple[int, bytes]],
) -> int:
    """Record a creation, its sources and its pictures ((variant, PNG bytes), encrypted as
    `creation:<id>:<variant>`) in one transaction, and audit it. The first picture is its output."""
    cat = library.catalog
    with cat.tx():
        creation_id = int(
            cat.execute(
                "INSERT INTO creations (created_at, kind, prompt, params) VALUES (?, ?, ?, ?)",
                (utc_now(), mode, prompt, json.dumps(params)),
            ).lastrowid
        )
        for pid in photo_ids:
            cat.execute("INSERT INTO creation_sources (creation_id, photo_id) VALUES (?, ?)", (creation_id, pid))
        for person_id in person_ids:
            cat.execute("INSERT INTO creation_sources (creation_id, person_id) VALUES (?, ?)", (creation_id, person_id))
        for variant, png in pictures:
            library.put_blob(f"creation:{creation_id}:{variant}", png, "creation", creation_id=creation_id)
        cat.execute("UPDATE creations SET output_blob = ? WHERE id = ?", (f"creation:{creation_id}:{pictures[0][0]}", creation_id))
        cat.audit(
            "creation",
            str(creation_id),
            mode=mode,
            kind=params.get("kind"),
            photo_ids=list(photo_ids),
            person_ids=list(person_ids),
            model=params.get("model"),
        )
    return creation_id


def note_c2pa_failure(library: Library, creation_id: int, file: str, error: str) -> None:
    """Keep on the creation (its params' `c2pa_failed`) and in the audit log that `file` has no content credentials."""
    cat = library.catalog
    with cat.tx():
        cat.execute(
            "UPDATE creations SET params = json_set(params, '$.c2pa_failed', json(?)) WHERE id = ?",
            (json.dumps({"file": file, "error": error}), creation_id),
        )
        cat.audit("creation.c2pa-failed", str(creation_id), file=file, error=error)


def creation_rows(library: Library, limit: int = 200) -> list[Any]:
    """Rows (id, created_at, kind, prompt, params), newest first."""
    return library.catalog.query(f"SELECT {_COLUMNS} FROM creations ORDER BY id DESC LIMIT ?", (limit,))


def creation_row(library: Library, creation_id: int) -> Any | None:
    """The row (id, created_at, kind, prompt, params) of one creation, or None when there is none."""
    return library.catalog.one(f"SELECT {_COLUMNS} FROM creations WHERE id = ?", (int(creation_id),))


def creation_exists(library: Library, creation_id: int) -> bool:
    return library.catalog.one("SELECT 1 FROM creations WHERE id = ?", (int(creation_id),)) is not None


def source_photo_ids(library: Library, creation_id: int) -> list[int]:
    rows = library.catalog.query(
        "SELECT photo_id FROM creation_sources WHERE creation_id = ? AND photo_id IS NOT NULL ORDER BY photo_id", (int(creation_id),)
    )
    return [int(r[0]) for r in rows]


def source_people(library: Library, creation_id: int) -> list[tuple[int, str | None]]:
    """(person id, name or None) of the people it was made with, by id."""
    rows = library.catalog.query(
        "SELECT p.id, p.name FROM creation_sources s JOIN people p ON p.id = s.person_id WHERE s.creation_id = ? ORDER BY p.id",
        (int(creation_id),),
    )
    return [(int(r["id"]), r["name"]) for r in rows]


def picture_names(library: Library, creation_id: int) -> list[str]:
    """The blob names of its pictures, by name."""
    rows = library.catalog.query("SELECT name FROM blobs WHERE creation_id = ? AND kind = 'creation' ORDER BY name", (int(creation_id),))
    return [r[0] for r in rows]


def delete_creation(library: Library, creation_id: int) -> bool:
    """Delete a creation's row, sources and picture records in one transaction and audit it; False
    when there is no such creation. The encrypted files go with the next `collect_garbage`."""
    cat = library.catalog
    with cat.tx():
        if creation_row(library, creation_id) is None:
            return False
        cat.execute("DELETE FROM blobs WHERE creation_id = ?", (int(creation_id),))
        cat.execute("DELETE FROM creation_sources WHERE creation_id = ?", (int(creation_id),))
        cat.execute("DELETE FROM creations WHERE id = ?", (int(creation_id),))
        cat.audit("creation.delete", str(creation_id))
    return True
