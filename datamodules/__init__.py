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
from datamodules.labeled import (  # noqa: E402
    LABELED_SOURCES,
    LabeledImage,
    LabeledImageDataModule,
    LabeledImageDataset,
    ManifestError,
    read_manifest,
    read_synthetic_split,
    resolve_labeled_source,
)

__all__ = [
    "IMAGE_EXTENSIONS",
    "LABELED_SOURCES",
    "LabeledImage",
    "LabeledImageDataModule",
    "LabeledImageDataset",
    "ManifestError",
    "UnlabeledImageDataModule",
    "UnlabeledImageDataset",
    "build_transform",
    "collate_skipping_corrupt",
    "list_images",
    "read_manifest",
    "read_synthetic_split",
    "resolve_labeled_source",
]
