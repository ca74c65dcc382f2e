"""Seeded random images with their mirrors, in the training batch format: for benchmarks and tests."""

from __future__ import annotations

import torch
from torch.utils.data import Dataset


class RandomMirrorPairs(Dataset):
    """``count`` images uniform in [-1, 1] of ``size`` px; item ``{"image", "mirror"}`` like the real loader."""

    def __init__(self, count: int, size: int, seed: int = 1):
        generator = torch.Generator().manual_seed(seed)
        self.images = torch.rand(count, 3, size, size, generator=generator) * 2 - 1

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"image": self.images[index], "mirror": self.images[index].flip(-1)}
