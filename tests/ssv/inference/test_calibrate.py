"""make calibrate: fits every labeled image, writes beside the checkpoint for predict to apply, refuses bad input."""

import csv

import numpy as np

from ssv.inference import calibration_path, load_calibration
from ssv.inference.calibrate import main as calibrate
from ssv.inference.predict import main as predict
from ssv.viewpoint import ANGLES


def angle_rows(path) -> np.ndarray:
    with path.open(newline="") as handle:
        return np.array([[float(row[name]) for name in ANGLES] for row in csv.DictReader(handle)])


def test_calibrate_fits_every_labeled_image_and_predict_applies_it(checkpoint, labels, rendered_faces, tmp_path):
    assert calibrate(["--ckpt", str(checkpoint), "--data", str(labels)]) == 0
    calibration = load_calibration(calibration_path(checkpoint))
    assert calibration.n_images == 30 and calibration.labeled_set == str(labels)
    images = rendered_faces / "test" / "images"
    assert predict(["--ckpt", str(checkpoint), "--input", str(images), "--out", str(tmp_path / "raw")]) == 0
    assert predict(["--ckpt", str(checkpoint), "--input", str(images), "--out", str(tmp_path / "calibrated"),
                    "--calibration"]) == 0
    raw, calibrated = angle_rows(tmp_path / "raw" / "predictions.csv"), angle_rows(
        tmp_path / "calibrated" / "predictions.csv")
    np.testing.assert_allclose(calibrated, calibration.apply(raw), atol=1e-3)


def test_calibrate_refuses_unreadable_labeled_images_in_one_line(checkpoint, tmp_path, capsys):
    (tmp_path / "broken.png").write_bytes(b"nothing")
    (tmp_path / "labels.csv").write_text("path,azimuth,elevation,tilt\nbroken.png,10,0,0\nbroken.png,20,5,0\n")
    assert calibrate(["--ckpt", str(checkpoint), "--data", str(tmp_path)]) == 2
    error = capsys.readouterr().err.splitlines()[-1]  # after the progress bar's line
    assert error.startswith("error: ") and error.endswith("broken.png: not a readable image")
