"""An evaluation's result on made-up predictions."""

import pytest
import torch

from ssv.evaluation.protocol import evaluate_protocol


@pytest.fixture
def protocol_result():
    """20 images whose predictions are the true angles mirrored and noisy, 5 of them for the calibration; the rows are
    the images in reverse order."""
    generator = torch.Generator().manual_seed(0)
    true = (torch.rand(20, 3, generator=generator) * 2 - 1) * torch.tensor([60.0, 30.0, 20.0])
    predicted = -true + torch.randn(20, 3, generator=generator)
    return evaluate_protocol(predicted, true, torch.arange(19, -1, -1), n_calibration=5, seed=0)
