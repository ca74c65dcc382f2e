"""Evaluation outputs: the printed table, ``metrics.json``, ``predictions.csv`` and the figures."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import torch

from datamodules.labeled import LabeledImageDataset
from datamodules.manifest import LabeledImage
from ssv.checkpointing import CHECKPOINTS_FOLDER
from ssv.evaluation.plots import plot_axes_examples, plot_calibration, plot_error_histograms
from ssv.evaluation.protocol import ProtocolResult, folded_angles, swapped_angles
from ssv.samples import to_uint8
from ssv.viewpoint import ANGLES

EXAMPLE_COUNT = 8
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.csv"
SCATTER_PLOT = "scatter.png"
ERROR_PLOT = "error_histogram.png"
EXAMPLES_PLOT = "axes_examples.png"


def report_dir(checkpoint: Path, data: str) -> Path:
    """Where the evaluation of ``checkpoint`` on ``data`` goes, after training and from ``make eval`` alike.

    ``<run>/eval/<checkpoint>-<data>/`` for a checkpoint in a run's ``checkpoints/`` folder, else
    ``eval/<checkpoint>-<data>/`` beside the checkpoint.
    """
    folder = checkpoint.parent
    run_dir = folder.parent if folder.name == CHECKPOINTS_FOLDER else folder
    slug = re.sub(r"[^A-Za-z0-9]+", "-", data).strip("-")
    return run_dir / "eval" / f"{checkpoint.stem}-{slug}"


def format_table(result: ProtocolResult, title: str) -> str:
    """A plain-text table of the calibrated and raw errors and the calibration fits, in degrees."""
    metrics = result.metrics
    header = f"{'':<18}" + "".join(f"{name:>11}" for name in (*ANGLES, "mean"))

    def row(label: str, values: list[float], digits: int = 2) -> str:
        return f"{label:<18}" + "".join(f"{value:>11.{digits}f}" for value in values)

    lines = [
        title,
        header,
        row("MAE calibrated", [metrics[f"mae_{name}"] for name in (*ANGLES, "mean")]),
        row("MAE raw", [metrics[f"raw_mae_{name}"] for name in (*ANGLES, "mean")]),
        row("fit slope", [fit.slope for fit in result.fits], 3),
        row("fit intercept", [fit.intercept for fit in result.fits]),
        row("fit R^2", [fit.r2 for fit in result.fits], 3),
        row("fit R^2 |pred|", [metrics[f"magnitude_r2_{name}"] for name in ANGLES], 3),
        f"median geodesic error {metrics['median_geodesic_deg']:.2f} deg, accuracy at pi/6 {metrics['acc_pi_6']:.3f}"
        f" (raw: {metrics['raw_median_geodesic_deg']:.2f} deg, {metrics['raw_acc_pi_6']:.3f})",
        f"{metrics['n_calibration']} calibration images, {metrics['n_test']} test images "
        f"(calibration seed {metrics['calibration_seed']}); a negative slope means a mirrored frame",
        *(folded_note(name, metrics) for name in folded_angles(metrics)),
        *(swapped_note(name, other, metrics) for name, other in swapped_angles(metrics)),
    ]
    return "\n".join(lines)


def folded_note(name: str, metrics: dict[str, float]) -> str:
    return (f"{name} is folded: the size of the predicted angle explains R^2 {metrics[f'magnitude_r2_{name}']:.2f}"
            f" of the truth, its signed value {metrics[f'r2_{name}']:.2f}; V's zero reads as a true {name} of "
            f"{metrics[f'magnitude_intercept_{name}']:+.1f} deg, at one end of the range, and its sign is a guess "
            "(docs/method.md, Evaluation protocol)")


def swapped_note(name: str, other: str, metrics: dict[str, float]) -> str:
    return (f"V's {name} follows the true {other}: R^2 {metrics[f'cross_r2_{name}_{other}']:.2f}, against "
            f"{metrics[f'r2_{name}']:.2f} for the true {name}; V turns the object about another axis than the labels "
            "name, which the per-angle calibration cannot undo (docs/method.md, Evaluation protocol)")


def write_metrics(result: ProtocolResult, path: Path, context: dict) -> Path:
    """Flat JSON: the context (checkpoint, data, ...) and every metric of the result."""
    path.write_text(json.dumps({**context, **result.metrics}, indent=2) + "\n")
    return path


def write_predictions(result: ProtocolResult, items: list[LabeledImage], path: Path) -> Path:
    """One row per image: path, split, predicted (network frame), calibrated and true angles in degrees."""
    columns = ["path", "split"] + [f"{kind}_{name}" for kind in ("predicted", "calibrated", "true") for name in ANGLES]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row, index in enumerate(result.index.tolist()):
            angles = torch.cat([result.predicted[row], result.calibrated[row], result.true[row]]).tolist()
            split = "calibration" if result.is_calibration[row] else "test"
            writer.writerow([str(items[index].path), split] + [f"{value:.4f}" for value in angles])
    return path


def example_rows(result: ProtocolResult, count: int = EXAMPLE_COUNT) -> list[int]:
    """Test rows spread evenly from the best to the worst geodesic error."""
    test_rows = torch.nonzero(~result.is_calibration).flatten()
    ranked = test_rows[torch.argsort(result.geodesic_error[test_rows], stable=True)]
    picks = np.unique(np.linspace(0, len(ranked) - 1, min(count, len(ranked))).round().astype(int))
    return ranked[picks].tolist()


def write_report(result: ProtocolResult, items: list[LabeledImage], out_dir: Path, *, image_size: int,
                 context: dict) -> list[Path]:
    """Writes metrics, predictions and figures into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = example_rows(result)
    dataset = LabeledImageDataset(items, image_size)
    images = to_uint8(torch.stack([dataset[int(result.index[row])]["image"] for row in rows]))
    return [
        write_metrics(result, out_dir / METRICS_FILE, context),
        write_predictions(result, items, out_dir / PREDICTIONS_FILE),
        plot_calibration(result, out_dir / SCATTER_PLOT),
        plot_error_histograms(result, out_dir / ERROR_PLOT),
        plot_axes_examples(images, result.calibrated[rows], result.true[rows], result.geodesic_error[rows],
                           out_dir / EXAMPLES_PLOT),
    ]
