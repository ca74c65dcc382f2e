import csv
import json
from pathlib import Path

import numpy as np
from PIL import Image

from datamodules.manifest import LabeledImage
from ssv.evaluation.report import (
    example_rows,
    format_table,
    report_dir,
    write_metrics,
    write_predictions,
    write_report,
)


def labeled_images(folder: Path, count: int = 20) -> list[LabeledImage]:
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(np.full((12, 12, 3), 10 * index, dtype=np.uint8)).save(folder / f"{index}.png")
    return [LabeledImage(folder / f"{index}.png", 0.0, 0.0, 0.0) for index in range(count)]


def test_the_report_folder_is_beside_the_run_or_the_checkpoint():
    assert report_dir(Path("runs/a/checkpoints/last.ckpt"), "aflw2000:data/x") == Path(
        "runs/a/eval/last-aflw2000-data-x")
    assert report_dir(Path("models/best.ckpt"), "synthetic:faces") == Path("models/eval/best-synthetic-faces")


def test_the_table_shows_the_metrics_and_the_mirrored_fits(protocol_result):
    table = format_table(protocol_result, "my model")
    lines = table.splitlines()
    assert lines[0] == "my model" and lines[1].split() == ["azimuth", "elevation", "tilt", "mean"]
    assert f"{protocol_result.metrics['mae_mean']:.2f}" in lines[2]
    assert all(float(slope) < 0 for slope in lines[4].split()[2:])
    assert "5 calibration images, 15 test images" in table
    assert lines[7].startswith("fit R^2 |pred|") and "folded" not in table and "follows the true" not in table


def test_the_table_names_a_folded_angle_and_where_its_zero_lies(protocol_result):
    metrics = {**protocol_result.metrics, "r2_tilt": 0.05, "magnitude_r2_tilt": 0.6, "magnitude_intercept_tilt": 27.0}
    lines = format_table(protocol_result._replace(metrics=metrics), "my model").splitlines()
    note = next(line for line in lines if line.startswith("tilt is folded"))
    assert note.startswith("tilt is folded: the size of the predicted angle explains R^2 0.60 of the truth")
    assert "V's zero reads as a true tilt of +27.0 deg" in note


def test_the_table_names_swapped_angles(protocol_result):
    metrics = {**protocol_result.metrics, "r2_azimuth": 0.06, "cross_r2_azimuth_tilt": 0.86}
    table = format_table(protocol_result._replace(metrics=metrics), "my model")
    assert "V's azimuth follows the true tilt: R^2 0.86, against 0.06 for the true azimuth" in table


def test_metrics_json_holds_the_context_and_every_metric(protocol_result, tmp_path):
    saved = json.loads(write_metrics(protocol_result, tmp_path / "m.json", {"checkpoint": "c.ckpt"}).read_text())
    assert saved == {"checkpoint": "c.ckpt", **protocol_result.metrics}


def test_predictions_name_each_rows_image_and_split(protocol_result, tmp_path):
    items = [LabeledImage(Path(f"{index}.png"), 0.0, 0.0, 0.0) for index in range(20)]
    with write_predictions(protocol_result, items, tmp_path / "p.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["path"] for row in rows] == [f"{index}.png" for index in range(19, -1, -1)]
    assert sum(row["split"] == "calibration" for row in rows) == 5
    assert float(rows[0]["true_azimuth"]) == round(float(protocol_result.true[0, 0]), 4)


def test_examples_go_from_the_best_to_the_worst_test_image(protocol_result):
    rows = example_rows(protocol_result, count=4)
    errors = protocol_result.geodesic_error[rows]
    assert len(rows) == 4 and not protocol_result.is_calibration[rows].any()
    assert errors.tolist() == sorted(errors.tolist())
    test_errors = protocol_result.geodesic_error[~protocol_result.is_calibration]
    assert errors[0] == test_errors.min() and errors[-1] == test_errors.max()


def test_write_report_writes_every_file(protocol_result, tmp_path):
    written = write_report(protocol_result, labeled_images(tmp_path / "images"), tmp_path / "eval", image_size=8,
                           context={})
    assert [path.name for path in written] == ["metrics.json", "predictions.csv", "scatter.png",
                                               "error_histogram.png", "axes_examples.png"]
    assert all(path.is_file() and path.parent == tmp_path / "eval" for path in written)
