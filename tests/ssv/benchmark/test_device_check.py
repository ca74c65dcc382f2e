import json

import pytest

from ssv.benchmark.device_check import BENCH_MINUTES, bench_minutes, main, max_time, training_minutes


def test_minutes_become_lightnings_wall_clock_format():
    assert max_time(5) == "00:00:05:00"
    assert max_time(90.5) == "00:01:30:30"
    assert max_time(0.001) == "00:00:00:01"


def test_trainings_get_what_the_budget_leaves_up_to_their_most():
    assert training_minutes(budget=8, spent=1, most=5) == 5
    assert training_minutes(budget=8, spent=4, most=5) == 3
    assert training_minutes(budget=8, spent=9, most=5) == 0.5


def test_the_benchmark_gets_what_the_trainings_leave_but_never_less_than_its_minimum():
    assert bench_minutes(budget=12, spent=0.5, training=5) == 5.5
    assert bench_minutes(budget=8, spent=0.3, training=5) == BENCH_MINUTES


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_device_check_runs_every_step_and_writes_one_report(tmp_path):
    out = tmp_path / "check"
    tiny = ["model.width=0.125", "model.code_size=8", "model.mapping_layers=2", "model.image_size=32",
            "data.batch_size=4", "data.num_workers=0", "imc.features=pixels", "data.synthetic.num_train=16",
            "data.synthetic.num_test=24", "evaluation.n_calibration=8", f"data.synthetic.cache_dir={tmp_path / 'data'}"]
    bench = "--iterations 1 --warmup 0 --variants none " + " ".join(tiny)
    code = main(["--out", str(out), "--train-minutes", "0.05", "--bench-profile", "small", "--bench-args", bench,
                 *tiny])
    report = json.loads((out / "device_check.json").read_text())
    assert code == 0, report
    assert report["cuda_tests"]["exit_code"] in (0, 5) and report["speed"]["results"]["training_peak_memory_mib"] > 0
    iteration = next(r for r in report["speed"]["records"] if r["name"] == "iteration")
    assert iteration["median_ms"] > 0
    assert report["data_rendering"]["seconds"] >= 0 and any((tmp_path / "data").glob("faces-*/COMPLETE"))
    for profile in ("cpu", "paper"):
        assert report["trainings"][profile]["evaluation"]["iterations"] > 0
