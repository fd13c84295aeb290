from __future__ import annotations

import pytest

from photogen.create.studio import choose_mode
from photogen.errors import PhotogenError
from photogen.ui import create_tab


def test_one_button_picks_the_mode_a_user_means() -> None:
    assert choose_mode(has_photo=True, prompt="", style="watercolor", ai_available=False) == "instant"
    assert choose_mode(has_photo=True, prompt="on a beach", style="anime", ai_available=False) == "instant"
    assert choose_mode(has_photo=True, prompt="", style="watercolor", ai_available=True) == "instant"
    assert choose_mode(has_photo=True, prompt="", style="anime", ai_available=True) == "restyle"
    assert choose_mode(has_photo=True, prompt="on a beach", style="anime", ai_available=True) == "background"
    assert choose_mode(has_photo=False, prompt="a castle", style=None, ai_available=True) == "text"
    with pytest.raises(PhotogenError, match="needs a diffusion model"):
        choose_mode(has_photo=False, prompt="a castle", style=None, ai_available=False)


def test_build_request_from_form_values() -> None:
    request = create_tab.build_request(
        prompt="me at the beach", photo_ids=["3"], people=["Anna"], style="watercolor", template="card:birthday",
        mode="auto", speed="fast", seed=5.0, variants=2.0, best_of=None, title="Hi", message="", background="blur",
        formats=["png", "pdf"], ai_available=False,
    )
    assert request.mode == "instant" and request.photo_ids == [3] and request.people == ["Anna"]
    assert request.seed == 5 and request.variants == 2 and request.best_of is None
    assert request.template == "card:birthday" and request.message is None and request.formats == ("png", "pdf")


def test_style_choices_offer_ai_styles_only_with_a_model() -> None:
    without = [v for _, v in create_tab.style_choices(False)]
    with_model = [v for _, v in create_tab.style_choices(True)]
    assert "watercolor" in without and "anime" not in without
    assert "anime" in with_model and set(without) <= set(with_model)


def test_template_choices_start_with_no_template() -> None:
    choices = create_tab.template_choices()
    assert choices[0] == (create_tab.NO_TEMPLATE, "") and ("Birthday card", "card:birthday") in choices


def test_more_like_this_and_refine_keep_what_they_should() -> None:
    from photogen.create.studio import CreateRequest

    first = CreateRequest(mode="text", prompt="a castle", style="anime", seed=10, variants=4, best_of=2)
    more = create_tab.more_like_this(first)
    assert (more.seed, more.variants, more.prompt) == (14, 4, "a castle") and first.seed == 10
    refined = create_tab.refine_request(first, 12, "a castle at night", None)
    assert (refined.seed, refined.variants, refined.best_of) == (12, 1, None)
    assert refined.prompt == "a castle at night" and refined.style == "anime"
    assert create_tab.refine_request(first, 10, "  ", "watercolor").prompt == "a castle"


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
