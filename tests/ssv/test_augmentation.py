import pytest
import torch

from ssv.augmentation import AUGMENTATIONS, SharedAugmentation
from ssv.choices import SHARED_AUGMENTATIONS


def test_every_configurable_augmentation_is_built():
    assert tuple(AUGMENTATIONS) == SHARED_AUGMENTATIONS


@pytest.mark.parametrize("name", SHARED_AUGMENTATIONS)
def test_each_augmentation_changes_images_one_by_one_and_passes_gradients(name):
    torch.manual_seed(0)
    images = (torch.rand(1, 3, 32, 32) * 2 - 1).repeat(4, 1, 1, 1).requires_grad_()
    augmented = SharedAugmentation([name])(images)
    assert augmented.shape == images.shape
    assert augmented.min() >= -1.0 - 1e-5 and augmented.max() <= 1.0 + 1e-5
    assert not torch.allclose(augmented[0], augmented[1]), "every image draws its own parameters"
    assert not torch.allclose(augmented, images)
    augmented.square().sum().backward()
    assert images.grad.abs().sum() > 0


def test_the_augmentation_has_no_state_in_checkpoints():
    assert SharedAugmentation(list(SHARED_AUGMENTATIONS)).state_dict() == {}


def test_illumination_falls_off_across_the_image_from_one_edge():
    torch.manual_seed(0)
    grey = torch.zeros(16, 3, 32, 32)
    change = SharedAugmentation(["illumination"])(grey) - grey
    for image in change[:, 0]:
        along_rows, along_columns = image.diff(dim=0).abs().amax(), image.diff(dim=1).abs().amax()
        assert min(along_rows, along_columns) < 1e-6 < max(along_rows, along_columns), "a ramp along one axis"
        assert 0.1 - 1e-6 <= image.abs().amax() <= 0.5 + 1e-6, "up to a quarter of [0, 1], in [-1, 1] units"
