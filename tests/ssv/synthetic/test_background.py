import torch

from ssv.synthetic.background import mirror_background, paint_background, sample_background
from ssv.synthetic.common import Sampler

SIZE = 24


def backgrounds(seed: int = 0):
    return sample_background(Sampler(3, torch.Generator().manual_seed(seed)))


def test_painted_backgrounds_are_colours_in_the_unit_range_and_differ_by_seed():
    painted = paint_background(backgrounds(), SIZE)
    assert painted.shape == (3, 3, SIZE * SIZE)
    assert ((painted >= 0) & (painted <= 1)).all()
    assert not torch.allclose(painted, paint_background(backgrounds(seed=1), SIZE))


def test_the_mirrored_background_paints_the_flipped_image():
    params = backgrounds()
    mirrored = paint_background(mirror_background(params), SIZE).view(3, 3, SIZE, SIZE)
    original = paint_background(params, SIZE).view(3, 3, SIZE, SIZE)
    torch.testing.assert_close(mirrored, original.flip(-1))
    assert not torch.allclose(mirrored, original)
