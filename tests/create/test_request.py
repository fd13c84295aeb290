from __future__ import annotations

import pytest

from photogen.create.request import CreateRequest, build_request, choose_mode, more_like_this, refine_request
from photogen.errors import PhotogenError


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
    request = build_request(
        prompt="me at the beach", photo_ids=["3"], people=["Anna"], style="watercolor", template="card:birthday",
        mode="auto", speed="fast", seed=5.0, variants=2.0, best_of=None, title="Hi", message="", background="blur",
        formats=["png", "pdf"], ai_available=False,
    )
    assert request.mode == "instant" and request.photo_ids == [3] and request.people == ["Anna"]
    assert request.seed == 5 and request.variants == 2 and request.best_of is None
    assert request.template == "card:birthday" and request.message is None and request.formats == ("png", "pdf")


def test_more_like_this_and_refine_keep_what_they_should() -> None:
    first = CreateRequest(mode="text", prompt="a castle", style="anime", seed=10, variants=4, best_of=2)
    more = more_like_this(first)
    assert (more.seed, more.variants, more.prompt) == (14, 4, "a castle") and first.seed == 10
    refined = refine_request(first, 12, "a castle at night", None)
    assert (refined.seed, refined.variants, refined.best_of) == (12, 1, None)
    assert refined.prompt == "a castle at night" and refined.style == "anime"
    assert refine_request(first, 10, "  ", "watercolor").prompt == "a castle"
