import numpy as np
import pytest
import torch

from ssv.evaluation.protocol import (
    CalibrationError,
    absolute_errors,
    calibration_mask,
    error_summary,
    evaluate_protocol,
    fit_angle,
    geodesic_errors,
    folded_angles,
    swapped_angles,
)
from ssv.viewpoint import ANGLES

METRIC_KEYS = [
    "mae_azimuth", "mae_elevation", "mae_tilt", "mae_mean", "median_geodesic_deg", "acc_pi_6",
    "raw_mae_azimuth", "raw_mae_elevation", "raw_mae_tilt", "raw_mae_mean", "raw_median_geodesic_deg",
    "raw_acc_pi_6", "n_calibration", "n_test",
]


def true_angles(count: int = 400, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(count, 3, generator=generator) * 2 - 1) * torch.tensor([60.0, 40.0, 30.0])


def evaluate(predicted: torch.Tensor, true: torch.Tensor, n_calibration: int = 50, seed: int = 0):
    return evaluate_protocol(predicted, true, torch.arange(len(true)), n_calibration, seed)


def test_a_mirrored_scaled_frame_calibrates_to_zero_error_and_shows_in_the_fit():
    true = true_angles()
    result = evaluate(-2.0 * true + 10.0, true)
    for name, fit in zip(("azimuth", "elevation", "tilt"), result.fits):
        assert fit.slope == pytest.approx(-0.5), name
        assert fit.intercept == pytest.approx(5.0), name
        assert fit.r2 == pytest.approx(1.0)
        assert result.metrics[f"mae_{name}"] == pytest.approx(0.0, abs=1e-6)
    assert result.metrics["median_geodesic_deg"] == pytest.approx(0.0, abs=1e-4)
    assert result.metrics["acc_pi_6"] == 1.0
    test = ~result.is_calibration
    expected_raw = (10.0 - 3.0 * true[test]).abs().mean(dim=0).double()
    assert result.metrics["raw_mae_tilt"] == pytest.approx(float(expected_raw[2]))
    assert result.metrics["raw_mae_mean"] > 20
    assert torch.allclose(result.calibrated, true.double(), atol=1e-4)


def test_fit_matches_numpy_least_squares_and_r2():
    true = true_angles()[:, 0]
    noise = torch.randn(len(true), generator=torch.Generator().manual_seed(3)) * 15
    predicted = 0.7 * true + noise
    fit = fit_angle(predicted, true)
    slope, intercept = np.polyfit(predicted.numpy(), true.numpy(), 1)
    r2 = np.corrcoef(predicted.numpy(), true.numpy())[0, 1] ** 2
    assert fit.slope == pytest.approx(slope, rel=1e-4)
    assert fit.intercept == pytest.approx(intercept, rel=1e-4, abs=1e-4)
    assert fit.r2 == pytest.approx(r2, rel=1e-4)
    assert 0 < fit.r2 < 1


def test_constant_predictions_calibrate_to_the_calibration_mean():
    true = true_angles()
    result = evaluate(torch.zeros_like(true), true)
    calibration_mean = true[result.is_calibration].double().mean(dim=0)
    assert [fit.slope for fit in result.fits] == [0.0, 0.0, 0.0]
    assert torch.allclose(result.calibrated, calibration_mean.expand_as(result.calibrated))
    test = ~result.is_calibration
    expected = (true[test].double() - calibration_mean).abs().mean(dim=0)
    assert result.metrics["mae_azimuth"] == pytest.approx(float(expected[0]))
    assert [fit.r2 for fit in result.fits] == pytest.approx([0.0, 0.0, 0.0])


def test_errors_are_measured_only_on_images_outside_the_calibration_subset():
    true = true_angles(100)
    predicted = true.clone()
    result = evaluate(predicted, true, n_calibration=30)
    corrupted = predicted.clone()
    corrupted[result.is_calibration, 0] += 5.0  # shifts the fit's intercept by 5 degrees everywhere
    shifted = evaluate(corrupted, true, n_calibration=30)
    assert shifted.metrics["mae_azimuth"] == pytest.approx(5.0, abs=0.01)
    assert shifted.metrics["raw_mae_azimuth"] == pytest.approx(0.0, abs=1e-6)
    assert result.metrics["n_calibration"] == 30 and result.metrics["n_test"] == 70
    assert set(METRIC_KEYS) <= set(result.metrics)


def test_calibration_subset_is_seeded():
    first, again = calibration_mask(200, 40, seed=1), calibration_mask(200, 40, seed=1)
    other = calibration_mask(200, 40, seed=2)
    assert int(first.sum()) == 40 and torch.equal(first, again) and not torch.equal(first, other)


@pytest.mark.parametrize("n_calibration, n_images", [(1, 10), (10, 10), (20, 10)])
def test_impossible_calibration_sizes_are_refused(n_calibration, n_images):
    with pytest.raises(CalibrationError, match="n_calibration"):
        calibration_mask(n_images, n_calibration, seed=0)


