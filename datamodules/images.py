"""Unlabeled image collections for SSV: any folder tree of images, or a shard collection (``datamodules.shards``)
for collections too large to list on every rank; the folder may be made on first use (a rendered collection).

Each training sample is ``{"image": x, "mirror": flip(x)}`` in [-1, 1]; the horizontally mirrored copy feeds
the symmetry constraint. Augmentation is photometric only: a geometric one would change the viewpoint.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Callable, Iterator

import albumentations as A
import cv2
import numpy as np
import pytorch_lightning as pl
import torch
from albumentations.pytorch import ToTensorV2
from torch.utils.data import Dataset, default_collate, get_worker_info

from datamodules.datasets.folders import list_images
from datamodules.resumable import EpochSampler, ResumableFolderLoader
from datamodules.shards import ResumableShardLoader, ShardIndex, ShardStream, is_shard_collection

logger = logging.getLogger(__name__)

MAX_HUE_JITTER = 0.05
SKIPPED_NAMES_IN_SUMMARY = 5


class UnreadableImagesError(ValueError):
    """A whole epoch gave no readable image: training would loop over empty epochs forever."""


def count_images(root: str | Path) -> int:
    """Images of a folder tree or a shard collection under ``root``; a missing or empty one raises naming it."""
    return ShardIndex.load(root).total if is_shard_collection(root) else len(list_images(root))


def build_transform(image_size: int, color_jitter: float = 0.0) -> A.Compose:
    """Resize the shorter side to ``image_size``, center-crop, optionally jitter colours, map to [-1, 1]."""
    steps = [
        A.SmallestMaxSize(max_size=image_size, area_for_downscale="image"),
        A.CenterCrop(height=image_size, width=image_size),
    ]
    if color_jitter > 0:
        steps.append(
            A.ColorJitter(
                brightness=color_jitter,
                contrast=color_jitter,
                saturation=color_jitter,
                hue=min(color_jitter, MAX_HUE_JITTER),
                p=1.0,
            )
        )
    steps += [A.Normalize(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), max_pixel_value=255.0), ToTensorV2()]
    return A.Compose(steps)


def read_rgb(path: Path) -> np.ndarray | None:
    """Decode an image file as uint8 RGB (grayscale and alpha converted); None if corrupt or unreadable."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return decode_rgb(data)


def decode_rgb(data: bytes) -> np.ndarray | None:
    """Decode an encoded image as uint8 RGB; None if corrupt."""
    try:
        # Decoding from memory makes OpenCV reject a truncated JPEG; cv2.imread would pad it with grey rows.
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    return None if image is None else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def image_and_mirror(image: np.ndarray, transform) -> dict[str, torch.Tensor]:
    tensor = transform(image=image)["image"]
    return {"image": tensor, "mirror": torch.flip(tensor, dims=[-1])}


class UnlabeledImageDataset(Dataset):
    """Images and their horizontal mirrors; corrupt files yield None and are counted across processes."""

    def __init__(self, files: list[Path], transform, root: str | Path | None = None):
        self.files = list(files)
        self.transform = transform
        self.root = Path(root) if root is not None else self.files[0].parent if self.files else None
        # Shared memory so that flags set in DataLoader worker processes are visible to the main process.
        self._corrupt = torch.zeros(len(self.files), dtype=torch.bool).share_memory_()

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor] | None:
        path = self.files[index]
        image = read_rgb(path)
        if image is None:
            self._mark_corrupt(index)
            return None
        return image_and_mirror(image, self.transform)

    @property
    def skipped_files(self) -> int:
        """How many distinct files were found corrupt so far, in any process."""
        return int(self._corrupt.sum())

    @property
    def corrupt_files(self) -> list[Path]:
        """The files found corrupt so far, in any process."""
        return [self.files[index] for index in torch.nonzero(self._corrupt).flatten().tolist()]

    def skipped_summary(self) -> str:
        corrupt = self.corrupt_files
        names = ", ".join(str(path) for path in corrupt[:SKIPPED_NAMES_IN_SUMMARY])
        more = "" if len(corrupt) <= SKIPPED_NAMES_IN_SUMMARY else ", ..."
        return f"Skipped {len(corrupt)} of {len(self)} images as corrupt or unreadable: {names}{more}"

    def _mark_corrupt(self, index: int) -> None:
        if not self._corrupt[index]:
            logger.warning("Skipping corrupt or unreadable image %s", self.files[index])
            self._corrupt[index] = True


