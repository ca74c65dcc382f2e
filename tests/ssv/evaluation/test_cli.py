import csv
import json
import math
from pathlib import Path

import pytest
import torch
from PIL import Image

from datamodules.manifest import read_manifest
from ssv.evaluation.cli import main
from ssv.evaluation.report import report_dir
from ssv.inference.calibration import calibration_path

REQUIRED_KEYS = [
    "mae_azimuth", "mae_elevation", "mae_tilt", "mae_mean", "median_geodesic_deg", "acc_pi_6", "n_calibration",
    "n_test", "raw_mae_azimuth", "raw_mae_elevation", "raw_mae_tilt", "raw_mae_mean",
    "slope_azimuth", "intercept_azimuth", "r2_azimuth", "slope_tilt",
]
PLOTS = ["scatter.png", "error_histogram.png", "axes_examples.png"]
N_CALIBRATION = 10


def run(capsys, *argv):
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_evaluates_an_ssv_checkpoint_on_a_manifest(ssv_checkpoint, rendered_faces, tmp_path, capsys):
    manifest = rendered_faces / "test" / "labels.csv"
    out = tmp_path / "eval"
    code, stdout, _ = run(capsys, "--ckpt", ssv_checkpoint, "--data", manifest, "--out", out,
                          "--n-calibration", N_CALIBRATION)
    assert code == 0
    assert "MAE calibrated" in stdout and "fit slope" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(REQUIRED_KEYS) <= set(metrics)
    items = read_manifest(manifest)
    assert metrics["n_calibration"] == N_CALIBRATION and metrics["n_test"] == len(items) - N_CALIBRATION
    with (out / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["path"] for row in rows] == [str(item.path) for item in items]
    assert sum(row["split"] == "calibration" for row in rows) == N_CALIBRATION
    assert float(rows[3]["true_azimuth"]) == pytest.approx(items[3].azimuth, abs=1e-3)
    predicted = torch.tensor([[float(row[f"predicted_{name}"]) for name in ("azimuth", "elevation", "tilt")]
                              for row in rows])
    assert predicted.abs().max() <= 180.0 and predicted.std(dim=0).min() > 0
    for name in PLOTS:
        with Image.open(out / name) as image:
            assert image.format == "PNG" and min(image.size) > 200


def test_a_sign_readout_for_one_evaluation_is_recorded_and_saves_no_calibration(
        ssv_checkpoint, rendered_faces, tmp_path, capsys):
    calibration = calibration_path(ssv_checkpoint)
    before = calibration.read_text() if calibration.exists() else None
    out = tmp_path / "expected"
    code, stdout, _ = run(capsys, "--ckpt", ssv_checkpoint, "--data", rendered_faces / "test", "--out", out,
                          "--n-calibration", N_CALIBRATION, "--sign-readout", "expected")
    assert code == 0
    assert json.loads((out / "metrics.json").read_text())["sign_readout"] == "expected"
    assert "Did not save the calibration" in stdout
    assert (calibration.read_text() if calibration.exists() else None) == before
    code, stdout, _ = run(capsys, "--ckpt", ssv_checkpoint, "--data", rendered_faces / "test", "--out", out,
                          "--n-calibration", N_CALIBRATION, "--sign-readout", "argmax")  # the checkpoint's own
    assert code == 0 and "Wrote the calibration" in stdout
    assert json.loads((out / "metrics.json").read_text())["sign_readout"] == "argmax"


def test_the_supervised_baseline_goes_through_the_same_path(supervised_checkpoint, rendered_faces, capsys):
    code, stdout, _ = run(capsys, "--ckpt", supervised_checkpoint, "--data", rendered_faces / "test",
                          "--n-calibration", N_CALIBRATION)
    assert code == 0
    out = report_dir(supervised_checkpoint, str(rendered_faces / "test"))
    assert out.parent == supervised_checkpoint.parent / "eval"
    assert json.loads((out / "metrics.json").read_text())["n_test"] > 0


def test_synthetic_spec_renders_the_test_split_at_the_checkpoint_size(ssv_checkpoint, rendered_faces, tmp_path,
                                                                      monkeypatch, capsys):
    from ssv.synthetic import collection

    requests = []

    def cached(**settings):
        requests.append(settings)
        return rendered_faces

    monkeypatch.setattr(collection, "ensure_rendered", cached)
    code, _, _ = run(capsys, "--ckpt", ssv_checkpoint, "--data", "synthetic:faces", "--out", tmp_path / "out",
                     "--n-calibration", N_CALIBRATION)
    assert code == 0 and requests == [{"category": "faces", "image_size": 32}]


