"""Labeled image collections for evaluation and the supervised baseline.

A collection is a list of :class:`LabeledImage`: an image file and its true viewpoint in degrees. Sources are
named by a spec string: a ``labels.csv`` manifest (or a folder holding one), or ``<scheme>:<argument>`` for a
scheme registered in :data:`LABELED_SOURCES` (``synthetic:faces`` is built in).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from datamodules.datasets.preparation import labeled_source
from datamodules.images import build_transform, read_rgb

MANIFEST_NAME = "labels.csv"
MANIFEST_COLUMNS = ("path", "azimuth", "elevation", "tilt")
ANGLE_COLUMNS = MANIFEST_COLUMNS[1:]


class ManifestError(ValueError):
    """A labeled source is missing or malformed; the message names the file, column or row at fault."""


@dataclass(frozen=True)
class LabeledImage:
    """An image file and its true viewpoint, in degrees."""

    path: Path
    azimuth: float
    elevation: float
    tilt: float

    @property
    def angles(self) -> tuple[float, float, float]:
        return self.azimuth, self.elevation, self.tilt


def read_manifest(csv_path: str | Path) -> list[LabeledImage]:
    """Reads ``path,azimuth,elevation,tilt`` rows (degrees; paths relative to the CSV), checking every image exists."""
    csv_path = Path(csv_path)
    if not csv_path.is_file():
        raise ManifestError(f"{csv_path}: manifest not found")
    with csv_path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        _check_columns(csv_path, reader.fieldnames or [])
        # Line 1 is the header.
        items = [_parse_row(csv_path, line, row) for line, row in enumerate(reader, start=2)]
    if not items:
        raise ManifestError(f"{csv_path}: no rows after the header")
    return items


def _check_columns(csv_path: Path, header: list[str]) -> None:
    missing = [column for column in MANIFEST_COLUMNS if column not in header]
    if missing:
        raise ManifestError(
            f"{csv_path}: missing column(s) {', '.join(missing)} (header is '{','.join(header)}'; "
            f"expected {','.join(MANIFEST_COLUMNS)})"
        )


def _parse_row(csv_path: Path, line: int, row: dict[str, str | None]) -> LabeledImage:
    angles = [_parse_angle(csv_path, line, column, row[column]) for column in ANGLE_COLUMNS]
    if not row["path"]:
        raise ManifestError(f"{csv_path} line {line}: empty 'path'")
    path = csv_path.parent / row["path"]
    if not path.is_file():
        raise ManifestError(f"{csv_path} line {line}: image not found: {path}")
    return LabeledImage(path, *angles)


def _parse_angle(csv_path: Path, line: int, column: str, text: str | None) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = math.nan
    if not math.isfinite(value):
        raise ManifestError(f"{csv_path} line {line}: column '{column}' is not a finite number: {text!r}")
    return value


def read_synthetic_split(split: str, **render_settings) -> list[LabeledImage]:
    """A split ("train" or "test") of a rendered synthetic collection; renders it first if not cached.

    ``render_settings`` are the keyword arguments of ``ssv.synthetic.ensure_rendered``.
    """
    from ssv import synthetic  # the renderer is only needed for synthetic sources

    try:
        root = Path(synthetic.ensure_rendered(**render_settings))
    except ValueError as error:  # e.g. an unknown category
        raise ManifestError(f"synthetic collection: {error}") from None
    return read_manifest(root / split / MANIFEST_NAME)


def _read_synthetic_test_split(category: str, image_size: int) -> list[LabeledImage]:
    return read_synthetic_split("test", category=category, image_size=image_size)


LabeledSourceReader = Callable[[str, int], list[LabeledImage]]
"""Reads the source named by the argument after ``<scheme>:``; the int is the model's image size, which readers
of stored images may ignore."""

LABELED_SOURCES: dict[str, LabeledSourceReader] = {
    "synthetic": _read_synthetic_test_split,
    "300w-lp": labeled_source("300w-lp"),
    "aflw2000": labeled_source("aflw2000"),
    "biwi": labeled_source("biwi"),
    "biwi-axis-angle": labeled_source("biwi-axis-angle"),
    "pascal3d-car": labeled_source("pascal3d-car"),
    "pascal3d-bus": labeled_source("pascal3d-bus"),
    "pascal3d-train": labeled_source("pascal3d-train"),
}


def resolve_labeled_source(spec: str, image_size: int) -> list[LabeledImage]:
    """The labeled images a spec names: ``<scheme>:<argument>``, a ``labels.csv`` or a folder holding one."""
    scheme, separator, argument = spec.partition(":")
    if separator and scheme in LABELED_SOURCES:
        if not argument:
            raise ManifestError(f"data spec '{spec}': nothing after '{scheme}:'")
        return LABELED_SOURCES[scheme](argument, image_size)
    path = Path(spec)
    if path.is_dir():
        return read_manifest(path / MANIFEST_NAME)
    if path.suffix.lower() == ".csv":
        return read_manifest(path)
    schemes = ", ".join(f"{name}:<...>" for name in sorted(LABELED_SOURCES))
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
