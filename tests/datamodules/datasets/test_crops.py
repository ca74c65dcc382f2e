import numpy as np
import pytest

from datamodules.datasets.crops import crop_square, square_around, whole_image
from datamodules.datasets.face_detector import FaceDetector
from datamodules.datasets.records import BadItem


def test_square_around_centres_and_enlarges_the_longer_side():
    assert square_around((10, 20, 50, 40), margin=0.5) == (0.0, 0.0, 60.0, 60.0)
    with pytest.raises(BadItem, match="empty box"):
        square_around((10, 20, 10, 40), margin=0.1)


def test_crop_inside_the_image_keeps_its_pixels():
    image = np.arange(40 * 60 * 3, dtype=np.uint8).reshape(40, 60, 3)
    assert np.array_equal(crop_square(image, (10, 5, 30, 25), size=20), image[5:25, 10:30])


def test_crop_leaving_the_image_is_padded_black_and_stays_centred():
    image = np.full((40, 60, 3), 200, dtype=np.uint8)
    crop = crop_square(image, square_around(whole_image(image), 0.0), size=60)
    assert crop.shape == (60, 60, 3)
    assert np.all(crop[:10] == 0) and np.all(crop[50:] == 0) and np.all(crop[10:50] == 200)


def test_crop_outside_the_image_is_a_bad_item():
    with pytest.raises(BadItem, match="outside the image"):
        crop_square(np.zeros((10, 10, 3), np.uint8), (20, 20, 30, 30), size=8)


def test_detector_finds_nothing_in_noise():
    noise = np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    assert FaceDetector().detect(noise) is None
