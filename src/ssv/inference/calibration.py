"""The per-angle linear map from V's own frame to a labeled set's frame, saved as JSON beside the checkpoint.

``make eval`` writes it from the protocol's fits, ``make calibrate`` from a few labeled images; ``predict`` applies
it on request. It names the fingerprint of V's weights, so a calibration made for another model is refused.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np
from torch import nn

from ssv.inference.checkpoint import weights_fingerprint
from ssv.viewpoint import ANGLES

CALIBRATION_SUFFIX = ".calibration.json"


class CalibrationFileError(ValueError):
    """A calibration file is missing, malformed, or made for another model."""


class LinearFit(Protocol):
    """One angle's fit ``true ~ slope * predicted + intercept`` (ssv.evaluation.protocol.AngleFit)."""

    slope: float
    intercept: float
    r2: float


@dataclass(frozen=True)
class Calibration:
    """Slopes, intercepts and R^2 per angle (degrees), the labeled set they were fitted on and V's fingerprint."""

    slope: dict[str, float]
    intercept: dict[str, float]
    r2: dict[str, float]
    labeled_set: str
    n_images: int
    model_fingerprint: str
    model: str

    @classmethod
    def from_fits(cls, fits: Sequence[LinearFit], *, labeled_set: str, n_images: int, model_fingerprint: str,
                  model: str | Path) -> "Calibration":
        def per_angle(field: str) -> dict[str, float]:
            return {name: float(getattr(fit, field)) for name, fit in zip(ANGLES, fits)}

        return cls(per_angle("slope"), per_angle("intercept"), per_angle("r2"), labeled_set, int(n_images),
                   model_fingerprint, str(model))

    def apply(self, degrees: np.ndarray) -> np.ndarray:
        """Angles ``[..., 3]`` in V's frame mapped to the labeled frame."""
        slopes = np.array([self.slope[name] for name in ANGLES])
        intercepts = np.array([self.intercept[name] for name in ANGLES])
        return degrees * slopes + intercepts

    def check_model(self, fingerprint: str, model: str | Path) -> None:
        if fingerprint != self.model_fingerprint:
            raise CalibrationFileError(
                f"the calibration was made for another model ({self.model}, weights {self.model_fingerprint}); "
                f"{model} has weights {fingerprint}: calibrate this model with make calibrate or make eval")

    def save(self, path: Path) -> Path:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


def calibration_path(model: str | Path) -> Path:
    """Where a model file's calibration lives: ``last.ckpt`` -> ``last.calibration.json``."""
    model = Path(model)
    return model.with_name(model.stem + CALIBRATION_SUFFIX)


def load_calibration(path: str | Path) -> Calibration:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
        calibration = Calibration(**data)
        calibration.apply(np.zeros(len(ANGLES)))  # every angle present and numeric
    except FileNotFoundError:
        raise CalibrationFileError(f"calibration not found: {path} (make calibrate or make eval writes it)") from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise CalibrationFileError(f"{path}: not a calibration file ({type(error).__name__}: {error})") from None
    return calibration


def save_evaluation_calibration(fits: Sequence[LinearFit], *, network: nn.Module, checkpoint: Path, labeled_set: str,
                                n_images: int) -> Path:
    """Saves the fits of ``make eval`` (on its calibration subset) beside the checkpoint of ``network`` (V)."""
    calibration = Calibration.from_fits(fits, labeled_set=labeled_set, n_images=n_images, model=checkpoint,
                                        model_fingerprint=weights_fingerprint(network.state_dict()))
    return calibration.save(calibration_path(checkpoint))
