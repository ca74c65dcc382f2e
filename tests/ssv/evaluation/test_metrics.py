import pytest
import torch

from ssv.evaluation.metrics import ViewpointProtocolMetric
from ssv.evaluation.protocol import CalibrationError

COUNT = 120


def labeled_predictions(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    true = (torch.rand(COUNT, 3, generator=generator) * 2 - 1) * 45
    predicted = -0.8 * true + 3 + torch.randn(COUNT, 3, generator=generator) * 4
    return predicted, true, torch.arange(COUNT)


def updated(metric: ViewpointProtocolMetric, rows: torch.Tensor, batch: int = 16) -> ViewpointProtocolMetric:
    predicted, true, index = labeled_predictions()
    for start in range(0, len(rows), batch):
        chunk = rows[start:start + batch]
        metric.update(predicted[chunk], true[chunk], index[chunk])
    return metric


def assert_same_result(result, expected):
    assert result.metrics == pytest.approx(expected.metrics)
    assert torch.equal(result.index, expected.index)
    assert torch.equal(result.is_calibration, expected.is_calibration)
    assert torch.allclose(result.calibrated, expected.calibrated)


def test_two_processes_halves_merge_to_the_single_process_result():
    everything = updated(ViewpointProtocolMetric(n_calibration=20), torch.arange(COUNT)).compute()
    # A distributed sampler deals rows round-robin to the ranks.
    rank0 = updated(ViewpointProtocolMetric(n_calibration=20), torch.arange(0, COUNT, 2))
    rank1 = updated(ViewpointProtocolMetric(n_calibration=20), torch.arange(1, COUNT, 2))
    rank0.merge_state(rank1)
    assert_same_result(rank0.compute(), everything)


def test_rows_padded_in_twice_count_once_and_order_does_not_matter():
    everything = updated(ViewpointProtocolMetric(n_calibration=20), torch.arange(COUNT)).compute()
    shuffled = torch.randperm(COUNT, generator=torch.Generator().manual_seed(5))
    padded = torch.cat([shuffled, shuffled[:7]])  # the last ranks' batches repeat the first rows
    result = updated(ViewpointProtocolMetric(n_calibration=20), padded).compute()
    assert_same_result(result, everything)
    assert result.metrics["n_calibration"] + result.metrics["n_test"] == COUNT


def test_the_calibration_seed_selects_the_subset():
    first = updated(ViewpointProtocolMetric(n_calibration=20, seed=0), torch.arange(COUNT)).compute()
    second = updated(ViewpointProtocolMetric(n_calibration=20, seed=1), torch.arange(COUNT)).compute()
    assert not torch.equal(first.is_calibration, second.is_calibration)
    assert first.metrics["mae_mean"] != second.metrics["mae_mean"]


def test_reset_forgets_predictions():
    metric = updated(ViewpointProtocolMetric(n_calibration=20), torch.arange(COUNT))
    metric.reset()
    updated(metric, torch.arange(40))
    assert metric.compute().metrics["n_test"] == 20


def test_a_calibration_subset_below_two_images_is_refused():
    with pytest.raises(CalibrationError, match="at least 2"):
        ViewpointProtocolMetric(n_calibration=1)
