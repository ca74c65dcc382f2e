"""Preparation of a raw dataset into a training-ready folder, and of a folder into shards.

A prepared folder holds ``images/<name>.jpg`` (square crops at the training size), ``labels.csv`` for labeled sets
(the :mod:`datamodules.manifest`) and ``skipped.csv``, every item left out with its reason.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import random
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from datamodules.datasets import folders
from datamodules.datasets.crops import FACE_MARGIN, OBJECT_MARGIN, crop_square, square_around, whole_image
from datamodules.datasets.face_detector import FaceDetector
from datamodules.datasets.records import BadItem, Box, Sample, Scan
from datamodules.datasets.registry import dataset_spec
from datamodules.images import decode_rgb, read_rgb
from datamodules.manifest import MANIFEST_NAME, ManifestError, read_manifest, write_manifest
from datamodules.shards import INDEX_NAME, SAMPLES_PER_SHARD, ShardIndex, write_shards

logger = logging.getLogger(__name__)

IMAGES_DIR = "images"
SKIPPED_NAME = "skipped.csv"
CROP_EXTENSION = ".jpg"
JPEG_QUALITY = 95
FACE_BOXES = ("annotation", "detector")
PREPARED_CACHE = Path("data/prepared")


@dataclass
class Summary:
    """What one preparation kept and skipped."""

    destination: Path
    kept: int
    skipped: Counter

    def __str__(self) -> str:
        total = sum(self.skipped.values())
        reasons = ", ".join(f"{count} {reason}" for reason, count in self.skipped.most_common())
        skipped = f"skipped {total} ({reasons}), listed in {self.destination / SKIPPED_NAME}" if total else "skipped 0"
        return f"Prepared {self.destination}: kept {self.kept}, {skipped}"


def prepare(
    dataset: str,
    source: str | Path,
    destination: str | Path,
    *,
    image_size: int = 128,
    margin: float | None = None,
    face_box: str = "annotation",
    overwrite: bool = False,
    progress: bool = False,
    **scan_options,
) -> Summary:
    """Crops every sample of a raw dataset into ``destination``; bad items are logged, listed and counted.

    ``margin`` enlarges the square around each box (default: 0.3 for faces, 0.1 for objects). ``face_box``:
    ``annotation`` crops faces from the dataset's own boxes (landmarks, projected head centre) where it has them and
    detects them elsewhere; ``detector`` always detects. ``scan_options`` go to the reader (PASCAL3D+: ``split``,
    ``keep_hard``).
    """
    spec = dataset_spec(dataset)
    if face_box not in FACE_BOXES:
        raise ValueError(f"face_box must be one of {', '.join(FACE_BOXES)}, not {face_box!r}")
    destination = Path(destination)
    _check_destination(destination, overwrite)
    scan = spec.scan(source, **scan_options)
    if not scan.samples:
        skipped = f" ({len(scan.skipped)} skipped, e.g. {scan.skipped[0].item}: {scan.skipped[0].reason})" \
            if scan.skipped else ""
        raise ValueError(f"{source}: no {dataset} images found{skipped}; is it the raw dataset's folder?")
    _clear_destination(destination)
    margin = (FACE_MARGIN if spec.faces else OBJECT_MARGIN) if margin is None else margin
    find_box = _face_box_finder(face_box) if spec.faces else _object_box
    labels = []
    names = set()
    for sample in tqdm(scan.samples, desc=f"Preparing {dataset}", unit="image", disable=not progress):
        try:
            if sample.name in names:
                raise BadItem("duplicate name", f"another image is also cropped to {sample.name}")
            path = _write_crop(sample, destination, find_box, margin, image_size)
        except BadItem as error:
            scan.skip(sample.image, error)
            continue
        names.add(sample.name)
        if spec.labeled:
            labels.append((path.relative_to(destination).as_posix(), *sample.view))
    _write_csv(destination / SKIPPED_NAME, ("item", "reason", "detail"),
               [(item.item, item.reason, item.detail) for item in scan.skipped])
    if spec.labeled:
        write_manifest(destination / MANIFEST_NAME, labels)
    return Summary(destination, len(names), scan.skipped_by_reason())


def shard_folder(
    source: str | Path,
    destination: str | Path,
    *,
    samples_per_shard: int = SAMPLES_PER_SHARD,
    seed: int = 0,
    overwrite: bool = False,
) -> tuple[ShardIndex, Scan]:
    """Writes every readable image under ``source``, shuffled, into shards; unreadable ones are logged and listed."""
    destination = Path(destination)
    _check_destination(destination, overwrite)
    scan = folders.scan(source)
    _clear_destination(destination)
    random.Random(seed).shuffle(scan.samples)
    index = write_shards(_readable_images(scan), destination, samples_per_shard)
    _write_csv(destination / SKIPPED_NAME, ("item", "reason", "detail"),
               [(item.item, item.reason, item.detail) for item in scan.skipped])
    return index, scan


def labeled_source(dataset: str, cache_dir: str | Path = PREPARED_CACHE) -> Callable[[str, int], list]:
    """A reader for ``datamodules.labeled.DATASET_SOURCES``: ``<dataset>:<raw folder>`` is prepared once, at the
    model's image size, into ``cache_dir``, then read from its ``labels.csv``."""
    dataset_spec(dataset)

    def read(source: str, image_size: int) -> list:
        folder = prepared_folder(dataset, source, image_size, cache_dir)
        if not (folder / MANIFEST_NAME).is_file():
            logger.info("Preparing %s from %s into %s", dataset, source, folder)
            try:
                logger.info("%s", prepare(dataset, source, folder, image_size=image_size, overwrite=True))
            except (FileNotFoundError, ValueError) as error:
                raise ManifestError(f"{dataset}:{source}: {error}") from None
        return read_manifest(folder / MANIFEST_NAME)

    return read


