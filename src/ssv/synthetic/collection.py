"""Cached synthetic image collections on disk: ``<cache_dir>/<category>-<hash>/{train,test}``, each split a folder
of images and its ``labels.csv`` manifest (:mod:`datamodules.manifest`)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from PIL import Image
from tqdm import tqdm

from datamodules.manifest import MANIFEST_NAME, LabeledImage, ManifestError, read_manifest, write_manifest
from ssv.synthetic.render import get_category, render_batch, sample_styles
from ssv.viewpoint import sample_views

# Part of the settings hash: bump it whenever the renderer's output changes, so stale caches are not reused.
RENDERER_VERSION = 1
COMPLETE_MARKER = "COMPLETE"
SETTINGS_FILE = "settings.json"
_BATCH = 16
# Fast PNG settings: zlib level 1 with run-length matching. Level 0 would store raw pixels (3.5x larger).
_PNG_OPTIONS = {"compress_level": 1, "compress_type": zlib.Z_RLE}
_WORKERS = min(32, os.cpu_count() or 1)


def _validated_settings(category: str, num_train: int, num_test: int, image_size: int, seed: int,
                        ranges: tuple[float, float, float] | None) -> dict:
    spec = get_category(category)
    if num_train < 1 or num_test < 0:
        raise ValueError(f"need num_train >= 1 and num_test >= 0, got {num_train} and {num_test}")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8, got {image_size}")
    ranges = tuple(float(r) for r in (spec.ranges if ranges is None else ranges))
    if len(ranges) != 3 or not all(math.isfinite(r) and r >= 0 for r in ranges):
        raise ValueError(f"ranges must be three finite half-widths >= 0 (radians), got {ranges}")
    return {"category": category, "num_train": int(num_train), "num_test": int(num_test),
            "image_size": int(image_size), "seed": int(seed), "ranges": list(ranges),
            "renderer_version": RENDERER_VERSION}


def _digest(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]


def _split_seed(seed: int, split: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}/{split}".encode()).digest()[:8], "little")


def _render_split(settings: dict, split: str, count: int, directory: Path, progress: bool) -> None:
    """Renders one split into ``directory``: ``images/NNNNNN.png`` and ``labels.csv`` (degrees)."""
    category, image_size = settings["category"], settings["image_size"]
    generator = torch.Generator().manual_seed(_split_seed(settings["seed"], split))
    views = sample_views(count, settings["ranges"], generator)
    styles = sample_styles(category, count, generator)
    (directory / "images").mkdir(parents=True)
    paths = [f"images/{index:06d}.png" for index in range(count)]

    def render_and_save(start: int) -> int:
        stop = min(start + _BATCH, count)
        images = render_batch(category, views[start:stop], styles[start:stop], image_size).images.numpy()
        for path, image in zip(paths[start:stop], images):
            Image.fromarray(image).save(directory / path, **_PNG_OPTIONS)
        return stop - start

    # Threads that each run single-threaded torch: robust on busy machines, and PNG encoding overlaps.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(max_workers=_WORKERS) as pool, \
                tqdm(total=count, desc=f"{category} {split}", unit="img", disable=not progress) as bar:
            for done in pool.map(render_and_save, range(0, count, _BATCH)):
                bar.update(done)
    finally:
        torch.set_num_threads(threads)

    degrees = torch.rad2deg(views).tolist()
    write_manifest(directory / MANIFEST_NAME, [(path, *row) for path, row in zip(paths, degrees)], decimals=6)


def ensure_rendered(
    category: str,
    *,
    cache_dir: str | Path = "data/synthetic",
    num_train: int = 20000,
    num_test: int = 2000,
    image_size: int = 128,
    seed: int = 0,
    ranges: tuple[float, float, float] | None = None,
    progress: bool = True,
) -> Path:
    """Renders the collection once and returns its directory; later calls with equal settings reuse it.

    ``ranges`` are per-angle half-widths in radians (category default when None).
    """
    settings = _validated_settings(category, num_train, num_test, image_size, seed, ranges)
    cache_dir = Path(cache_dir)
    target = cache_dir / f"{category}-{_digest(settings)}"
    if (target / COMPLETE_MARKER).exists():
        return target

    partial = cache_dir / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    try:
        for split, count in (("train", num_train), ("test", num_test)):
            _render_split(settings, split, count, partial / split, progress)
        (partial / SETTINGS_FILE).write_text(json.dumps(settings, indent=2) + "\n")
        (partial / COMPLETE_MARKER).touch()  # last: a collection with the marker is complete
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    _publish(partial, target)
    total = num_train + num_test
    print(f"rendered {total} {category} images at {image_size} px in {seconds:.1f} s "
          f"({total / seconds:.0f} images/s) into {target}")
    return target


def _publish(partial: Path, target: Path) -> None:
    """Moves a finished collection into place with one rename; another process may have got there first."""
    try:
        partial.rename(target)  # fails if the target exists and is not empty
    except OSError:
        if (target / COMPLETE_MARKER).exists():
            shutil.rmtree(partial)
            return
        shutil.rmtree(target)  # the leftover of an interrupted run
        partial.rename(target)


def train_images(**settings) -> Path:
    """The train split's image folder, rendered first if not cached: training reads the images, never the labels.

    ``settings`` are the arguments of :func:`ensure_rendered`.
    """
    return ensure_rendered(**settings) / "train" / "images"


def read_split(split: str, **settings) -> list[LabeledImage]:
    """A split ("train" or "test") as labeled images, rendered first if not cached; ``settings`` as for
    :func:`ensure_rendered`, whose errors (e.g. an unknown category) become a :class:`ManifestError`."""
    try:
        root = ensure_rendered(**settings)
    except ValueError as error:
        raise ManifestError(f"synthetic collection: {error}") from None
    return read_manifest(root / split / MANIFEST_NAME)


def read_test_split(category: str, image_size: int) -> list[LabeledImage]:
    """The data spec ``synthetic:<category>``: the test split of the default collection at the model's size."""
    return read_split("test", category=category, image_size=image_size)
