"""``ViewpointEstimator``: built once from a checkpoint or an exported ONNX file, then called on images.

    estimator = ViewpointEstimator.from_checkpoint("runs/faces/<run>/checkpoints/last.ckpt")
    angles = estimator.predict(["a.jpg", "b.jpg"])  # [2, 3]: azimuth, elevation, tilt in degrees

Every image is predicted on its own (V's per-image rule), so a result never depends on the rest of the batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ssv.inference.calibration import Calibration, calibration_path, load_calibration
from ssv.inference.checkpoint import load_viewpoint_network
from ssv.inference.images import as_image_list, preprocessing, to_model_input
from ssv.inference.onnx_model import OnnxViewpointModel
from ssv.networks import ViewpointNetwork

ONNX_SUFFIX = ".onnx"
DEFAULT_BATCH_SIZE = 32

AnglesOf = Callable[[torch.Tensor], torch.Tensor]
"""Images ``[B, 3, S, S]`` in [-1, 1] -> viewpoints ``[B, 3]`` in radians (azimuth, elevation, tilt)."""


class TorchViewpoints:
    """V and its readout of viewpoints, each image on its own, without gradients."""

    def __init__(self, network: ViewpointNetwork, device: str | torch.device = "cpu"):
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.network.read_views(images.to(self.device)).cpu()


class ViewpointEstimator:
    """Azimuth, elevation and tilt in degrees for images; in the labeled frame once a calibration is applied."""

    def __init__(self, angles_of: AnglesOf, *, image_size: int, fingerprint: str, source: Path,
                 batch_size: int = DEFAULT_BATCH_SIZE):
        self.angles_of = angles_of
        self.image_size = image_size
        self.fingerprint = fingerprint
        self.source = source
        self.batch_size = batch_size
        self.calibration: Calibration | None = None
        self.transform = preprocessing(image_size)

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str | torch.device = "cpu",
                        batch_size: int = DEFAULT_BATCH_SIZE) -> "ViewpointEstimator":
        """From a checkpoint of SSV or of the supervised baseline (V alone is built; nothing is downloaded)."""
        trained = load_viewpoint_network(path)
        return cls(TorchViewpoints(trained.network, device), image_size=trained.image_size,
                   fingerprint=trained.fingerprint, source=trained.source, batch_size=batch_size)

    @classmethod
    def from_onnx(cls, path: str | Path, batch_size: int = DEFAULT_BATCH_SIZE) -> "ViewpointEstimator":
        """From a file written by ``make export FORMAT=onnx``, run with ONNX Runtime (no Lightning, no torch model)."""
        model = OnnxViewpointModel(Path(path))
        return cls(model, image_size=model.image_size, fingerprint=model.fingerprint, source=model.path,
                   batch_size=batch_size)

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu",
             batch_size: int = DEFAULT_BATCH_SIZE) -> "ViewpointEstimator":
        """``from_onnx`` for ``.onnx`` files, ``from_checkpoint`` otherwise."""
        if Path(path).suffix.lower() == ONNX_SUFFIX:
            return cls.from_onnx(path, batch_size=batch_size)
        return cls.from_checkpoint(path, device=device, batch_size=batch_size)

    def use_calibration(self, path: str | Path | None = None) -> Calibration:
        """Maps later predictions to a labeled frame; default file: the one beside the model (make eval, calibrate).

        A calibration fitted for other weights is refused (CalibrationFileError).
        """
        calibration = load_calibration(path or calibration_path(self.source))
        calibration.check_model(self.fingerprint, self.source)
        self.calibration = calibration
        return calibration

    def predict(self, images) -> np.ndarray:
        """``[3]`` degrees for one image, ``[N, 3]`` for a batch (see ssv.inference.images for accepted types)."""
        items, is_batch = as_image_list(images)
        angles = np.concatenate([
            self.predict_batch(to_model_input(items[start:start + self.batch_size], self.transform))
            for start in range(0, len(items), self.batch_size)
        ]) if items else np.zeros((0, 3))
        return angles if is_batch else angles[0]

    def predict_batch(self, images: torch.Tensor) -> np.ndarray:
        """``[B, 3]`` degrees for model-ready images ``[B, 3, S, S]`` in [-1, 1]."""
        degrees = torch.rad2deg(self.angles_of(images)).double().numpy()
        return degrees if self.calibration is None else self.calibration.apply(degrees)