def prepared_folder(dataset: str, source: str | Path, image_size: int, cache_dir: str | Path) -> Path:
    """Where :func:`labeled_source` keeps a prepared dataset: one folder per dataset, source folder and size."""
    source_id = hashlib.sha1(str(Path(source).resolve()).encode()).hexdigest()[:8]
    return Path(cache_dir).resolve() / f"{dataset}-{image_size}px-{source_id}"


def _check_destination(destination: Path, overwrite: bool) -> None:
    if not overwrite and destination.is_dir() and any(destination.iterdir()):
        raise FileExistsError(f"{destination} is not empty: choose an empty folder or overwrite it")


def _clear_destination(destination: Path) -> None:
    """Creates ``destination``, removing what an earlier preparation or shard conversion wrote there."""
    shutil.rmtree(destination / IMAGES_DIR, ignore_errors=True)
    for name in (MANIFEST_NAME, SKIPPED_NAME, INDEX_NAME, *(path.name for path in destination.glob("shard-*.tar"))):
        (destination / name).unlink(missing_ok=True)
    destination.mkdir(parents=True, exist_ok=True)


def _face_box_finder(face_box: str) -> Callable[[Sample, np.ndarray], Box]:
    detector = FaceDetector()

    def find(sample: Sample, image: np.ndarray) -> Box:
        if face_box == "annotation" and sample.box is not None:
            return sample.box
        box = detector.detect(image)
        if box is None:
            raise BadItem("no face found")
        return box

    return find


def _object_box(sample: Sample, image: np.ndarray) -> Box:
    return whole_image(image) if sample.box is None else sample.box


def _write_crop(sample: Sample, destination: Path, find_box, margin: float, image_size: int) -> Path:
    image = read_rgb(sample.image)
    if image is None:
        raise BadItem("unreadable image", "missing, truncated or not an image")
    crop = crop_square(image, square_around(find_box(sample, image), margin), image_size)
    path = destination / IMAGES_DIR / f"{sample.name}{CROP_EXTENSION}"
    path.parent.mkdir(parents=True, exist_ok=True)
    encoded = cv2.imencode(CROP_EXTENSION, cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])[1]
    path.write_bytes(encoded.tobytes())
    return path


def _readable_images(scan: Scan) -> Iterator[tuple[str, bytes]]:
    for sample in scan.samples:
        try:
            data = sample.image.read_bytes()
        except OSError as error:
            scan.skip(sample.image, BadItem("unreadable image", str(error)))
            continue
        if decode_rgb(data) is None:
            scan.skip(sample.image, BadItem("unreadable image", "truncated or not an image"))
            continue
        yield sample.image.suffix.lower().lstrip("."), data


def _write_csv(path: Path, header: tuple[str, ...], rows: list[tuple]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