class ShardedImageDataset(ShardStream):
    """A rank's share of a shard collection as images and their mirrors; corrupt images yield None and are counted."""

    def __init__(self, root: str | Path, transform, batch_size: int, **stream_settings):
        super().__init__(root, batch_size, **stream_settings)
        self.transform = transform
        self._skipped = torch.zeros((), dtype=torch.long).share_memory_()

    def decode(self, key: str, data: bytes) -> dict[str, torch.Tensor] | None:
        image = decode_rgb(data)
        if image is None:
            logger.warning("Skipping corrupt image %s in the shards under %s", key, self.index.root)
            self._skipped += 1
            return None
        return image_and_mirror(image, self.transform)

    @property
    def skipped_files(self) -> int:
        """Corrupt images met so far, in any process."""
        return int(self._skipped)

    @property
    def root(self) -> Path:
        return self.index.root

    def skipped_summary(self) -> str:
        return f"Skipped {self.skipped_files} corrupt images in {self.root} so far"


def collate_skipping_corrupt(items: list[dict | None]) -> dict | None:
    """Default-collate the readable items; None when every item of the batch was corrupt."""
    readable = [item for item in items if item is not None]
    return default_collate(readable) if readable else None


def seed_worker_augmentations(worker_id: int) -> None:
    """``worker_init_fn``: reseed the worker's augmentations, numpy and random from torch's per-worker seed.

    Workers start from copies of one RNG state (albumentations keeps its own), so they would otherwise draw
    identical augmentations.
    """
    info = get_worker_info()
    seed = info.seed % 2**32
    np.random.seed(seed)
    random.seed(seed)
    info.dataset.transform.set_random_seed(seed)


def readable_batches(loader: ResumableFolderLoader | ResumableShardLoader, batches) -> Iterator[dict]:
    """The batches holding at least one readable image; a whole epoch without one raises
    :class:`UnreadableImagesError`, naming the folder and the count of unreadable files."""
    delivered = 0
    for batch in batches:
        if batch is not None:
            delivered += 1
            yield batch
    if not delivered and loader.epoch_start == 0:
        dataset = loader.dataset
        raise UnreadableImagesError(
            f"{dataset.root}: no image could be read in a whole epoch; {dataset.skipped_files} image files are "
            "unreadable (corrupt, empty or without read permission)"
        )


class CorruptSkippingDataLoader(ResumableFolderLoader):
    """A resumable folder loader that drops all-corrupt batches and stops when no file is readable."""

    def __iter__(self):
        yield from readable_batches(self, super().__iter__())


class CorruptSkippingShardLoader(ResumableShardLoader):
    """A resumable shard loader that drops all-corrupt batches and stops when no image is readable."""

    def __iter__(self):
        yield from readable_batches(self, super().__iter__())


class SkippedImagesReport(pl.Callback):
    """After each training epoch, logs ``data/skipped_images`` and warns when more files were found unreadable.

    A loader cannot report at its own end: Lightning stops reading after ``len(loader)`` batches.
    """

    def __init__(self):
        self._reported = 0

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        skipped = trainer.datamodule.skipped_files
        # Each DDP rank counts the files of its own share.
        pl_module.log("data/skipped_images", float(skipped), sync_dist=True, reduce_fx="sum")
        if skipped > self._reported:
            logger.warning("%s", trainer.datamodule.skipped_summary())
            self._reported = skipped


