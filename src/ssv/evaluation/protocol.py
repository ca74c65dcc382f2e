"""The paper's evaluation protocol (docs/method.md) on predicted and true viewpoints.

A self-supervised network has its own reference frame, so each predicted angle is first mapped to the labels'
frame by a linear fit on a seeded calibration subset; errors are reported on the remaining images. Angles are in
degrees, tensors ``[N, 3]`` hold (azimuth, elevation, tilt).
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ssv.viewpoint import ANGLES, rotation_matrix

# Two parameters per angle are well determined by 100 points, and 100 leaves 95% of a 2000-image test set.
DEFAULT_N_CALIBRATION = 100
ACCURACY_THRESHOLD_DEG = 30.0  # pi / 6
# How much more of the true angle's variance the predicted angle's size must explain than its signed value before
# the angle is called folded: V's zero then lies at one end of the labels' range and the sign V adds is a guess.
FOLD_MARGIN = 0.2
# How much more of another true angle's variance a predicted angle must explain than of its own before the two are
# called swapped: the network turns the object about a different axis than the labels name.
SWAP_MARGIN = 0.2


class CalibrationError(ValueError):
    """The calibration subset cannot be drawn from the labeled images."""


class AngleFit(NamedTuple):
    """Least-squares map true ~ slope * predicted + intercept for one angle, with its R^2 on the calibration set."""

    slope: float
    intercept: float
    r2: float


class ProtocolResult(NamedTuple):
    """Per-image viewpoints (degrees, ordered by dataset ``index``), the calibration fits and the flat metrics."""

    index: torch.Tensor  # [N] dataset indices
    predicted: torch.Tensor  # [N, 3] as the network gave them
    calibrated: torch.Tensor  # [N, 3] after the per-angle linear fits
    true: torch.Tensor  # [N, 3]
    is_calibration: torch.Tensor  # [N] bool: used for the fits, excluded from the errors
    geodesic_error: torch.Tensor  # [N] rotation error of the calibrated viewpoint, degrees
    fits: tuple[AngleFit, AngleFit, AngleFit]
    metrics: dict[str, float]


def check_calibration_count(n_calibration: int) -> None:
    if n_calibration < 2:
        raise CalibrationError(f"n_calibration={n_calibration}: a line fit per angle needs at least 2 images")


def check_calibration_size(n_calibration: int, n_images: int) -> None:
    check_calibration_count(n_calibration)
    if n_calibration >= n_images:
        raise CalibrationError(
            f"n_calibration={n_calibration} leaves no test images among the {n_images} labeled images"
        )


def calibration_mask(n_images: int, n_calibration: int, seed: int) -> torch.Tensor:
    """A seeded random subset of ``n_calibration`` of ``n_images`` positions, as a bool mask."""
    check_calibration_size(n_calibration, n_images)
    order = torch.randperm(n_images, generator=torch.Generator().manual_seed(seed))
    mask = torch.zeros(n_images, dtype=torch.bool)
    mask[order[:n_calibration]] = True
    return mask


def fit_angle(predicted: torch.Tensor, true: torch.Tensor) -> AngleFit:
    """Least squares ``true ~ slope * predicted + intercept``; constant predictions give slope 0 (the mean)."""
    x, y = predicted.double(), true.double()
    x_centred, y_centred = x - x.mean(), y - y.mean()
    spread = x_centred.square().sum()
    slope = (x_centred * y_centred).sum() / spread if spread > 0 else torch.zeros((), dtype=torch.float64)
    intercept = y.mean() - slope * x.mean()
    residual = (y - (slope * x + intercept)).square().sum()
    total = y_centred.square().sum()
    r2 = 1.0 - float(residual / total) if total > 0 else 1.0
    return AngleFit(float(slope), float(intercept), r2)


def apply_fits(predicted: torch.Tensor, fits: tuple[AngleFit, ...]) -> torch.Tensor:
    slopes = predicted.new_tensor([fit.slope for fit in fits])
    intercepts = predicted.new_tensor([fit.intercept for fit in fits])
    return predicted * slopes + intercepts


def absolute_errors(predicted: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Per-angle absolute error ``[N, 3]``, the shorter way round the circle."""
    difference = torch.remainder(predicted.double() - true.double() + 180.0, 360.0) - 180.0
    return difference.abs()


