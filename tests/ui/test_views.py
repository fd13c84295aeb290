"""Every tab follows the library with no reload: each tab refreshes when selected, Create forgets what a revoke removed."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from photogen.create.studio import Studio
from photogen.library.consent import add_folder_source, revoke_album
from photogen.library.indexer import index_library
from photogen.ui import create_tab
from photogen.ui.app import build_app
from photogen.ui.served import ServedFiles
from photogen.ui.session import SessionFactory, UISession
from tests.conftest import write_photo


def test_every_tab_refreshes_its_views_when_selected(library, settings) -> None:
    demo = build_app(SessionFactory(settings, library))
    config = demo.get_config_file()
    tabs = {c["id"]: c["props"]["label"] for c in config["components"] if c["type"] == "tabitem"}
    assert set(tabs.values()) >= {"Create", "Connect", "Library", "People", "Privacy"}
    refreshed = {tabs[t[0]] for d in config["dependencies"] for t in d["targets"] if t[1] == "select" and t[0] in tabs and d["outputs"]}
    assert refreshed == set(tabs.values())
    create_select = next(d for d in config["dependencies"] if any(t[1] == "select" and tabs.get(t[0]) == "Create" for t in d["targets"]))
    labels = {c["id"]: c["props"].get("label") for c in config["components"]}
    assert {"People", "Start from photos", "Style", "Results"} <= {labels[o] for o in create_select["outputs"]}


NAMES = ["banner", "first", "chips", "people", "photos", "style", "ideas", "gallery", "sources", "files", "last", "to_models", "unnamed", "who", "album", "picker", "picker_ids", "past"]


def _create_view(settings) -> create_tab.TabView:
    with gr.Blocks():
        session = gr.State()
        return create_tab.build(session, Studio(settings))


def test_create_shows_new_photos_and_forgets_revoked_results(library, settings, tmp_path: Path) -> None:
    view = _create_view(settings)
    session = UISession(library, ServedFiles(tmp_path / "served"))
    banner, first_steps, *_ = view.refresh(session, [], [], "watercolor", False, None)
    assert first_steps["visible"] is True  # an empty library: Create says to connect photos first
    assert "**Models** tab" in banner and "4.3 GB to download" in banner and "photogen models" not in banner

    write_photo(tmp_path / "p" / "Family" / "a.jpg", seed=1)
    add_folder_source(library, tmp_path / "p", ["Family"])
    index_library(library)
    (photo_id,) = [v for _, v in create_tab.photo_choices(library)]
    creation = library.catalog.execute(
        "INSERT INTO creations (created_at, kind) VALUES ('2026-01-01', 'instant')"
    ).lastrowid
    library.catalog.execute("INSERT INTO creation_sources (creation_id, photo_id) VALUES (?, ?)", (creation, photo_id))
    previous = {"creation_id": creation}

    out = dict(zip(NAMES, view.refresh(session, [], [photo_id], "watercolor", False, previous), strict=True))
    assert out["first"]["visible"] is False
    assert [v for _, v in out["photos"]["choices"]] == [photo_id] and out["photos"]["value"] == [photo_id]
    assert out["gallery"] == gr.skip()  # the result is still there: it stays
    assert out["picker_ids"] == [photo_id] and out["album"]["choices"] == [create_tab.ALL_ALBUMS, "Family"]
    assert [v for _, v in out["past"]["choices"]] == [creation]

    revoke_album(library, "p/Family")
    out = dict(zip(NAMES, view.refresh(session, [], [photo_id], "watercolor", False, previous), strict=True))
    assert out["photos"]["choices"] == [] and out["photos"]["value"] == []
    assert out["gallery"] == [] and out["sources"] == "" and out["files"] is None and out["last"] is None
    assert out["picker_ids"] == [] and out["past"]["choices"] == []  # the creation went with the revoked photos


def test_photo_cards_show_album_date_and_people_and_filter(library, tmp_path: Path) -> None:
    write_photo(tmp_path / "p" / "Family" / "a.jpg", taken="2019:05:01 09:00:00", seed=1)
    write_photo(tmp_path / "p" / "Trips" / "b.jpg", taken="2020:06:01 09:00:00", seed=2)
    add_folder_source(library, tmp_path / "p", ["all"])
    index_library(library)
    ids = {c.split(":")[1].split(" · ")[0].strip(): v for c, v in create_tab.photo_choices(library)}
    with library.catalog.tx():
        person = library.catalog.execute("INSERT INTO people (name, created_at) VALUES ('Grandpa Joe', 'now')").lastrowid
        library.catalog.execute(
            "INSERT INTO faces (photo_id, box_x, box_y, box_w, box_h, score, quality, embedding, person_id) VALUES (?, 0, 0, 1, 1, 1, 1, x'00', ?)",
            (ids["a.jpg"], person),
        )
    cards, order = create_tab.photo_cards(library)
    assert order == [ids["b.jpg"], ids["a.jpg"]]  # newest first
    assert cards[1][1] == f"{ids['a.jpg']}: a.jpg · Family · 2019-05-01 · Grandpa Joe" and cards[1][0].size[0] > 0
    assert create_tab.picker_filters(library) == ([create_tab.ANYONE, "Grandpa Joe"], [create_tab.ALL_ALBUMS, "Family", "Trips"])
    assert create_tab.photo_cards(library, person="Grandpa Joe")[1] == [ids["a.jpg"]]
    assert create_tab.photo_cards(library, album="Trips")[1] == [ids["b.jpg"]]


def test_a_link_button_switches_to_its_tab_and_refreshes_it(library, settings) -> None:
    demo = build_app(SessionFactory(settings, library))
    config = demo.get_config_file()

    tabs_id = next(c["id"] for c in config["components"] if c["type"] == "tabs")
    button = next(c["id"] for c in config["components"] if c["props"].get("elem_id") == "create-to-connect")
    clicks = [d for d in config["dependencies"] if [button, "click"] in [list(t) for t in d["targets"]]]
    assert [d["outputs"] for d in clicks] == [[tabs_id]]  # the Tabs container, which switches to Connect
    then = [d for d in config["dependencies"] if d.get("trigger_after") == clicks[0]["id"]]
    connect_tab_id = next(c["id"] for c in config["components"] if c["type"] == "tabitem" and c["props"]["label"] == "Connect")
    on_select = next(d for d in config["dependencies"] if [connect_tab_id, "select"] in [list(t) for t in d["targets"]])
    assert [d["outputs"] for d in then] == [on_select["outputs"]]  # the same refresh as selecting the tab

