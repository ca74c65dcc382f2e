"""The evaluation protocol as a torchmetrics ``Metric``, so predictions gathered on several processes reduce to one."""

from __future__ import annotations

import torch
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from ssv.evaluation.protocol import DEFAULT_N_CALIBRATION, ProtocolResult, check_calibration_count, evaluate_protocol


class ViewpointProtocolMetric(Metric):
    """Collects predicted and true viewpoints (degrees) with dataset indices; ``compute()`` runs the protocol.

    The calibration needs every prediction before any error can be measured, so the states are concatenated
    across processes rather than summed. An index seen twice (a distributed sampler pads the last batch with
    repeats) counts once, and rows are ordered by index, so the seeded calibration subset is the same however
    the data was split.
    """

    full_state_update = False
    is_differentiable = False
    higher_is_better = False

    def __init__(self, n_calibration: int = DEFAULT_N_CALIBRATION, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        check_calibration_count(n_calibration)
        self.n_calibration = n_calibration
        self.seed = seed
        self.add_state("predicted", default=[], dist_reduce_fx="cat")
        self.add_state("true", default=[], dist_reduce_fx="cat")
        self.add_state("index", default=[], dist_reduce_fx="cat")

    def update(self, predicted: torch.Tensor, true: torch.Tensor, index: torch.Tensor) -> None:
        """``predicted`` and ``true`` ``[B, 3]`` in degrees, ``index`` ``[B]`` the images' dataset indices."""
        self.predicted.append(predicted.detach().float())
        self.true.append(true.detach().float())
        self.index.append(index.detach().long())

    def compute(self) -> ProtocolResult:
        index, first = _unique_first(dim_zero_cat(self.index))
        predicted, true = dim_zero_cat(self.predicted)[first], dim_zero_cat(self.true)[first]
        return evaluate_protocol(predicted, true, index, self.n_calibration, self.seed)


def _unique_first(index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted unique indices and, for each, the position of its first occurrence."""
    order = torch.argsort(index, stable=True)
    ordered = index[order]
    keep = torch.ones_like(ordered, dtype=torch.bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep], order[keep]
