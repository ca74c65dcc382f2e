import pytest

from ssv.benchmark.measure import Case, run_case, table


def test_a_variant_that_cannot_run_is_reported_as_skipped_with_its_reason(tiny_overrides):
    variant = Case("iteration odd", "small", 2, tiny_overrides, precision="odd-precision", optional=True)
    (record,) = run_case("training", variant)
    assert record["median_ms"] is None
    assert "odd-precision" in record["skipped"]
    with pytest.raises(Exception, match="odd-precision"):
        run_case("training", Case("iteration", "small", 2, tiny_overrides, precision="odd-precision"))


def test_inference_is_timed_and_counted_on_a_tiny_model(tiny_overrides):
    (record,) = run_case("inference", Case("inference", "small", 2, tiny_overrides, iterations=2))
    assert (record["name"], record["batch"], record["image_size"], record["skipped"]) == ("inference", 2, 32, None)
    assert record["median_ms"] > 0 and record["flops_per_iteration"] > 0
    assert record["images_per_s"] == pytest.approx(2000.0 / record["median_ms"])


def test_the_table_has_a_line_per_record_and_says_why_one_was_skipped():
    measured = {"name": "iteration", "skipped": None, "median_ms": 1234.5, "images_per_s": 8.0,
                "flops_per_iteration": 3e9, "gflops_per_s": 2.5, "peak_memory_mib": 100.0}
    skipped = {"name": "iteration bf16", "skipped": "RuntimeError: no bf16"}
    lines = table([measured, skipped]).splitlines()
    assert lines[2] == "| iteration | 1,234.5 | 8.0 | 3.0 | 2.5 | 100 |"
    assert lines[3] == "| iteration bf16 | skipped: RuntimeError: no bf16 | | | | |"
