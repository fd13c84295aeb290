"""Region masks for several people: who covers which part of the image, at every UNet level."""

from __future__ import annotations

import numpy as np
import pytest

from photogen.box import Box
from photogen.errors import PhotogenError
from photogen.generate.identity.regions import region_masks, side_by_side_boxes


@pytest.mark.parametrize("people", [1, 2, 3])
def test_side_by_side_strips_tile_the_image_on_the_coarse_grid(people: int) -> None:
    width, height, grid, vae = 512, 384, 64, 8
    boxes = side_by_side_boxes(people, width, height, grid)
    masks = region_masks(boxes, width, height, vae, grid)
    assert masks.shape == (people, 48, 64)
    assert np.array_equal(masks.sum(axis=0), np.ones((48, 64)))  # every position has exactly one person
    for i, box in enumerate(boxes):
        x0, _, x1, _ = box.corners()
        assert x0 % grid == 0 and x1 % grid == 0
        cols = np.flatnonzero(masks[i].max(axis=0))
        assert (cols.min(), cols.max() + 1) == (x0 // vae, x1 // vae)  # left to right, in order
    # pooled to the coarsest level (8 latent pixels a cell) each mask is still exactly 0 or 1
    coarse = masks.reshape(people, 6, 8, 8, 8).mean(axis=(2, 4))
    assert set(np.unique(coarse)) <= {0.0, 1.0}


def test_explicit_boxes_snap_and_overlaps_are_shared() -> None:
    masks = region_masks([Box.from_corners(0, 0, 40, 64), Box.from_corners(20, 0, 64, 64)], 64, 64, vae_scale=8, grid=16)
    # 40 -> 48 and 20 -> 16: the boxes overlap in x 16..48 (latent 2..6), where each gets half
    assert np.allclose(masks[0][:, :2], 1) and np.allclose(masks[0][:, 2:6], 0.5) and np.allclose(masks[0][:, 6:], 0)
    assert np.allclose(masks.sum(axis=0), 1)


def test_layout_errors() -> None:
    with pytest.raises(PhotogenError, match="do not fit side by side"):
        side_by_side_boxes(5, 64, 64, 16)
    with pytest.raises(PhotogenError, match="not inside"):
        region_masks([Box.from_corners(0, 0, 80, 64)], 64, 64, 8, 16)
