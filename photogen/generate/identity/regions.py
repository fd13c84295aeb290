"""Where each person goes: region boxes and the latent-resolution masks the identity graph takes.

Several people in one image use regional attention masks (not one adapter pass per region): person i's
identity tokens are weighted by mask i in every adapted cross-attention layer, so one UNet pass serves
any number of people. The default layout puts people side by side in `--person` order, left to right,
in equal vertical strips. Strip edges snap to the UNet's coarsest grid (2**(levels-1) latent pixels),
so every layer's pooled mask is exactly 0 or 1: A's tokens reach no position of B's strip at any level.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from photogen.box import Box
from photogen.errors import PhotogenError


def side_by_side_boxes(people: int, width: int, height: int, grid: int) -> list[Box]:
    """`people` vertical strips covering the image (in its pixels), edges on multiples of `grid` pixels."""
    if people < 1:
        raise PhotogenError("Regions need at least one person.")
    cells = width // grid
    if cells < people:
        raise PhotogenError(
            f"{people} people do not fit side by side in an image {width} pixels wide: use a wider size "
            f"(at least {people * grid} pixels) or fewer people."
        )
    edges = [round(i * cells / people) * grid for i in range(people + 1)]
    return [Box.from_corners(edges[i], 0, edges[i + 1], height) for i in range(people)]


def region_masks(boxes: Sequence[Box], width: int, height: int, vae_scale: int, grid: int) -> np.ndarray:
    """(people, height / vae_scale, width / vae_scale) float32 masks of image-pixel boxes.

    Each box edge moves to the nearest line of the `grid` (a box smaller than one cell keeps one). Where
    boxes overlap, the overlap is split evenly between them, so masks sum to at most 1 per position
    and the identity attention's size does not grow with the number of people there.
    """
    lat_w, lat_h = width // vae_scale, height // vae_scale
    cell = grid // vae_scale
    masks = np.zeros((len(boxes), lat_h, lat_w), dtype=np.float32)
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = box.corners()
        if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
            raise PhotogenError(f"Region {i + 1} ({x0},{y0})-({x1},{y1}) is not inside the {width}x{height} image.")
        cx0, cx1 = _snap(x0, x1, grid)
        cy0, cy1 = _snap(y0, y1, grid)
        masks[i, cy0 * cell : cy1 * cell, cx0 * cell : cx1 * cell] = 1.0
    overlap = masks.sum(axis=0, keepdims=True)
    return np.where(overlap > 1, masks / np.maximum(overlap, 1), masks).astype(np.float32)


def _snap(lo: int, hi: int, grid: int) -> tuple[int, int]:
    # half-way rounds up (not to even), so a box edge moves the same way wherever it is
    a, b = math.floor(lo / grid + 0.5), math.floor(hi / grid + 0.5)
    return a, max(b, a + 1)