class UnlabeledImageDataModule(pl.LightningDataModule):
    """Trains on every image under ``root`` (a folder, or a shard collection: each DDP rank then streams its own
    part, and a resumed run continues with the next batch).

    Instead of ``root``, ``make_root`` makes the folder where needed and returns it (the method passes one that
    renders its synthetic collection). It runs in ``prepare_data``, once per node before any rank reads, then in
    every rank's ``setup``, where it must find the folder already made.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        make_root: Callable[[], Path] | None = None,
        image_size: int = 128,
        batch_size: int = 32,
        num_workers: int = 2,
        color_jitter: float = 0.0,
        seed: int = 0,
        drop_last: bool = True,
        pin_memory: bool = False,
    ):
        super().__init__()
        if (root is None) == (make_root is None):
            raise ValueError("Give exactly one of root (an image folder) or make_root (a function that makes one)")
        self.root = None if root is None else Path(root)
        self.make_root = make_root
        self.image_size = image_size
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.color_jitter = color_jitter
        self.seed = seed
        self.drop_last = drop_last
        self.pin_memory = pin_memory
        self.train_dataset: UnlabeledImageDataset | ShardedImageDataset | None = None

    def prepare_data(self) -> None:
        if self.make_root is not None:
            self.make_root()

    def setup(self, stage: str | None = None) -> None:
        if self.train_dataset is not None:
            return
        root = self.image_root()
        transform = build_transform(self.image_size, self.color_jitter)
        transform.set_random_seed(self.seed)
        if is_shard_collection(root):
            rank, world_size = self._rank_and_world_size()
            dataset = ShardedImageDataset(root, transform, self.batch_size, drop_last=self.drop_last, rank=rank,
                                          world_size=world_size, seed=self.seed)
            self._check_enough_images(root, len(dataset))
            self.train_dataset = dataset
            return
        files = list_images(root)
        self._check_enough_images(root, len(files))
        self.train_dataset = UnlabeledImageDataset(files, transform, root)

    def image_root(self) -> Path:
        """The folder the training images are read from."""
        return self.root if self.root is not None else Path(self.make_root())

    def train_dataloader(self) -> CorruptSkippingDataLoader | CorruptSkippingShardLoader:
        dataset = self._require_dataset()
        if isinstance(dataset, ShardedImageDataset):
            return CorruptSkippingShardLoader(
                dataset,
                num_workers=self.num_workers,
                persistent_workers=self.num_workers > 0,
                pin_memory=self.pin_memory,
                collate_fn=collate_skipping_corrupt,
                worker_init_fn=seed_worker_augmentations,
            )
        rank, world_size = self._rank_and_world_size()
        sampler = EpochSampler(len(dataset), self.batch_size, seed=self.seed, rank=rank, world_size=world_size)
        return CorruptSkippingDataLoader(
            dataset,
            sampler,
            drop_last=self.drop_last,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=self.pin_memory,
            collate_fn=collate_skipping_corrupt,
            worker_init_fn=seed_worker_augmentations,
        )

    @property
    def num_images(self) -> int:
        """Number of training images (corrupt ones included; all ranks' for shards); needs ``setup()``."""
        dataset = self._require_dataset()
        return dataset.index.total if isinstance(dataset, ShardedImageDataset) else len(dataset)

    @property
    def skipped_files(self) -> int:
        """Distinct corrupt files skipped so far, counted across all worker processes."""
        return 0 if self.train_dataset is None else self.train_dataset.skipped_files

    def skipped_summary(self) -> str:
        """Which files were skipped so far, out of how many."""
        return self._require_dataset().skipped_summary()

    def _rank_and_world_size(self) -> tuple[int, int]:
        if self.trainer is not None:
            return self.trainer.global_rank, self.trainer.world_size
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def _check_enough_images(self, root: Path, count: int) -> None:
        if self.drop_last and count < self.batch_size:
            raise ValueError(
                f"{root} holds {count} images (per rank for shards), fewer than batch_size={self.batch_size}: with "
                "drop_last=True no batch would be produced. Lower the batch size or add images."
            )

    def _require_dataset(self) -> UnlabeledImageDataset | ShardedImageDataset:
        if self.train_dataset is None:
            raise RuntimeError("UnlabeledImageDataModule.setup() must be called first")
        return self.train_dataset
