"""ViewpointEstimator: every input kind, singly and as a batch, the per-image rule, and a light import."""

import numpy as np
import pytest
import torch
from PIL import Image

from datamodules.images import build_transform
from ssv.evaluation.checkpoints import load_viewpoint_model
from ssv.inference import ImageInputError, ViewpointEstimator
from ssv.inference.images import preprocessing


@pytest.fixture(scope="module")
def estimator(ssv_checkpoint):
    return ViewpointEstimator.from_checkpoint(ssv_checkpoint)


def test_preprocessing_is_the_evaluation_transform(rgb_image):
    for shape in [(48, 40), (20, 70), (32, 32)]:
        image = rgb_image(1, *shape)
        expected = build_transform(32)(image=image)["image"]
        torch.testing.assert_close(preprocessing(32)(image=image)["image"], expected, rtol=0, atol=0)


def test_every_input_kind_gives_the_same_degrees(estimator, rgb_image, tmp_path):
    image = rgb_image(0)
    path = tmp_path / "image.png"
    Image.fromarray(image).save(path)
    chw = torch.from_numpy(image).permute(2, 0, 1)
    expected = estimator.predict(image)
    assert expected.shape == (3,)
    for single in [str(path), path, Image.fromarray(image), chw, chw.float() / 255]:
        np.testing.assert_allclose(estimator.predict(single), expected, atol=1e-9)
    for batch in [[path, image], np.stack([image, image]), torch.stack([chw, chw])]:
        np.testing.assert_allclose(estimator.predict(batch), np.stack([expected, expected]), atol=1e-4)


@pytest.mark.parametrize("kind", ["ssv_checkpoint", "supervised_checkpoint"])
def test_degrees_are_the_training_modules_radians(kind, request, rgb_image):
    path = request.getfixturevalue(kind)
    images = [rgb_image(seed, 32, 32) for seed in range(5)]
    module_input = torch.stack([build_transform(32)(image=image)["image"] for image in images])
    with torch.no_grad():
        expected = torch.rad2deg(load_viewpoint_model(path)(module_input)).double().numpy()
    np.testing.assert_allclose(ViewpointEstimator.from_checkpoint(path).predict(images), expected, atol=1e-4)


def test_a_prediction_does_not_depend_on_the_batch(ssv_checkpoint, rgb_image):
    images = [rgb_image(seed) for seed in range(7)]
    together = ViewpointEstimator.from_checkpoint(ssv_checkpoint, batch_size=7).predict(images)
    apart = ViewpointEstimator.from_checkpoint(ssv_checkpoint, batch_size=3).predict(images)
    np.testing.assert_allclose(together, apart, atol=1e-4)
    np.testing.assert_allclose(together[4], ViewpointEstimator.from_checkpoint(ssv_checkpoint).predict(images[4]),
                               atol=1e-4)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((8, 8, 3), dtype=np.float32), r"numpy images must be \[H, W, 3\] uint8"),
    (np.zeros((8, 8), dtype=np.uint8), r"numpy images must be \[H, W, 3\] uint8"),
    (torch.zeros(8, 8, 3), r"torch images must be \[3, H, W\]"),
    (torch.full((3, 8, 8), -0.5), r"float torch images must be in \[0, 1\]"),
    (42, "unsupported image type int"),
    ("absent.png", "absent.png: not a readable image"),
])
def test_bad_images_are_refused_with_a_reason(estimator, bad, message):
    with pytest.raises(ImageInputError, match=message):
        estimator.predict(bad)


def test_loading_imports_neither_wandb_nor_lightning_and_downloads_nothing(ssv_checkpoint, run_python):
    result = run_python(f"""
import socket, sys
def no_network(*args, **kwargs):
    raise AssertionError("network access attempted")
socket.socket.connect = no_network
socket.create_connection = no_network
from ssv.inference import ViewpointEstimator
estimator = ViewpointEstimator.from_checkpoint({str(ssv_checkpoint)!r})
estimator.predict(__import__("numpy").zeros((40, 40, 3), dtype="uint8"))
print(sorted(name for name in ("wandb", "pytorch_lightning", "lightning", "ssv.module", "ssv.train")
             if name in sys.modules))
""")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
