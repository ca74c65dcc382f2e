import math

from ssv.synthetic import buses


def test_a_bus_is_taller_than_wide_and_more_than_twice_as_long(silhouette):
    width, height = silhouette(buses.CATEGORY, 0.0)
    length, side_height = silhouette(buses.CATEGORY, math.pi / 2)
    assert (height > width).all()
    assert (length > 2.3 * width).all()
    assert (side_height == height).all()
