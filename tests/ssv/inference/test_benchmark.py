"""The inference records of make bench (their presence and values are checked in tests/ssv/benchmark)."""

import pytest

from ssv.benchmark.measure import Case
from ssv.inference.benchmark import COMPILED, EAGER, runtime_records

TINY = ["model.image_size=32", "model.width=0.125", "model.code_size=8", "model.mapping_layers=2"]


def cannot_build():
    raise RuntimeError("no C++ compiler\nmore detail")


def test_torch_compile_failing_here_is_reported_as_skipped_with_its_reason():
    case = Case("predict", "small", 2, TINY, compiled=True)
    records = runtime_records(COMPILED, cannot_build, case, 32)
    assert [(r.name, r.batch, r.skipped) for r in records] == [
        ("predict torch.compile, batch 1", 1, "RuntimeError: no C++ compiler"),
        ("predict torch.compile, batch 32", 32, "RuntimeError: no C++ compiler"),
    ]


def test_any_other_runtime_failing_is_an_error():
    with pytest.raises(RuntimeError, match="no C\\+\\+ compiler"):
        runtime_records(EAGER, cannot_build, Case("predict", "small", 2, TINY), 32)
