"""The catalog's people rows and their history: who a person is, the user's say over them, undo.

The faces stage (`photogen.faces.people`) decides; these functions are the only place its people
rows, and the audit-log entries its grouping reads back (merges, undos, "not the same"), are read or
written. A person exists while it has faces (`drop_empty_people`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from photogen.library.catalog import utc_now
from photogen.library.library import Library

# ---- people ------------------------------------------------------------------------------------


def person_row(library: Library, person_id: int) -> Any | None:
    return library.catalog.one("SELECT * FROM people WHERE id = ?", (person_id,))


def people_with_id(library: Library, person_id: int) -> list[Any]:
    """(id, name, hidden) of the person with this id, if there is one."""
    return library.catalog.query("SELECT id, name, hidden FROM people WHERE id = ?", (person_id,))


def people_marked_me(library: Library) -> list[Any]:
    """(id, name, hidden) of the person marked as the user."""
    return library.catalog.query("SELECT id, name, hidden FROM people WHERE is_me = 1")


def people_named(library: Library, name: str) -> list[Any]:
    """(id, name, hidden) of the people with this name, ignoring case."""
    return library.catalog.query("SELECT id, name, hidden FROM people WHERE lower(name) = lower(?)", (name,))


def person_ids(library: Library) -> set[int]:
    return {r[0] for r in library.catalog.query("SELECT id FROM people")}


def given_names(library: Library) -> list[str]:
    return [r[0] for r in library.catalog.query("SELECT name FROM people WHERE name IS NOT NULL")]


def other_named_people(library: Library, person_id: int) -> list[Any]:
    """(id, name) of every other person with a name."""
    return library.catalog.query("SELECT id, name FROM people WHERE id != ? AND name IS NOT NULL", (person_id,))


def count_people(library: Library) -> int:
    return int(library.catalog.scalar("SELECT count(*) FROM people"))


def new_person(library: Library) -> int:
    """A new person with no name; returns its id."""
    return int(library.catalog.execute("INSERT INTO people (created_at) VALUES (?)", (utc_now(),)).lastrowid)


def set_person_name(library: Library, person_id: int, name: str | None) -> None:
    library.catalog.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))


def set_me(library: Library, person_id: int | None) -> None:
    """Mark the one person who is the user; every other is unmarked."""
    library.catalog.execute("UPDATE people SET is_me = (id = ?)", (person_id,))


def set_hidden(library: Library, person_id: int, hidden: bool) -> None:
    library.catalog.execute("UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person_id))


def set_person(library: Library, person_id: int, name: str | None, is_me: bool, hidden: bool) -> None:
    library.catalog.execute(
        "UPDATE people SET name = ?, is_me = ?, hidden = ? WHERE id = ?", (name, int(is_me), int(hidden), person_id)
    )


def delete_person(library: Library, person_id: int) -> None:
    library.catalog.execute("DELETE FROM people WHERE id = ?", (person_id,))


def drop_empty_people(library: Library) -> None:
    """People left with no face go."""
    library.catalog.execute(
        "DELETE FROM people WHERE id NOT IN (SELECT DISTINCT person_id FROM faces WHERE person_id IS NOT NULL)"
    )


# ---- undo --------------------------------------------------------------------------------------


def undo_snapshot(library: Library, person_ids: Iterable[int], face_ids: Iterable[int] = ()) -> dict[str, Any]:
    """What an undo needs: the people rows, and the faces on them (or named) as they are now."""
    cat = library.catalog
    pids = sorted({int(p) for p in person_ids})
    fids = list(face_ids)
    marks = ",".join("?" * len(pids)) or "NULL"
    people_rows = [dict(r) for r in cat.query(f"SELECT id, name, is_me, hidden, created_at FROM people WHERE id IN ({marks})", pids)]
    face_rows = cat.query(
        f"""SELECT id, person_id, assignment, rejected_person_ids FROM faces WHERE person_id IN ({marks})
            OR id IN ({",".join("?" * len(fids)) or "NULL"})""",
        [*pids, *fids],
    )
    me = cat.scalar("SELECT id FROM people WHERE is_me = 1")
    return {"people": people_rows, "faces": [dict(r) for r in face_rows], "me": me}


def restore_snapshot(library: Library, snap: dict[str, Any]) -> None:
    """Put the people and faces of an `undo_snapshot` back as they were (faces deleted since stay deleted)."""
    cat = library.catalog
    for p in snap["people"]:
        cat.execute(
            "INSERT OR REPLACE INTO people (id, name, is_me, hidden, created_at) VALUES (?, ?, ?, ?, ?)",
            (p["id"], p["name"], p["is_me"], p["hidden"], p["created_at"]),
        )
    if snap.get("me") is not None:
        set_me(library, snap["me"])
    for f in snap["faces"]:
        cat.execute(
            "UPDATE faces SET person_id = ?, assignment = ?, rejected_person_ids = ? WHERE id = ?",
            (f["person_id"], f["assignment"], f["rejected_person_ids"], f["id"]),
        )


# ---- history: the audit-log entries grouping reads back ----------------------------------------


def undone_targets(library: Library) -> list[str]:
    """The audit ids (as text) of the user actions that were undone."""
    return [r[0] for r in library.catalog.query("SELECT target FROM audit_log WHERE action = 'people.undo'")]


def merge_entries(library: Library) -> list[Any]:
    """(id, target, detail) of every merge, oldest first."""
    return library.catalog.query("SELECT id, target, detail FROM audit_log WHERE action = 'person.merge' ORDER BY id")


def latest_clustering_detail(library: Library) -> str | None:
    """The detail (JSON) of the last clustering run's audit entry; None if none ran (or it has none)."""
    row = library.catalog.one(
        "SELECT detail FROM audit_log WHERE action IN ('people.assign', 'people.recluster') ORDER BY id DESC LIMIT 1"
    )
    return None if row is None else row["detail"]


def latest_entries(library: Library, actions: Sequence[str], limit: int = 50) -> list[Any]:
    """(id, action, detail) of the latest audit entries of these actions, newest first."""
    marks = ",".join("?" * len(actions))
    return library.catalog.query(
        f"SELECT id, action, detail FROM audit_log WHERE action IN ({marks}) ORDER BY id DESC LIMIT {int(limit)}",
        list(actions),
    )


def not_same_entries(library: Library) -> list[Any]:
    """(target, detail) of every "these two are not the same person" answer."""
    return library.catalog.query("SELECT target, detail FROM audit_log WHERE action = 'people.not_same'")
