"""Calibrations: saved and read back, written by make eval beside the checkpoint, applied by predict, refused for
another model."""

import json

import numpy as np
import pytest

from ssv.evaluation.cli import main as evaluate
from ssv.inference import Calibration, CalibrationFileError, ViewpointEstimator, calibration_path, load_calibration
from ssv.inference.predict import main as predict
from ssv.viewpoint import ANGLES


def some_calibration(fingerprint: str = "0123456789abcdef") -> Calibration:
    return Calibration({"azimuth": -2.0, "elevation": 0.5, "tilt": 1.0}, {"azimuth": 10.0, "elevation": 0.0,
                       "tilt": -3.0}, {name: 0.9 for name in ANGLES}, "somewhere/labels.csv", 12, fingerprint,
                       "model.ckpt")


def test_a_calibration_round_trips_and_maps_each_angle(tmp_path):
    calibration = some_calibration()
    assert load_calibration(calibration.save(tmp_path / "c.json")) == calibration
    np.testing.assert_allclose(calibration.apply(np.array([[1.0, 2.0, 3.0]])), [[8.0, 1.0, 0.0]])


def test_eval_saves_its_fits_beside_the_checkpoint(checkpoint, labels, tmp_path):
    assert evaluate(["--ckpt", str(checkpoint), "--data", str(labels), "--n-calibration", "10",
                     "--out", str(tmp_path / "eval")]) == 0
    saved = json.loads(calibration_path(checkpoint).read_text())
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert saved["labeled_set"] == str(labels) and saved["n_images"] == 10
    assert saved["model_fingerprint"] == ViewpointEstimator.from_checkpoint(checkpoint).fingerprint
    for name in ANGLES:
        assert saved["slope"][name] == pytest.approx(metrics[f"slope_{name}"])
        assert saved["intercept"][name] == pytest.approx(metrics[f"intercept_{name}"])


def test_the_onnx_export_accepts_its_checkpoints_calibration(checkpoint, onnx_model, tmp_path):
    calibration = some_calibration(ViewpointEstimator.from_checkpoint(checkpoint).fingerprint)
    estimator = ViewpointEstimator.from_onnx(onnx_model)
    estimator.use_calibration(calibration.save(tmp_path / "c.json"))
    assert estimator.calibration == calibration


def test_a_calibration_for_another_checkpoint_stops_predict_with_one_line(checkpoint, tmp_path, capsys, rgb_image):
    some_calibration().save(calibration_path(checkpoint))
    assert predict(["--ckpt", str(checkpoint), "--input", str(tmp_path), "--out", str(tmp_path / "out"),
                    "--calibration"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: the calibration was made for another model") and error.count("\n") == 1


@pytest.mark.parametrize("content, message", [(None, "calibration not found"), ("{", "not a calibration file"),
                                              ('{"slope": 1}', "not a calibration file")])
def test_a_missing_or_malformed_calibration_is_refused(tmp_path, content, message):
    path = tmp_path / "c.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CalibrationFileError, match=message):
        load_calibration(path)
