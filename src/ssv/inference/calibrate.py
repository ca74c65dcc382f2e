"""Fit the per-angle linear calibration of a model on a few labeled images, without the full evaluation.

``python -m ssv.inference.calibrate --ckpt MODEL --data SPEC [--out FILE]``

SPEC is what ``make eval`` takes: a ``labels.csv`` (``path,azimuth,elevation,tilt`` in degrees), a folder holding
one, or ``<scheme>:<argument>``. Every labeled image is used for the fit (``make eval`` keeps most of its images
for measuring instead). The calibration is written beside MODEL (``<stem>.calibration.json``) unless ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from datamodules.manifest import LabeledImage, ManifestError
from ssv.evaluation.protocol import CalibrationError, check_calibration_count, fit_angle
from ssv.inference.calibration import Calibration, CalibrationFileError, calibration_path
from ssv.inference.checkpoint import CheckpointError
from ssv.console import run_command
from ssv.inference.estimator import ViewpointEstimator
from ssv.inference.images import ImageInputError
from ssv.labeled_sources import read_labeled_source
from ssv.viewpoint import ANGLES

INPUT_ERRORS = (CheckpointError, CalibrationFileError, ManifestError, CalibrationError, ImageInputError)


def predict_labeled(estimator: ViewpointEstimator, items: list[LabeledImage]) -> np.ndarray:
    """``[N, 3]`` degrees in the model's own frame, batch by batch with a progress bar."""
    size = estimator.batch_size
    predicted = []
    with tqdm(total=len(items), unit="image", file=sys.stderr) as progress:  # ends its line before any error
        for start in range(0, len(items), size):
            predicted.append(estimator.predict([item.path for item in items[start:start + size]]))
            progress.update(len(predicted[-1]))
    return np.concatenate(predicted)


def fit_calibration(estimator: ViewpointEstimator, items: list[LabeledImage], labeled_set: str) -> Calibration:
    check_calibration_count(len(items))
    predicted = torch.from_numpy(predict_labeled(estimator, items))
    true = torch.tensor([item.angles for item in items], dtype=torch.float64)
    fits = [fit_angle(predicted[:, k], true[:, k]) for k in range(len(ANGLES))]
    return Calibration.from_fits(fits, labeled_set=labeled_set, n_images=len(items),
                                 model_fingerprint=estimator.fingerprint, model=estimator.source)


def describe(calibration: Calibration) -> str:
    lines = [f"Calibration on {calibration.n_images} images of {calibration.labeled_set}: "
             "true = slope x predicted + intercept (degrees)"]
    lines += [f"  {name:<10} slope {calibration.slope[name]:+8.3f}  intercept {calibration.intercept[name]:+8.2f}  "
              f"R^2 {calibration.r2[name]:.3f}" for name in ANGLES]
    lines.append("A negative slope means V's frame is mirrored for that angle; R^2 near 0, that V does not read it.")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True, help="checkpoint (SSV or supervised) or .onnx file")
    parser.add_argument("--data", required=True, help="labeled images, as for make eval (DATA=)")
    parser.add_argument("--out", type=Path, help="calibration file (default: <model stem>.calibration.json beside it)")
    parser.add_argument("--device", default="cpu", help="torch device of a checkpoint model (default %(default)s)")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    estimator = ViewpointEstimator.load(args.ckpt, device=args.device)
    items = read_labeled_source(args.data, estimator.image_size)
    calibration = fit_calibration(estimator, items, args.data)
    path = calibration.save(args.out or calibration_path(args.ckpt))
    print(describe(calibration))
    print(f"Wrote {path}; predict applies it with --calibration")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), INPUT_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
