import math

from ssv.synthetic import cars


def test_a_car_is_low_and_twice_as_long_as_wide(silhouette):
    width, height = silhouette(cars.CATEGORY, 0.0)
    length, side_height = silhouette(cars.CATEGORY, math.pi / 2)
    assert (height < width).all()
    assert (length >= 2 * width).all()
    assert (side_height == height).all()
