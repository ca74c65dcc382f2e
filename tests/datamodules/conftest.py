"""Labeled collections on disk for the data layer's tests."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HEADER = "path,azimuth,elevation,tilt"


def _write_png(path: Path, size: int = 20, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size + 4, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def _write_collection(root: Path, count: int = 6, header: str = HEADER) -> Path:
    lines = [header]
    for index in range(count):
        _write_png(root / "images" / f"{index}.png", seed=index)
        lines.append(f"images/{index}.png,{10.0 * index},{-2.5 * index},{index}")
    manifest = root / "labels.csv"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


@pytest.fixture
def write_png():
    """``write_png(path, size=20, seed=0)``: a random RGB PNG; returns its path."""
    return _write_png


@pytest.fixture
def write_collection():
    """``write_collection(root, count=6, header=HEADER)``: PNG images and their ``labels.csv``; returns the CSV."""
    return _write_collection
