from __future__ import annotations

import pytest

from photogen.errors import PhotogenError
from photogen.generate.catalog import CATALOG, DEFAULT_MODEL_ID, get_model_spec


def test_default_family_is_few_step() -> None:
    assert get_model_spec(DEFAULT_MODEL_ID).default_steps <= 4
    real = [s for s in CATALOG if s.kind != "test"]
    assert {s.kind for s in real} == {"lcm", "turbo", "lcm-lora"}
    for spec in real:
        assert spec.hf_repo and spec.revision and spec.license.url and spec.download_bytes > 0
        assert 1 <= spec.default_steps <= 4


def test_identity_adapters_fit_sd15_only() -> None:
    for spec in CATALOG:
        assert bool(spec.identity_adapters) == (spec.base == "sd15")


def test_unknown_model_lists_known_ones() -> None:
    with pytest.raises(PhotogenError, match="sd-turbo"):
        get_model_spec("sd-xxl")
