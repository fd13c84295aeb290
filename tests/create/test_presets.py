from __future__ import annotations

import json

import pytest

from photogen.create.presets import (
    SPEED_PRESETS,
    STYLE_PRESETS,
    build_prompt,
    get_speed_preset,
    get_style_preset,
    list_speed_presets,
    list_style_presets,
)
from photogen.errors import PhotogenError


def test_presets_are_plain_data() -> None:
    names = {p["name"] for p in json.loads(json.dumps(list_style_presets()))}
    assert {"watercolor", "claymation", "oil-painting", "pencil-sketch", "anime", "3d-cartoon", "photographic"} <= names
    assert [p["label"] for p in list_speed_presets()] == ["Fast", "Balanced", "Quality"]


def test_speed_presets_grow_in_cost() -> None:
    steps = [p.steps for p in SPEED_PRESETS]
    sizes = [p.size for p in SPEED_PRESETS]
    assert steps == sorted(steps) and sizes == sorted(sizes)
    assert get_speed_preset("Quality").for_model_family("standard")[0] > get_speed_preset("Quality").for_model_family("fast")[0]


def test_build_prompt_appends_style_and_negative() -> None:
    prompt, negative = build_prompt("two people at the beach", "Watercolor")
    assert prompt.startswith("two people at the beach, ") and "watercolor" in prompt
    assert "photograph" in negative and "deformed" in negative


def test_unknown_preset_suggests() -> None:
    with pytest.raises(PhotogenError, match="watercolor"):
        get_style_preset("watercolour-ish")
    with pytest.raises(PhotogenError, match="Choose one of"):
        get_speed_preset("ludicrous")
    assert all(p.keywords for p in STYLE_PRESETS)
