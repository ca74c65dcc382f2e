"""Using a trained model: ``ViewpointEstimator``, calibrations, ``predict``, ``export`` and ``calibrate``.

Importing this package or loading a model does not import Lightning, wandb or the training module, and downloads
nothing: V is rebuilt alone from a checkpoint's stored config.
"""

from ssv.inference.calibration import Calibration, CalibrationFileError, calibration_path, load_calibration
from ssv.inference.checkpoint import CheckpointError, load_viewpoint_network
from ssv.inference.estimator import ViewpointEstimator
from ssv.inference.images import ImageInputError

__all__ = [
    "Calibration",
    "CalibrationFileError",
    "CheckpointError",
    "ImageInputError",
    "ViewpointEstimator",
    "calibration_path",
    "load_calibration",
    "load_viewpoint_network",
]
