"""Augmentations of the images V sees in training, drawn alike for real and generated images.

As a GAN's critic does under DiffAugment (Zhao et al., NeurIPS 2020), V then cannot tell fakes from real images
by what the augmentations vary, and it learns to read viewpoints from what they leave alone. Every augmentation
here keeps the viewpoint, is differentiable (S learns through it) and is one a user would keep for photographs.
They run in training only: evaluation and inference see the images as they are.
"""

from __future__ import annotations

import kornia.augmentation as K
import torch
from torch import nn

AUGMENTATIONS = {
    "color": lambda: K.ColorJiggle(brightness=0.2, contrast=0.2, saturation=0.2, p=1.0),
    "translation": lambda: K.RandomAffine(degrees=0.0, translate=(0.125, 0.125), padding_mode="reflection", p=1.0),
    # A square of a sixteenth to a quarter of the image, set to mid-grey.
    "cutout": lambda: K.RandomErasing(scale=(1 / 16, 1 / 4), ratio=(1.0, 1.0), value=0.5, p=1.0),
    # Light that falls off across the image from one edge (top, bottom, left or right), brightening or darkening
    # by up to a quarter of the range: a photograph's light does not turn with the object, so V should not read
    # the view from which side is brighter.
    "illumination": lambda: K.RandomLinearIllumination(gain=(0.05, 0.25), p=1.0),
}


class SharedAugmentation(nn.Module):
    """The named augmentations in order, on images in [-1, 1]; each image draws its own parameters."""

    def __init__(self, names: list[str]):
        super().__init__()
        self.steps = K.AugmentationSequential(*(AUGMENTATIONS[name]() for name in names))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        unit = (images + 1.0) / 2.0  # kornia's colour operations expect [0, 1]
        return self.steps(unit) * 2.0 - 1.0
