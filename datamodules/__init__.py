"""LightningDataModules for SSV."""

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from datamodules.images import (  # noqa: E402
    IMAGE_EXTENSIONS,
    UnlabeledImageDataModule,
    UnlabeledImageDataset,
    build_transform,
    collate_skipping_corrupt,
    list_images,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "UnlabeledImageDataModule",
    "UnlabeledImageDataset",
    "build_transform",
    "collate_skipping_corrupt",
    "list_images",
]
