"""The People tab: what it shows and what its buttons do, on the indexed DEV library."""

from __future__ import annotations

import gradio as gr
import pytest
from PIL import Image

from photogen.errors import PhotogenError
from photogen.faces import people
from photogen.library.library import Library
from photogen.ui import people_tab
from photogen.ui.common import readable_errors
from photogen.ui.served import ServedFiles
from photogen.ui.session import UISession
from tests.faces.conftest import people_by_identity


def test_people_are_shown_as_face_crops_grouped_by_person(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    choices = people_tab.person_choices(lib)
    assert len(choices) == len(people.list_people(lib)) >= 15
    tiles = people_tab.overview(lib)
    assert len(tiles) == len(choices) and all(
        isinstance(img, Image.Image) and img.size == (128, 128) for img, _ in tiles
    )
    faces, order = people_tab.person_faces(lib, who["john_salley"])
    assert len(faces) == len(order) == 11
    assert {people.get_face(lib, f).person_id for f in order} == {who["john_salley"]}
    assert people_tab.person_details(lib, who["john_salley"])["face_count"] == 11
    labels = [label for label, _ in people_tab.move_choices(lib)]
    assert labels[-2:] == [people_tab.NEW_LABEL, people_tab.NOBODY_LABEL]


def test_tab_actions_rename_me_hide_merge_move(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    salley, savage, penny = who["john_salley"], who["john_savage"], who["bbt_penny"]
    assert people_tab.rename_action(lib, salley, "John")[1] == salley
    people_tab.mark_me_action(lib, salley)
    people_tab.hide_action(lib, penny)
    assert penny not in {pid for _, pid in people_tab.person_choices(lib)}
    assert penny in {pid for _, pid in people_tab.person_choices(lib, show_hidden=True)}
    people_tab.hide_action(lib, penny)  # the same button shows it again
    assert not people.get_person(lib, penny).hidden
    assert people_tab.merge_action(lib, savage, salley)[1] == salley
    _, order = people_tab.person_faces(lib, salley)
    people_tab.move_action(lib, salley, order[-1], people.NOBODY)
    message, _ = people_tab.move_action(lib, salley, order[-2], people.NEW_PERSON)
    assert "to person" in message
    person = people.get_person(lib, salley)
    assert (person.name, person.is_me, person.face_count) == ("John", True, 20)
    with pytest.raises(PhotogenError, match="Select a face"):
        people_tab.move_action(lib, salley, None, people.NOBODY)
    with pytest.raises(PhotogenError, match="no suggested name"):
        people_tab.use_suggested_action(lib, salley)
    with pytest.warns(UserWarning, match="No person with id 9999"):  # a notice; the tab keeps what it shows
        assert readable_errors(people_tab.rename_action)(lib, 9999, "x") == gr.skip()


def test_refresh_fills_the_tab(indexed_library: Library, tmp_path) -> None:
    with gr.Blocks():
        view = people_tab.build(gr.State())
    values = view.refresh(UISession(library=indexed_library, served=ServedFiles(tmp_path / "served")))
    assert len(values) == len(view.outputs)
    tiles, chosen, faces = values[0], values[1], values[2]
    assert len(tiles["value"]) >= 15 and chosen["value"] == chosen["choices"][0][1] and faces
    with pytest.warns(UserWarning, match="still loading"):
        assert view.refresh(None) == gr.skip()


def test_split_and_same_person_suggestions_from_the_tab(indexed_library: Library) -> None:
    lib = indexed_library
    who = people_by_identity(lib)
    salley = who["john_salley"]
    choices = people_tab.split_choices(lib, salley)
    assert len(choices) == 11 and people_tab.split_choices(lib, None) == []
    message, new = people_tab.split_action(lib, salley, [choices[0][1], choices[1][1]])
    assert "new person" in message and people.get_person(lib, new).face_count == 2
    with pytest.raises(PhotogenError):
        people_tab.split_action(lib, salley, [])
    # a split the user made is never suggested back; a split the clustering made is
    assert all(pick not in (f"{salley}:{new}", f"{new}:{salley}") for _, pick in people_tab.suggestion_choices(lib))
    people.undo_last(lib)
    with lib.catalog.tx():
        half = int(lib.catalog.execute("INSERT INTO people (created_at) VALUES ('2026-01-01')").lastrowid)
        lib.catalog.execute("UPDATE faces SET person_id = ? WHERE id IN (?, ?, ?)", (half, *[c[1] for c in choices[:3]]))
    label, pick = people_tab.suggestion_choices(lib)[0]
    assert set(map(int, pick.split(":"))) == {salley, half} and " and " in label
    tiles = people_tab.suggestion_faces(lib, pick)
    assert 2 <= len(tiles) <= 6 and all(isinstance(img, Image.Image) for img, _ in tiles)
    people_tab.not_same_action(lib, None, pick)
    assert pick not in {p for _, p in people_tab.suggestion_choices(lib)}
    message, survivor = people_tab.same_person_action(lib, None, pick)  # the user can still merge them
    assert survivor == salley and people.get_person(lib, salley).face_count == 11
    with pytest.raises(PhotogenError, match="Choose a pair"):
        people_tab.same_person_action(lib, None, None)
