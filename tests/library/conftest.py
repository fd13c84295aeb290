"""Fixtures for the library tests: a folder of albums to connect."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_photo


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "Pictures"
    write_photo(root / "Paris" / "eiffel.jpg", taken="2023:07:14 10:00:00", seed=1)
    write_photo(root / "Paris" / "louvre.jpg", taken="2023:07:15 10:00:00", seed=2)
    write_photo(root / "Family" / "xmas.jpg", taken="2022:12:24 18:00:00", seed=3)
    write_photo(root / "Private" / "secret.jpg", taken="2021:01:01 00:00:00", make="SecretCam", seed=4)
    write_photo(root / "loose.jpg", seed=5)
    return root
