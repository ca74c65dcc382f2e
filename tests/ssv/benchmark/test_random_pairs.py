"""RandomMirrorPairs: seeded images in [-1, 1], each with its horizontal mirror, as the training loader gives them."""

import torch

from ssv.benchmark.random_pairs import RandomMirrorPairs


def test_items_are_images_in_range_with_their_mirrors():
    pairs = RandomMirrorPairs(3, 8)
    assert len(pairs) == 3
    item = pairs[1]
    assert set(item) == {"image", "mirror"} and item["image"].shape == (3, 8, 8)
    assert item["image"].min() >= -1 and item["image"].max() <= 1
    assert torch.equal(item["mirror"], item["image"].flip(-1))


def test_the_seed_decides_the_images():
    assert torch.equal(RandomMirrorPairs(2, 4, seed=7).images, RandomMirrorPairs(2, 4, seed=7).images)
    assert not torch.equal(RandomMirrorPairs(2, 4, seed=7).images, RandomMirrorPairs(2, 4, seed=8).images)
