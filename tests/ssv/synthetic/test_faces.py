import math

from ssv.synthetic import faces


def test_a_head_is_taller_than_wide_and_about_as_wide_in_profile(silhouette):
    width, height = silhouette(faces.CATEGORY, 0.0)
    profile_width, profile_height = silhouette(faces.CATEGORY, math.pi / 2)
    assert (height > 1.3 * width).all()
    assert (profile_height == height).all()
    assert ((profile_width - width).abs() <= 0.3 * width).all()
