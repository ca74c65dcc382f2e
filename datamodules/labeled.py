"""Labeled image collections for evaluation and the supervised baseline.

A collection is a list of :class:`~datamodules.manifest.LabeledImage`: an image file and its true viewpoint in
degrees. Sources are named by a spec string: a ``labels.csv`` manifest (or a folder holding one), or
``<scheme>:<argument>`` for a scheme of the ``sources`` given, by default every labeled dataset of
:data:`~datamodules.datasets.registry.DATASETS` (``biwi:<raw folder>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from datamodules.datasets.preparation import labeled_source
from datamodules.datasets.registry import DATASETS
from datamodules.images import build_transform, read_rgb
from datamodules.manifest import MANIFEST_NAME, LabeledImage, ManifestError, read_manifest

LabeledSourceReader = Callable[[str, int], list[LabeledImage]]
"""Reads the source named by the argument after ``<scheme>:``; the int is the model's image size, which readers
of stored images may ignore."""

DATASET_SOURCES: dict[str, LabeledSourceReader] = {
    name: labeled_source(name) for name, spec in DATASETS.items() if spec.labeled
}


def resolve_labeled_source(spec: str, image_size: int,
                           sources: Mapping[str, LabeledSourceReader] = DATASET_SOURCES) -> list[LabeledImage]:
    """The labeled images a spec names: ``<scheme>:<argument>`` for a scheme of ``sources``, a ``labels.csv`` or a
    folder holding one."""
    scheme, separator, argument = spec.partition(":")
    if separator and scheme in sources:
        if not argument:
            raise ManifestError(f"data spec '{spec}': nothing after '{scheme}:'")
        return sources[scheme](argument, image_size)
    path = Path(spec)
    if path.is_dir():
        return read_manifest(path / MANIFEST_NAME)
    if path.suffix.lower() == ".csv":
        return read_manifest(path)
    schemes = ", ".join(f"{name}:<...>" for name in sorted(sources))
    raise ManifestError(f"data spec '{spec}' is neither a .csv manifest, a folder with {MANIFEST_NAME}, nor {schemes}")


class LabeledImageDataset(Dataset):
    """``{"image": [3, S, S] in [-1, 1], "angles": [3] degrees, "index": int}`` per labeled image."""

    def __init__(self, items: list[LabeledImage], image_size: int):
        self.items = list(items)
        self.transform = build_transform(image_size)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        item = self.items[index]
        image = read_rgb(item.path)
        if image is None:
            raise ManifestError(f"{item.path}: not a readable image")
        return {
            "image": self.transform(image=image)["image"],
            "angles": torch.tensor(item.angles, dtype=torch.float32),
            "index": index,
        }


class LabeledImageDataModule(pl.LightningDataModule):
    """Labeled images for supervised training (shuffled, full batches) and for testing (in order, every image)."""

    def __init__(
        self,
        items: list[LabeledImage],
        *,
        image_size: int = 128,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
    ):
        super().__init__()
        self.items = list(items)
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.dataset: LabeledImageDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.dataset is None:
            self.dataset = LabeledImageDataset(self.items, self.image_size)

    def train_dataloader(self) -> DataLoader:
        if len(self.items) < self.batch_size:
            raise ValueError(
                f"{len(self.items)} labeled images are fewer than batch_size={self.batch_size}: "
                "no full training batch can be formed"
            )
        return self._loader(shuffle=True, drop_last=True)

    def test_dataloader(self) -> DataLoader:
        return self._loader(shuffle=False, drop_last=False)

    def _loader(self, shuffle: bool, drop_last: bool) -> DataLoader:
        if self.dataset is None:
            raise RuntimeError("LabeledImageDataModule.setup() must be called first")
        return DataLoader(
            self.dataset,
            batch_size=self.batch_size,
            shuffle=shuffle,
            drop_last=drop_last,
            generator=torch.Generator().manual_seed(self.seed) if shuffle else None,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
        )
