"""Which identity adapters fit which base models, and the error when one does not."""

from __future__ import annotations

import pytest

from photogen.errors import PhotogenError
from photogen.generate.catalog import CATALOG, get_model_spec, imported_spec
from photogen.generate.identity.adapters import ADAPTERS, adapters_for, check_adapter_fits, get_adapter_spec


def test_sd15_models_fit_both_published_adapters_and_turbo_none() -> None:
    for spec in CATALOG:
        fitting = {a.id for a in adapters_for(spec)}
        if spec.base == "sd15":
            assert fitting == {"ip-adapter-faceid", "ip-adapter-plus-face"}
        elif spec.kind == "test":
            assert fitting == {"tiny-faceid", "tiny-plus-face"}
        else:
            assert fitting == set()
    assert {a.id for a in adapters_for(imported_spec("mine", base="sd15"))} == {
        "ip-adapter-faceid",
        "ip-adapter-plus-face",
    }


def test_adapter_that_does_not_fit_is_a_clear_error() -> None:
    with pytest.raises(PhotogenError, match="does not fit the model 'sd-turbo'.*1024-d"):
        check_adapter_fits(get_model_spec("sd-turbo"), get_adapter_spec("ip-adapter-faceid"))
    with pytest.raises(PhotogenError, match="does not fit the model 'tiny-test'.*sd15"):
        check_adapter_fits(get_model_spec("tiny-test"), get_adapter_spec("ip-adapter-plus-face"))
    with pytest.raises(PhotogenError, match="Unknown identity adapter.*ip-adapter-faceid"):
        get_adapter_spec("instantid")


def test_only_the_noncommercial_adapter_needs_opt_in() -> None:
    published = [a for a in ADAPTERS if not a.test_model]
    assert {a.id for a in published if a.needs_license_acceptance} == {"ip-adapter-faceid"}
    for a in published:
        assert a.hf_repo and a.weight_name and a.license.url
    faceid = get_adapter_spec("ip-adapter-faceid")
    assert "non-commercial" in faceid.license.summary.lower() and faceid.face_backend == "insightface-buffalo_l"
