import numpy as np
import pytest
import torch
from PIL import Image

from ssv.inference.images import ImageInputError, as_image_list, preprocessing, read_rgb, to_model_input, to_rgb_array


def test_every_input_kind_becomes_the_same_rgb_array(rgb_image, tmp_path):
    image = rgb_image(0)
    Image.fromarray(image).save(tmp_path / "image.png")
    chw = torch.from_numpy(image).permute(2, 0, 1)
    for single in [tmp_path / "image.png", str(tmp_path / "image.png"), Image.fromarray(image), image, chw,
                   chw.float() / 255]:
        assert np.array_equal(to_rgb_array(single), image)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((4, 4), np.uint8), r"numpy images must be \[H, W, 3\] uint8"),
    (torch.zeros(4, 4, 3), r"torch images must be \[3, H, W\]"),
    (torch.full((3, 4, 4), 2.0), r"must be in \[0, 1\]"),
    (torch.zeros(3, 4, 4, dtype=torch.int32), "must be uint8 or float"),
    (3, "unsupported image type int"),
    ("missing.png", "missing.png: not a readable image"),
])
def test_unusable_images_are_refused_saying_why(bad, message):
    with pytest.raises(ImageInputError, match=message):
        to_rgb_array(bad)


def test_a_batch_is_recognised_and_a_single_image_is_not(rgb_image):
    image = rgb_image(0)
    assert as_image_list([image, image])[1] and as_image_list(np.stack([image, image]))[1]
    images, is_batch = as_image_list(image)
    assert len(images) == 1 and not is_batch


def test_read_rgb_gives_none_for_a_file_that_is_not_an_image(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    assert read_rgb(tmp_path / "broken.jpg") is None and read_rgb(tmp_path / "missing.png") is None


def test_model_input_is_square_in_minus_one_to_one(rgb_image):
    batch = to_model_input([rgb_image(0, 48, 40), rgb_image(1, 20, 70)], preprocessing(16))
    assert batch.shape == (2, 3, 16, 16) and batch.min() >= -1 and batch.max() <= 1
