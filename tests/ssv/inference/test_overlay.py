"""Overlays: the axes follow the rendering convention (x right, y down; tilt turns them in the image)."""

import numpy as np

from ssv.inference.overlay import AXIS_COLOURS, axis_tips, draw_viewpoint


def test_the_front_view_draws_x_right_and_y_down_and_tilt_turns_them():
    centre = np.array([50.0, 50.0])
    np.testing.assert_allclose(axis_tips(np.zeros(3), centre, 10.0), [[60, 50], [50, 60], [50, 50]], atol=1e-9)
    np.testing.assert_allclose(axis_tips(np.array([0.0, 0.0, 90.0]), centre, 10.0)[:2], [[50, 40], [60, 50]],
                               atol=1e-9)


def test_a_box_gets_its_own_axes_at_its_centre():
    image = np.zeros((100, 120, 3), np.uint8)
    draw_viewpoint(image, np.zeros(3), box=(60.0, 40.0, 100.0, 80.0))
    assert tuple(image[60, 90]) == AXIS_COLOURS[0]  # on the x axis, right of the box centre (80, 60)
    assert not image[:, :50].any()  # nothing left of the box but its label above it
