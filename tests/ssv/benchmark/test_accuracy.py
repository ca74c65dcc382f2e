import argparse
import csv
import json

import pytest
import torch

from ssv.benchmark.accuracy import ROWS, main, parse_args, parse_rows, row_config

pytestmark = pytest.mark.integration  # trains models: left out of `make test-quick`

BUDGET_MINUTES = 0.03
N_CALIBRATION = 8
TRAINED_ROWS = ["supervised", "ssv-full"]


def tiny_overrides(cache_dir) -> list[str]:
    return [
        "model.image_size=32", "model.width=0.125", "model.code_size=8", "model.mapping_layers=2",
        "imc.features=pixels", "data.batch_size=4", "data.num_workers=0", "data.synthetic.num_train=16",
        "data.synthetic.num_test=24", f"data.synthetic.cache_dir={cache_dir}", "trainer.logger=csv",
        "trainer.sample_every_n_steps=1000", "trainer.checkpoint_every_n_steps=1000", "trainer.log_every_n_steps=1",
    ]


def read_predictions(path) -> list[dict]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.mark.timeout(300)  # a budget that never stops training would otherwise hang here
def test_every_row_is_trained_within_the_budget_and_measured_on_the_same_images(tmp_path, capsys):
    out = tmp_path / "bench"
    rows = ["constant", *TRAINED_ROWS]
    argv = ["--category", "faces", "--budget", str(BUDGET_MINUTES), "--rows", ",".join(rows), "--profile", "small",
            "--milestones", str(BUDGET_MINUTES / 3), "--out", str(out), "--n-calibration", str(N_CALIBRATION),
            *tiny_overrides(tmp_path / "synthetic")]
    assert main(argv) == 0

    table = (out / "accuracy.md").read_text()
    assert table in capsys.readouterr().out
    assert ("| row | MAE az | MAE el | MAE tilt | MAE mean | median geodesic | acc pi/6 | R^2 az / el / tilt | "
            "iterations |") in table
    assert f"Budget: {BUDGET_MINUTES:g} min" in table and "machine:" in table and "profile small" in table
    assert "Command: `python -m ssv.benchmark.accuracy --category faces" in table
    for name in rows:
        assert f"| {ROWS[name].label} |" in table

    record = json.loads((out / "accuracy.json").read_text())
    by_name = {row["row"]: row for row in record["rows"]}
    assert list(by_name) == rows
    assert {row["n_test"] for row in record["rows"]} == {24 - N_CALIBRATION}
    for name in TRAINED_ROWS:
        assert by_name[name]["iterations"] > 0
        assert by_name[name]["train_seconds"] < BUDGET_MINUTES * 60 + 60
        assert (out / name / "checkpoints" / "budget-end.ckpt").is_file()
        assert {"mae_mean", "median_geodesic_deg", "acc_pi_6", "raw_mae_mean"} <= set(by_name[name])
    assert by_name["constant"]["iterations"] == 0

    curve = json.loads((out / "learning_curve.json").read_text())["curve"]
    for name in TRAINED_ROWS:
        points = [point for point in curve if point["row"] == name]
        assert [point["minutes"] for point in points] == [BUDGET_MINUTES / 3, BUDGET_MINUTES]
        assert 0 < points[0]["iterations"] <= points[1]["iterations"] == by_name[name]["iterations"]
        assert points[1]["mae_mean"] == by_name[name]["mae_mean"]
        assert {"r2_azimuth", "r2_elevation", "r2_tilt"} <= set(points[0])
        assert (out / name / "checkpoints" / f"budget-{BUDGET_MINUTES / 3:g}min.ckpt").is_file()
    assert "constant" not in {point["row"] for point in curve}
    assert (out / "learning_curve.png").stat().st_size > 0
    assert "| row | minutes | iterations |" in (out / "learning_curve.md").read_text()

    predictions = {name: read_predictions(out / name / "eval" / "predictions.csv") for name in rows}
    splits = {name: [(row["path"], row["split"]) for row in values] for name, values in predictions.items()}
    assert splits["constant"] == splits["supervised"] == splits["ssv-full"]
    constant = predictions["constant"]
    for angle in ("azimuth", "elevation", "tilt"):
        calibration_mean = torch.tensor([float(row[f"true_{angle}"]) for row in constant
                                         if row["split"] == "calibration"]).mean()
        assert all(float(row[f"calibrated_{angle}"]) == pytest.approx(float(calibration_mean), abs=1e-3)
                   for row in constant)


def test_ablation_rows_train_their_experiment_files():
    args = parse_args(["--budget", "1", "--profile", "small"])
    full, no_imc, no_sym_imc = (row_config(ROWS[name], args) for name in ("ssv-full", "ssv-no-imc", "ssv-no-sym-imc"))
    assert full.loss.imc > 0 and full.loss.sym > 0
    assert no_imc.loss.imc == 0 and no_imc.loss.sym == full.loss.sym
    assert no_sym_imc.loss.imc == 0 and no_sym_imc.loss.sym == 0
    assert row_config(ROWS["supervised"], args).model == full.model


def test_a_category_without_ablation_files_fails_before_any_training(tmp_path, capsys):
    code = main(["--category", "buses", "--budget", "1", "--rows", "constant,ssv-no-imc", "--out", str(tmp_path / "x")])
    error = capsys.readouterr().err.strip()
    assert code == 2 and error.startswith("error: unknown category/experiment 'buses-no-imc'")
    assert not (tmp_path / "x").exists()


def test_a_real_image_folder_has_no_labels_to_benchmark_with(tmp_path, capsys):
    code = main(["--budget", "1", "--rows", "constant", "--profile", "small", f"data.root={tmp_path}"])
    assert code == 2 and "data.root must be null" in capsys.readouterr().err


def test_unknown_rows_and_budgets_are_refused():
    with pytest.raises(argparse.ArgumentTypeError, match="unknown row"):
        parse_rows("constant,hologan")
    with pytest.raises(SystemExit):
        parse_args(["--budget", "0"])
