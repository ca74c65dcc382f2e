"""`make bench` end to end on a tiny model: every measurement, the pass ledger and the reported targets."""

import json

import pytest

from ssv.benchmark import speed

pytestmark = pytest.mark.integration  # trains models: left out of `make test-quick`


@pytest.fixture(scope="module")
def bench(tmp_path_factory, tiny_overrides):
    out = tmp_path_factory.mktemp("bench")
    speed.main(["--profile", "small", "--batch", "2", "--iterations", "2", "--warmup", "1", "--reference",
                "--variants", "bf16", "--out", str(out), *tiny_overrides])
    return json.loads((out / "bench.json").read_text())


def test_every_measurement_is_recorded(bench):
    names = [record["name"] for record in bench["records"]]
    assert names == ["iteration", "iteration: V step", "iteration: S step",
                     "reference iteration", "reference iteration: V step", "reference iteration: S step",
                     "iteration bf16", "iteration bf16: V step", "iteration bf16: S step", "loader", "inference",
                     "predict torch eager, batch 1", "predict torch eager, batch 32",
                     "predict onnxruntime, batch 1", "predict onnxruntime, batch 32"]
    for record in bench["records"]:
        assert record["skipped"] is None, record["name"]
        batch = int(record["name"].split("batch ")[1]) if record["name"].startswith("predict") else 2
        assert (record["profile"], record["batch"], record["image_size"]) == ("small", batch, 32)
        assert record["median_ms"] > 0 and record["images_per_s"] > 0 and record["peak_memory_mib"] > 0


def test_passes_add_up_to_the_iteration_and_its_steps(bench):
    records = {record["name"]: record for record in bench["records"]}
    for design in ("iteration", "reference iteration"):
        iteration = records[design]
        assert sum(p["flops"] for p in iteration["passes"]) == iteration["flops_per_iteration"]
        assert sum(p["share"] for p in iteration["passes"]) == pytest.approx(1.0)
        steps = [records[f"{design}: {step}"]["flops_per_iteration"] for step in ("V step", "S step")]
        assert sum(steps) == iteration["flops_per_iteration"]
    labels = [p["pass"] for p in records["iteration"]["passes"]]
    assert labels[:2] == ["V step: S volume forward [2, no grad]", "V step: S render forward [2, no grad]"]
    assert "V step: V forward [6]" in labels  # real, fake and mirror in one pass
    assert "S step: S volume forward [4]" in labels  # two styles, rendered at four viewpoints
    assert "S step: S render forward [8]" in labels
    assert labels.count("V step: backward") == labels.count("S step: backward") == 1


def test_the_reference_does_more_work_and_the_targets_are_computed(bench):
    records = {record["name"]: record for record in bench["records"]}
    results = bench["results"]
    assert records["reference iteration"]["flops_per_iteration"] > records["iteration"]["flops_per_iteration"]
    assert results["speedup_vs_reference"] == pytest.approx(
        records["reference iteration"]["median_ms"] / records["iteration"]["median_ms"])
    assert results["loader_over_training_consumption"] == pytest.approx(
        records["loader"]["images_per_s"] / records["iteration"]["images_per_s"])
    assert bench["machine"]["torch"]


def test_unknown_variants_are_refused(capsys):
    with pytest.raises(SystemExit):
        speed.parse_args(["--variants", "fp8"])
    assert "unknown variants ['fp8']" in capsys.readouterr().err


def test_no_predict_leaves_out_the_cpu_predictor_and_a_time_limit_must_be_positive(capsys):
    args = speed.parse_args(["--profile", "small", "--no-predict", "--variants", "compile"])
    args.batch = 2
    assert [case.name for _, case in speed.planned_cases(args)] == ["iteration", "iteration compile", "loader",
                                                                    "inference", "inference compile"]
    with pytest.raises(SystemExit):
        speed.parse_args(["--time-limit", "0"])
    assert "--time-limit must be a positive number of minutes" in capsys.readouterr().err


def test_measurements_that_would_start_past_the_time_limit_are_listed_as_skipped(monkeypatch):
    clock = [0.0]

    def one_minute_each(kind, case):
        clock[0] += 60.0
        return [{"name": case.name, "skipped": None}]

    monkeypatch.setattr(speed.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(speed, "measure_in_fresh_process", one_minute_each)
    cases = [("training", speed.Case(name, "small", 2)) for name in ("iteration", "reference iteration", "loader")]
    records = speed.measure_all(cases, time_limit=1.5)
    assert [(r["name"], r["skipped"]) for r in records] == [
        ("iteration", None), ("reference iteration", None), ("loader", "past the 1.5-minute time limit")]
    assert records[-1]["image_size"] == cases[-1][1].config().model.image_size and records[-1]["median_ms"] is None