def geodesic_errors(predicted: torch.Tensor, true: torch.Tensor) -> torch.Tensor:
    """Angle of R(predicted)^T R(true) in degrees, ``[N]``."""
    relative = rotation_matrix(torch.deg2rad(predicted.double())).transpose(-1, -2) @ rotation_matrix(
        torch.deg2rad(true.double())
    )
    cosine = (relative.diagonal(dim1=-2, dim2=-1).sum(-1) - 1.0) / 2.0
    return torch.rad2deg(torch.acos(cosine.clamp(-1.0, 1.0)))


def error_summary(predicted: torch.Tensor, true: torch.Tensor, prefix: str = "") -> dict[str, float]:
    """MAE per angle and their mean, median geodesic error and accuracy at pi/6, keys prefixed by ``prefix``."""
    mae = absolute_errors(predicted, true).mean(dim=0)
    geodesic = geodesic_errors(predicted, true)
    summary = {f"{prefix}mae_{name}": float(value) for name, value in zip(ANGLES, mae)}
    summary[f"{prefix}mae_mean"] = float(mae.mean())
    summary[f"{prefix}median_geodesic_deg"] = float(torch.quantile(geodesic, 0.5))
    summary[f"{prefix}acc_pi_6"] = float((geodesic < ACCURACY_THRESHOLD_DEG).double().mean())
    return summary


def cross_fit_summary(predicted: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    """R^2 of the linear fit from each predicted angle to each other true angle, as ``cross_r2_<pred>_<true>``."""
    return {f"cross_r2_{name}_{other}": fit_angle(predicted[:, i], true[:, j]).r2
            for i, name in enumerate(ANGLES) for j, other in enumerate(ANGLES) if i != j}


def swapped_angles(metrics: dict[str, float]) -> list[tuple[str, str]]:
    """(predicted, true) pairs where a predicted angle explains another true angle clearly better than its own.

    A diagnostic, not part of the score: the calibration fits each angle on its own, so it cannot undo a network
    that reads, say, the true tilt in its azimuth.
    """
    return [(name, other) for name in ANGLES for other in ANGLES
            if other != name and metrics[f"cross_r2_{name}_{other}"] - metrics[f"r2_{name}"] > SWAP_MARGIN]


def fit_summary(fits: tuple[AngleFit, ...], magnitude_fits: tuple[AngleFit, ...]) -> dict[str, float]:
    summary = {}
    for name, fit, magnitude_fit in zip(ANGLES, fits, magnitude_fits):
        summary.update({f"slope_{name}": fit.slope, f"intercept_{name}": fit.intercept, f"r2_{name}": fit.r2,
                        f"magnitude_r2_{name}": magnitude_fit.r2,
                        f"magnitude_intercept_{name}": magnitude_fit.intercept})
    return summary


def folded_angles(metrics: dict[str, float]) -> list[str]:
    """Angles whose predicted size |angle| (network frame) explains the truth clearly better than the signed angle.

    A diagnostic, not part of the score. |angle| can only follow the signed truth if the network's zero lies at one
    end of the labels' range, so the network orders the images from that end while the sign it gives them is a
    guess: the linear calibration sees two mirrored branches and fits neither. The magnitude fit's intercept is the
    true angle at the network's zero.
    """
    return [name for name in ANGLES
            if metrics[f"magnitude_r2_{name}"] - metrics[f"r2_{name}"] > FOLD_MARGIN]


def evaluate_protocol(
    predicted: torch.Tensor, true: torch.Tensor, index: torch.Tensor, n_calibration: int, seed: int
) -> ProtocolResult:
    """Fits the calibration on a seeded subset and measures calibrated and raw errors on the other images."""
    predicted, true = predicted.double().cpu(), true.double().cpu()
    is_calibration = calibration_mask(len(predicted), n_calibration, seed)
    fits = tuple(fit_angle(predicted[is_calibration, k], true[is_calibration, k]) for k in range(len(ANGLES)))
    magnitude_fits = tuple(fit_angle(predicted[is_calibration, k].abs(), true[is_calibration, k])
                           for k in range(len(ANGLES)))
    calibrated = apply_fits(predicted, fits)
    test = ~is_calibration
    metrics = {
        **error_summary(calibrated[test], true[test]),
        **error_summary(predicted[test], true[test], prefix="raw_"),
        **fit_summary(fits, magnitude_fits),
        **cross_fit_summary(predicted[is_calibration], true[is_calibration]),
        "n_calibration": int(is_calibration.sum()),
        "n_test": int(test.sum()),
        "calibration_seed": seed,
    }
    return ProtocolResult(
        index=index.cpu(),
        predicted=predicted,
        calibrated=calibrated,
        true=true,
        is_calibration=is_calibration,
        geodesic_error=geodesic_errors(calibrated, true),
        fits=fits,
        metrics=metrics,
    )
