"""Inference fixtures: random images, an image folder, an exported ONNX model, a checkpoint copy to calibrate, labels
and a fresh-interpreter runner."""

import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from ssv.inference.export import export


@pytest.fixture(scope="session")
def onnx_model(ssv_checkpoint, tmp_path_factory) -> Path:
    return export(ssv_checkpoint, "onnx", tmp_path_factory.mktemp("onnx") / "tiny.onnx")


def random_rgb(seed: int, height: int = 48, width: int = 40) -> np.ndarray:
    """A smooth random RGB image, uint8 ``[H, W, 3]``."""
    rng = np.random.default_rng(seed)
    return cv2.resize(rng.integers(0, 256, (6, 5, 3), dtype=np.uint8), (width, height), interpolation=cv2.INTER_CUBIC)


def write_image(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture
def checkpoint(ssv_checkpoint, tmp_path):
    """A copy of the tiny SSV checkpoint in this test's folder, where its calibration will be written."""
    return shutil.copy(ssv_checkpoint, tmp_path / "last.ckpt")


@pytest.fixture
def labels(rendered_faces):
    """The labels.csv of the rendered faces' test split."""
    return rendered_faces / "test" / "labels.csv"


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """Three readable PNGs (one in a subfolder) and a corrupt JPEG."""
    folder = tmp_path / "photos"
    for index, name in enumerate(["a.png", "b.png", "sub/c.png"]):
        write_image(folder / name, random_rgb(index))
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    return folder


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


@pytest.fixture
def run_python():
    """``run_python(code)``: runs ``code`` in a fresh interpreter (nothing imported yet), with this environment."""
    return _run_python


@pytest.fixture
def rgb_image():
    """``rgb_image(seed, height=48, width=40)``: a smooth random uint8 RGB image."""
    return random_rgb
