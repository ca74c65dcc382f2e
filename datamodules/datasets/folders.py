"""Any folder of images (faces to detect, or object crops), unlabeled."""

from __future__ import annotations

from pathlib import Path

from datamodules.datasets.records import Sample, Scan
from datamodules.images import list_images


def scan(root: str | Path) -> Scan:
    """Every image under ``root`` (recursive), to be cropped by the face detector or kept whole."""
    root = Path(root)
    return Scan(samples=[Sample(path, path.relative_to(root).with_suffix("").as_posix()) for path in list_images(root)])
