"""Figures of an evaluation: calibration scatter per angle, error histograms and images with their axes drawn.

Figures are drawn with matplotlib's object API on the Agg canvas, so no display or global backend is involved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ssv.evaluation.protocol import ACCURACY_THRESHOLD_DEG, ProtocolResult, absolute_errors
from ssv.viewpoint import ANGLES, rotation_matrix

AXIS_COLOURS = ("tab:red", "tab:green", "tab:blue")  # object x, y, z
HISTOGRAM_BINS = 30
EXAMPLE_COLUMNS = 4


def _save(figure: Figure, path: Path) -> Path:
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=100)
    return path


def plot_calibration(result: ProtocolResult, path: Path) -> Path:
    """Top row: true vs raw prediction with the calibration fit; bottom row: true vs calibrated, with y = x."""
    figure = Figure(figsize=(13, 8), layout="constrained")
    axes = figure.subplots(2, len(ANGLES))
    test, calibration = ~result.is_calibration, result.is_calibration
    mae = absolute_errors(result.calibrated[test], result.true[test]).mean(dim=0)
    for column, (name, fit) in enumerate(zip(ANGLES, result.fits)):
        predicted, calibrated, true = (values[:, column].numpy() for values in
                                       (result.predicted, result.calibrated, result.true))
        raw_axes, calibrated_axes = axes[0, column], axes[1, column]
        raw_axes.scatter(predicted[test], true[test], s=6, alpha=0.4, label="test images")
        raw_axes.scatter(predicted[calibration], true[calibration], s=14, marker="x", color="black",
                         label="calibration images")
        line = np.linspace(predicted.min(), predicted.max(), 2)
        raw_axes.plot(line, fit.slope * line + fit.intercept, color="tab:orange", label="linear fit")
        raw_axes.set(title=f"{name}: true = {fit.slope:.2f} x predicted {fit.intercept:+.1f}\nR² = {fit.r2:.3f}",
                     xlabel="predicted (deg, network frame)", ylabel="true (deg)")
        calibrated_axes.scatter(calibrated[test], true[test], s=6, alpha=0.4)
        limits = [min(calibrated[test].min(), true.min()), max(calibrated[test].max(), true.max())]
        calibrated_axes.plot(limits, limits, color="black", linewidth=1, label="y = x")
        calibrated_axes.set(title=f"{name} calibrated: MAE {mae[column]:.2f} deg", xlabel="calibrated (deg)",
                            ylabel="true (deg)")
    axes[0, 0].legend(loc="best", fontsize="small")
    axes[1, 0].legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_error_histograms(result: ProtocolResult, path: Path) -> Path:
    """Histograms of the calibrated absolute error per angle and of the geodesic error, test images only."""
    test = ~result.is_calibration
    errors = absolute_errors(result.calibrated[test], result.true[test]).numpy()
    geodesic = result.geodesic_error[test].numpy()
    figure = Figure(figsize=(16, 3.8), layout="constrained")
    axes = figure.subplots(1, len(ANGLES) + 1)
    for column, name in enumerate(ANGLES):
        axes[column].hist(errors[:, column], bins=HISTOGRAM_BINS, color=AXIS_COLOURS[column], alpha=0.8)
        axes[column].set(title=f"{name}: MAE {errors[:, column].mean():.2f} deg", xlabel="absolute error (deg)",
                         ylabel="test images")
        axes[column].yaxis.set_major_locator(MaxNLocator(integer=True))
    geodesic_axes = axes[-1]
    geodesic_axes.hist(geodesic, bins=HISTOGRAM_BINS, color="tab:gray")
    geodesic_axes.axvline(ACCURACY_THRESHOLD_DEG, color="black", linestyle="--", label="pi/6")
    accuracy = (geodesic < ACCURACY_THRESHOLD_DEG).mean()
    geodesic_axes.set(title=f"geodesic: median {np.median(geodesic):.1f} deg, acc pi/6 {accuracy:.2f}",
                      xlabel="rotation error (deg)")
    geodesic_axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    geodesic_axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_axes_examples(
    images: np.ndarray, predicted: torch.Tensor, true: torch.Tensor, errors: torch.Tensor, path: Path
) -> Path:
    """Images ``[K, H, W, 3]`` uint8 with the object axes of the predicted (solid) and true (dashed) viewpoints.

    Viewpoints are ``[K, 3]`` degrees; an object axis e_k is seen at R^T e_k, drawn orthographically from the
    image centre (x to the right, y down the image, as in the rendering convention).
    """
    count, height, width, _ = images.shape
    rows = -(-count // EXAMPLE_COLUMNS)
    figure = Figure(figsize=(3.2 * EXAMPLE_COLUMNS, 3.4 * rows + 0.6), layout="constrained")
    axes = np.atleast_1d(figure.subplots(rows, EXAMPLE_COLUMNS)).reshape(-1)
    predicted_rotations = rotation_matrix(torch.deg2rad(predicted.double())).numpy()
    true_rotations = rotation_matrix(torch.deg2rad(true.double())).numpy()
    centre, length = np.array([(width - 1) / 2, (height - 1) / 2]), 0.4 * min(height, width)
    for index, subplot in enumerate(axes):
        subplot.axis("off")
        if index >= count:
            continue
        subplot.imshow(images[index])
        _draw_axes(subplot, true_rotations[index], centre, length, linestyle="--", linewidth=1.5)
        _draw_axes(subplot, predicted_rotations[index], centre, length, linestyle="-", linewidth=2.5)
        subplot.set_title(_example_title(predicted[index], true[index], float(errors[index])), fontsize=8)
    handles = [Line2D([], [], color="black", linestyle="-", label="predicted (calibrated)"),
               Line2D([], [], color="black", linestyle="--", label="true")]
    handles += [Line2D([], [], color=colour, label=f"object {axis}") for axis, colour in zip("xyz", AXIS_COLOURS)]
    figure.legend(handles=handles, loc="outside upper center", ncols=len(handles), fontsize="small")
    return _save(figure, path)


def _draw_axes(subplot, rotation: np.ndarray, centre: np.ndarray, length: float, **style) -> None:
    for axis, colour in enumerate(AXIS_COLOURS):
        tip = centre + length * rotation[axis, :2]  # row k of R is R^T e_k
        subplot.plot([centre[0], tip[0]], [centre[1], tip[1]], color=colour, solid_capstyle="round", **style)


def _example_title(predicted: torch.Tensor, true: torch.Tensor, error: float) -> str:
    def angles(values: torch.Tensor) -> str:
        return " ".join(f"{value:+.0f}" for value in values.tolist())

    return f"error {error:.1f} deg\npred {angles(predicted)}\ntrue {angles(true)}"