def test_angle_errors_take_the_short_way_round():
    errors = absolute_errors(torch.tensor([[179.0, 10.0, -170.0]]), torch.tensor([[-179.0, -10.0, 170.0]]))
    assert errors[0].tolist() == pytest.approx([2.0, 20.0, 20.0])


@pytest.mark.parametrize(
    "predicted, true, expected",
    [
        ((10.0, 20.0, 30.0), (10.0, 20.0, 30.0), 0.0),
        ((0.0, 0.0, 0.0), (40.0, 0.0, 0.0), 40.0),
        ((15.0, 0.0, 0.0), (-10.0, 0.0, 0.0), 25.0),
        ((0.0, 0.0, 0.0), (0.0, -35.0, 0.0), 35.0),
        ((0.0, 0.0, 5.0), (0.0, 0.0, 30.0), 25.0),
        ((90.0, 0.0, 0.0), (0.0, 90.0, 0.0), 120.0),  # Ra(90)^T Re(90) has trace 0
        ((0.0, 0.0, 0.0), (180.0, 0.0, 0.0), 180.0),
    ],
)
def test_geodesic_error_of_known_rotations(predicted, true, expected):
    error = geodesic_errors(torch.tensor([predicted]), torch.tensor([true]))
    assert float(error) == pytest.approx(expected, abs=1e-5)


def test_accuracy_at_pi_6_and_median_geodesic_error():
    errors = torch.tensor([10.0, 20.0, 29.0, 31.0, 50.0, 60.0])
    true = torch.zeros(len(errors), 3)
    predicted = true.clone()
    predicted[:, 0] = errors  # pure azimuth errors: the rotation error equals them
    summary = error_summary(predicted, true, prefix="raw_")
    assert summary["raw_acc_pi_6"] == pytest.approx(3 / 6)
    assert summary["raw_median_geodesic_deg"] == pytest.approx(30.0, abs=1e-4)
    assert summary["raw_mae_azimuth"] == pytest.approx(float(errors.mean()))
    assert summary["raw_mae_mean"] == pytest.approx(float(errors.mean()) / 3)


def test_an_angle_whose_zero_lies_past_one_end_and_whose_sign_is_a_guess_is_called_folded():
    true = true_angles()
    random_signs = torch.randint(0, 2, (len(true),), generator=torch.Generator().manual_seed(5)) * 2 - 1
    # Elevation: the network's zero sits at a true 60 degrees, its size grows as the true angle falls, and a coin
    # picks its sign.
    predicted = true.clone()
    predicted[:, 1] = random_signs * (60.0 - true[:, 1])
    result = evaluate(predicted, true, n_calibration=100)
    metrics = result.metrics
    assert metrics["magnitude_r2_elevation"] == pytest.approx(1.0)
    assert metrics["magnitude_intercept_elevation"] == pytest.approx(60.0)
    assert metrics["r2_elevation"] < 0.2
    assert folded_angles(metrics) == ["elevation"]


def test_an_angle_whose_sign_is_a_guess_around_a_centred_zero_is_not_called_folded():
    true = true_angles()
    random_signs = torch.randint(0, 2, (len(true),), generator=torch.Generator().manual_seed(6)) * 2 - 1
    predicted = true.clone()
    predicted[:, 1] = random_signs * true[:, 1]  # the size is read, the sign is not: no calibration can help
    metrics = evaluate(predicted, true, n_calibration=100).metrics
    assert metrics["magnitude_r2_elevation"] < 0.1 and metrics["r2_elevation"] < 0.1
    assert folded_angles(metrics) == []


def test_an_angle_read_with_its_sign_is_not_folded_wherever_its_zero_lies():
    true = true_angles()
    offset = torch.tensor([0.0, 50.0, -45.0])  # whole ranges on one side of the network's zero: |pred| = +-pred
    result = evaluate(true + offset, true)
    assert folded_angles(result.metrics) == []
    assert result.metrics["magnitude_r2_azimuth"] < 0.1
    assert result.metrics["magnitude_r2_elevation"] == pytest.approx(1.0)


def test_a_network_that_reads_tilt_in_its_azimuth_and_azimuth_in_its_tilt_has_them_swapped():
    true = true_angles()
    predicted = true[:, [2, 1, 0]] * torch.tensor([2.0, 1.0, -0.5])  # scaled and mirrored, as a network's frame may be
    metrics = evaluate(predicted, true, n_calibration=100).metrics
    assert metrics["cross_r2_azimuth_tilt"] == pytest.approx(1.0)
    assert metrics["cross_r2_tilt_azimuth"] == pytest.approx(1.0)
    assert swapped_angles(metrics) == [("azimuth", "tilt"), ("tilt", "azimuth")]


def test_a_network_that_reads_each_angle_about_its_own_axis_has_none_swapped():
    true = true_angles()
    noise = torch.randn(true.shape, generator=torch.Generator().manual_seed(7)) * 10.0
    metrics = evaluate(-true + noise, true, n_calibration=100).metrics
    assert swapped_angles(metrics) == []
    assert all(metrics[f"cross_r2_{name}_{other}"] < 0.1 for name in ANGLES for other in ANGLES if name != other)
