import pytest

from photogen.box import Box


def test_corner_form_round_trips():
    box = Box.from_corners(10, 20, 40, 80)
    assert box == (10, 20, 30, 60)
    assert box.corners() == (10, 20, 40, 80)
    x, y, w, h = box
    assert (x, y, w, h) == (10, 20, 30, 60)


def test_int_corners_cover_fractional_boxes():
    assert Box(1.5, 2.2, 3.0, 4.0).int_corners() == (1, 2, 5, 7)
    assert Box(1.9, 2.9, 3.9, 4.9).rounded() == (1, 2, 3, 4)


def test_scaled_moves_to_the_same_place_in_another_size():
    assert Box(10, 20, 30, 40).scaled((100, 200), (200, 100)) == (20, 10, 60, 20)


def test_clipped_keeps_the_part_inside_and_empties_the_rest():
    assert Box(-10, -5, 30, 20).clipped(100, 100) == (0, 0, 20, 15)
    outside = Box(150, 150, 10, 10).clipped(100, 100)
    assert outside.area == 0


def test_iou_and_union():
    a, b = Box(0, 0, 10, 10), Box(5, 0, 10, 10)
    assert a.iou(b) == pytest.approx(50 / 150)
    assert a.iou(Box(20, 20, 5, 5)) == 0
    assert Box.union([a, b]) == (0, 0, 15, 10)
    assert Box.union([]) is None


def test_of_reads_any_sequence():
    import numpy as np

    box = Box.of(np.array([1, 2, 3, 4], dtype=np.float32))
    assert box == (1.0, 2.0, 3.0, 4.0) and all(type(v) is float for v in box)