def one_line_error(capsys, *argv) -> str:
    code, _, stderr = run(capsys, *argv)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    return lines[0]


def test_bad_inputs_each_give_one_line(ssv_checkpoint, rendered_faces, tmp_path, capsys):
    manifest = rendered_faces / "test" / "labels.csv"
    broken = tmp_path / "broken.csv"
    broken.write_text(manifest.read_text().replace("tilt", "roll", 1))
    corrupt = tmp_path / "corrupt.ckpt"
    corrupt.write_bytes(ssv_checkpoint.read_bytes()[:5000])
    unreadable = tmp_path / "unreadable.csv"  # absolute paths, one of them to a file that is no image
    (tmp_path / "noise.png").write_bytes(b"not an image")
    rows = [f"{item.path},{item.azimuth},{item.elevation},{item.tilt}" for item in read_manifest(manifest)]
    unreadable.write_text("\n".join(["path,azimuth,elevation,tilt", f"{tmp_path / 'noise.png'},0,0,0", *rows]))
    wider = tmp_path / "wider.ckpt"
    checkpoint = torch.load(ssv_checkpoint, map_location="cpu", weights_only=True)
    checkpoint["hyper_parameters"]["config"]["model"]["width"] = 0.5
    torch.save(checkpoint, wider)
    cases = {
        "missing column(s) tilt": ("--ckpt", ssv_checkpoint, "--data", broken),
        "manifest not found": ("--ckpt", ssv_checkpoint, "--data", tmp_path / "absent.csv"),
        "noise.png: not a readable image": ("--ckpt", ssv_checkpoint, "--data", unreadable),
        "checkpoint not found": ("--ckpt", tmp_path / "absent.ckpt", "--data", manifest),
        "corrupt.ckpt: not a readable checkpoint": ("--ckpt", corrupt, "--data", manifest),
        "wider.ckpt: does not match its stored ssv config": ("--ckpt", wider, "--data", manifest),
        "n_calibration=500 leaves no test images": ("--ckpt", ssv_checkpoint, "--data", manifest,
                                                    "--n-calibration", 500),
    }
    for expected, argv in cases.items():
        assert expected in one_line_error(capsys, "--n-calibration", N_CALIBRATION, *argv, "--out", tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_labels_in_radians_are_refused_unless_a_flag_says_they_are_small_degrees(ssv_checkpoint, rendered_faces,
                                                                                 tmp_path, capsys):
    radians = tmp_path / "radians.csv"
    rows = [",".join([str(item.path), *(str(math.radians(angle)) for angle in (item.azimuth, item.elevation,
                                                                               item.tilt))])
            for item in read_manifest(rendered_faces / "test" / "labels.csv")]
    radians.write_text("\n".join(["path,azimuth,elevation,tilt", *rows]))
    argv = ("--ckpt", ssv_checkpoint, "--data", radians, "--n-calibration", N_CALIBRATION, "--out", tmp_path / "out")
    error = one_line_error(capsys, *argv)
    assert "look like radians" in error and "--angles-in-degrees-are-small" in error
    assert not (tmp_path / "out").exists()
    assert run(capsys, *argv, "--angles-in-degrees-are-small")[0] == 0


def test_a_category_mismatch_is_refused_before_rendering_unless_allowed(ssv_checkpoint, rendered_faces, tmp_path,
                                                                        monkeypatch, capsys):
    from ssv.synthetic import collection

    requests = []
    monkeypatch.setattr(collection, "ensure_rendered", lambda **settings: requests.append(settings) or rendered_faces)
    argv = ("--ckpt", ssv_checkpoint, "--data", "synthetic:cars", "--n-calibration", N_CALIBRATION,
            "--out", tmp_path / "out")
    error = one_line_error(capsys, *argv)
    assert "trained on faces" in error and "holds cars" in error and "--allow-category-mismatch" in error
    assert requests == []
    assert run(capsys, *argv, "--allow-category-mismatch")[0] == 0 and requests[0]["category"] == "cars"


def test_make_eval_writes_where_the_evaluation_after_training_does():
    run = Path("runs/faces/run")
    assert report_dir(run / "checkpoints" / "last.ckpt", "synthetic:faces") == run / "eval" / "last-synthetic-faces"
    assert report_dir(Path("models/v.ckpt"), "data/prepared/biwi") == Path("models/eval/v-data-prepared-biwi")
