"""The one box type every stage uses: a face, a subject or a region of an image, in pixels.

A `Box` is stored as x, y, width, height (how faces are detected, stored and shown) and converts to
the corner form x0, y0, x1, y1 (how masks and crops are cut) with `corners()` and `Box.from_corners`.
It is a named tuple, so `x, y, w, h = box` and rows read from the catalog keep working.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple


class Box(NamedTuple):
    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_corners(cls, x0: float, y0: float, x1: float, y1: float) -> Box:
        return cls(x0, y0, x1 - x0, y1 - y0)

    @classmethod
    def of(cls, values: Sequence[float]) -> Box:
        """A box from any x, y, w, h sequence (a catalog row, a numpy array, a tuple)."""
        x, y, w, h = (float(v) for v in values)
        return cls(x, y, w, h)

    @property
    def x1(self) -> float:
        return self.x + self.w

    @property
    def y1(self) -> float:
        return self.y + self.h

    @property
    def area(self) -> float:
        return max(0.0, self.w) * max(0.0, self.h)

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def corners(self) -> tuple[float, float, float, float]:
        return self.x, self.y, self.x1, self.y1

    def int_corners(self) -> tuple[int, int, int, int]:
        """Corners rounded to whole pixels (x0, y0 down, x1, y1 up), for slicing an image."""
        import math

        return math.floor(self.x), math.floor(self.y), math.ceil(self.x1), math.ceil(self.y1)

    def rounded(self) -> Box:
        """The same box with whole-pixel values (x, y, w, h each truncated, as `int()` does)."""
        return Box(int(self.x), int(self.y), int(self.w), int(self.h))

    def scaled(self, src: tuple[int, int], dst: tuple[int, int]) -> Box:
        """This box in an image of size `src` (width, height), moved to the same place in one of size `dst`."""
        sx, sy = dst[0] / max(1, src[0]), dst[1] / max(1, src[1])
        return Box(self.x * sx, self.y * sy, self.w * sx, self.h * sy)

    def clipped(self, width: int, height: int) -> Box:
        """The part of this box inside a `width` x `height` image (empty boxes have zero size)."""
        x0, y0 = min(max(self.x, 0.0), width), min(max(self.y, 0.0), height)
        x1, y1 = min(max(self.x1, 0.0), width), min(max(self.y1, 0.0), height)
        return Box.from_corners(x0, y0, max(x0, x1), max(y0, y1))

    def iou(self, other: Box) -> float:
        iw = max(0.0, min(self.x1, other.x1) - max(self.x, other.x))
        ih = max(0.0, min(self.y1, other.y1) - max(self.y, other.y))
        inter = iw * ih
        union = self.area + other.area - inter
        return inter / union if union else 0.0

    @staticmethod
    def union(boxes: Iterable[Box]) -> Box | None:
        """The smallest box holding all of `boxes`, or None when there are none."""
        boxes = list(boxes)
        if not boxes:
            return None
        return Box.from_corners(
            min(b.x for b in boxes), min(b.y for b in boxes), max(b.x1 for b in boxes), max(b.y1 for b in boxes)
        )
