"""An exported V (``make export FORMAT=onnx``) run with ONNX Runtime on the CPU."""

from __future__ import annotations

from pathlib import Path

import torch

from ssv.inference.checkpoint import CheckpointError

INPUT_NAME = "images"
OUTPUT_NAME = "viewpoint"
# Model metadata written by the export and read back here.
IMAGE_SIZE_KEY = "ssv.image_size"
FINGERPRINT_KEY = "ssv.weights_fingerprint"
SOURCE_KEY = "ssv.checkpoint"
UNITS_KEY = "ssv.viewpoint_units"


class OnnxViewpointModel:
    """Images ``[B, 3, S, S]`` in [-1, 1] -> viewpoints ``[B, 3]`` in radians, like ``TorchViewpoints``."""

    def __init__(self, path: Path):
        import onnxruntime  # only ONNX users need it loaded

        if not path.is_file():
            raise CheckpointError(f"ONNX model not found: {path}")
        try:
            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for bad files
            raise CheckpointError(f"{path}: not a readable ONNX model ({type(error).__name__}: {error})") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if IMAGE_SIZE_KEY not in metadata or FINGERPRINT_KEY not in metadata:
            raise CheckpointError(f"{path}: not an ONNX model exported by ssv (no {IMAGE_SIZE_KEY} metadata)")
        self.path = path
        self.image_size = int(metadata[IMAGE_SIZE_KEY])
        self.fingerprint = metadata[FINGERPRINT_KEY]

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        (viewpoint,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: images.float().numpy()})
        return torch.from_numpy(viewpoint)
