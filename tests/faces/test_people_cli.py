"""`photogen people ...` and `photogen faces ...` as a user drives them: subprocesses, --json, one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from photogen.library.keys import KDF_MIN_ITERATIONS, KDF_MIN_MEMORY_KIB
from tests.faces.conftest import INDEXED_PASSPHRASE, identity_of_path


def _env(home: Path, passphrase: str = INDEXED_PASSPHRASE) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PHOTOGEN_")}
    return clean | {
        "PHOTOGEN_HOME": str(home),
        "PHOTOGEN_PASSPHRASE": passphrase,
        "PHOTOGEN_USE_KEYRING": "0",
        "PHOTOGEN_KDF_MEMORY_KIB": str(KDF_MIN_MEMORY_KIB),  # the lowest the environment may set
        "PHOTOGEN_KDF_ITERATIONS": str(KDF_MIN_ITERATIONS),
    }


def run(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "photogen.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )
    if ok:
        assert proc.returncode == 0, proc.stderr
    return proc


def as_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(run(env, *args, "--json").stdout)


@pytest.fixture
def env(indexed_home: Path, tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    shutil.copytree(indexed_home, home)
    return _env(home)


def test_people_and_faces_commands(env: dict[str, str]) -> None:
    faces = as_json(env, "faces", "list")
    assert {"id", "photo_id", "photo_path", "album", "box", "score", "quality", "person_id"} <= set(faces[0])
    assert all(len(f["box"]) == 4 and all(isinstance(v, int) for v in f["box"]) for f in faces)
    people = as_json(env, "people", "list")
    assert {"id", "name", "is_me", "face_count", "photo_ids", "suggested_name", "hidden"} <= set(people[0])
    assert sum(p["face_count"] for p in people) == sum(f["person_id"] is not None for f in faces)
    # identity -> person, from the portraits' largest faces
    largest: dict[int, dict] = {}
    for f in faces:
        if f["photo_id"] not in largest or f["box"][2] > largest[f["photo_id"]]["box"][2]:
            largest[f["photo_id"]] = f
    who = {identity_of_path(f["photo_path"]): f["person_id"] for f in largest.values() if f["album"] == "people"}
    salley, savage, amy = who["john_salley"], who["john_savage"], who["bbt_amy"]

    run(env, "people", "name", str(salley), "John Salley")
    run(env, "people", "me", str(salley))
    run(env, "people", "merge", str(savage), str(salley))
    run(env, "people", "hide", str(amy))
    face = next(f for f in faces if f["person_id"] == amy and f["album"] == "people")
    assert "nobody" in run(env, "faces", "move", str(face["id"]), "none").stdout
    other = next(f for f in faces if f["person_id"] == amy and f["album"] == "people" and f["id"] != face["id"])
    run(env, "faces", "move", str(other["id"]), str(salley))
    report = as_json(env, "people", "recluster")
    assert report["new_people"] == 0

    after = {p["id"]: p for p in as_json(env, "people", "list")}
    assert after[salley]["name"] == "John Salley" and after[salley]["is_me"]
    assert after[salley]["face_count"] == 11 + 11 + 1 and savage not in after
    assert after[amy]["hidden"]
    moved = {f["id"]: f["person_id"] for f in as_json(env, "faces", "list")}
    assert moved[face["id"]] is None and moved[other["id"]] == salley
    refs = as_json(env, "people", "references", str(salley), "--limit", "2")
    assert len(refs) == 2 and refs[0]["quality"] >= refs[1]["quality"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("people", "name", "9999", "Bob"), "No person with id 9999"),
        (("people", "merge", "1", "1"), "cannot be merged into itself"),
        (("people", "me", "9999"), "No person with id 9999"),
        (("faces", "move", "999999", "none"), "No face with id 999999"),
        (("faces", "move", "1", "bob"), "not a person id"),
    ],
)
def test_user_errors_are_one_line(env: dict[str, str], args: tuple[str, ...], message: str) -> None:
    proc = run(env, *args, ok=False)
    assert proc.returncode == 1 and message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_index_runs_the_faces_step(tmp_path: Path, faces_dir: Path) -> None:
    env = _env(tmp_path / "home", "cli faces")
    root = tmp_path / "photos" / "album"
    root.mkdir(parents=True)
    for n in (1, 2, 3):
        shutil.copy(faces_dir / "people" / "john_savage" / f"{n}.jpg", root / f"{n}.jpg")
    shutil.copy(faces_dir / "noface" / "coffee.jpg", root / "coffee.jpg")
    run(env, "sources", "add-folder", str(tmp_path / "photos"), "--allow", "all")
    summary = as_json(env, "index")
    assert summary["added"] == 4
    faces = as_json(env, "faces", "list")
    assert len(faces) == 3 and len({f["person_id"] for f in faces}) == 1 and faces[0]["person_id"] is not None
    (person,) = as_json(env, "people", "list")
    assert person["face_count"] == 3 and len(person["photo_ids"]) == 3
    again = run(env, "index")
    assert "faces: 0 found in 0 new photo(s)" in again.stderr


def test_split_and_suggestions_commands(env: dict[str, str]) -> None:
    people = as_json(env, "people", "list")
    person = max(people, key=lambda p: p["face_count"])
    faces = [f["id"] for f in as_json(env, "faces", "list", "--person", str(person["id"]))]
    out = run(env, "people", "split", str(person["id"]), str(faces[0]), str(faces[1])).stdout
    new = int(out.split("are now person ")[1].split(".")[0])
    assert {f["id"] for f in as_json(env, "faces", "list", "--person", str(new))} == set(faces[:2])
    suggestions = as_json(env, "people", "suggestions", "--limit", "5")
    assert all({"person_id", "other_id", "similarity"} <= set(s) for s in suggestions)
    # the split says "not this person": the two are never suggested together
    assert all({s["person_id"], s["other_id"]} != {person["id"], new} for s in suggestions)
    bad = run(env, "people", "split", str(person["id"]), "999999", ok=False)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "not on person" in bad.stderr + bad.stdout
    done = run(env, "people", "not-same", str(person["id"]), str(new)).stdout
    assert "not be suggested" in done


def test_merge_asks_about_faces_in_shared_photos_first_and_can_be_undone(env: dict[str, str]) -> None:
    people = as_json(env, "people", "list")
    source, target = next(
        (a["id"], b["id"]) for a in people for b in people if a["id"] != b["id"] and set(a["photo_ids"]) & set(b["photo_ids"])
    )
    before = as_json(env, "faces", "list")
    asked = run(env, "people", "merge", str(source), str(target), ok=False)
    assert asked.returncode == 2 and "Nothing merged yet" in asked.stdout and "--conflicts keep" in asked.stdout
    assert as_json(env, "faces", "list") == before  # asking changed nothing
    done = run(env, "people", "merge", str(source), str(target), "--conflicts", "keep")
    assert f"stay on person {source}" in done.stdout and "people undo" in done.stdout
    assert run(env, "people", "undo").stdout.strip() == "Undid the merge."
    assert as_json(env, "faces", "list") == before
