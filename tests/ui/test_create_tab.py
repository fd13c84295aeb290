from __future__ import annotations

from photogen.ui import create_tab


def test_style_choices_offer_ai_styles_only_with_a_model() -> None:
    without = [v for _, v in create_tab.style_choices(False)]
    with_model = [v for _, v in create_tab.style_choices(True)]
    assert "watercolor" in without and "anime" not in without
    assert "anime" in with_model and set(without) <= set(with_model)


def test_template_choices_start_with_no_template() -> None:
    choices = create_tab.template_choices()
    assert choices[0] == (create_tab.NO_TEMPLATE, "") and ("Birthday card", "card:birthday") in choices


def test_people_found_but_not_named_are_shown_with_where_to_name_them(library) -> None:
    cat = library.catalog
    photos = [int(cat.execute("INSERT INTO photos (content_hash, indexed_at) VALUES (?, 'now')", (f"h{i}",)).lastrowid) for i in range(4)]
    named = cat.execute("INSERT INTO people (name, created_at) VALUES ('Anna', 'now')").lastrowid
    unnamed = cat.execute("INSERT INTO people (name, created_at) VALUES (NULL, 'now')").lastrowid
    face = "INSERT INTO faces (photo_id, box_x, box_y, box_h, box_w, score, quality, embedding, person_id) VALUES (?, 0, 0, 1, 1, 1, 1, x'00', ?)"
    for photo in photos[:3]:
        cat.execute(face, (photo, unnamed))
    cat.execute(face, (photos[3], named))
    assert create_tab.unnamed_people_note(library) == (
        f"Found in your photos: Person {unnamed}, 3 photos: name them in **People** to put them in pictures."
    )
    assert [v for _, v in create_tab.people_choices(library)] == ["Anna"]  # only named people can be chosen
    cat.execute("UPDATE people SET name = 'Ben' WHERE id = ?", (unnamed,))
    assert create_tab.unnamed_people_note(library) == ""
