"""DataLoaders whose position in an epoch is saved in checkpoints, so that a resumed run continues with the next batch.

Lightning stores the ``state_dict`` of a train DataLoader that has one and hands it back through ``load_state_dict``
when a run resumes. The position is the epoch and the number of batches delivered in it; the order of an epoch is a
pure function of the seed and the epoch, never of the global RNG, so the same batches follow.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler

logger = logging.getLogger(__name__)


class ResumableLoader(DataLoader):
    """Each ``iter()`` starts the next epoch, or finishes the one a loaded state interrupted.

    Subclasses say where the position goes (:meth:`_set_position`) and what else the order depends on
    (:meth:`_layout`): a state saved under another layout restarts its epoch from the beginning, with a warning.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._epoch = -1
        self._delivered = 0
        self._resume_at: tuple[int, int] | None = None
        # Batches of the current epoch delivered before a resume: 0 when the epoch is read from its start.
        self.epoch_start = 0

    def __iter__(self) -> Iterator[Any]:
        epoch, delivered = self._resume_at or (self._epoch + 1, 0)
        self._resume_at = None
        if delivered >= len(self):
            epoch, delivered = epoch + 1, 0
        self._epoch, self._delivered, self.epoch_start = epoch, delivered, delivered
        self._set_position(epoch, delivered)
        for batch in super().__iter__():
            self._delivered += 1
            yield batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self._epoch, "delivered_batches": self._delivered, **self._layout()}

    def load_state_dict(self, state: dict[str, int]) -> None:
        layout = self._layout()
        saved = {key: state.get(key) for key in layout}
        if saved != layout:
            logger.warning("Loader state saved with %s, now %s: epoch %d is drawn again from its start",
                           saved, layout, state["epoch"])
            self._resume_at = (state["epoch"], 0)
            return
        self._resume_at = (state["epoch"], state["delivered_batches"])

    def _set_position(self, epoch: int, delivered_batches: int) -> None:
        raise NotImplementedError

    def _layout(self) -> dict[str, int]:
        raise NotImplementedError


class EpochSampler(Sampler[int]):
    """This rank's share of a seeded permutation of ``length`` items per epoch, from a batch position on.

    Rank r of W takes the r-th of W contiguous slices of ``length // W`` items, so ranks never overlap and together
    cover the collection once per epoch (the remainder waits for another epoch's order).
    """

    def __init__(self, length: int, batch_size: int, *, seed: int = 0, rank: int = 0, world_size: int = 1):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in [0, world_size={world_size})")
        self.length = length
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self._epoch = 0
        self._start = 0

    def __len__(self) -> int:
        return self.length // self.world_size

    def set_position(self, epoch: int, delivered_batches: int) -> None:
        self._epoch, self._start = epoch, delivered_batches * self.batch_size

    def __iter__(self) -> Iterator[int]:
        order = np.random.default_rng([self.seed, self._epoch]).permutation(self.length)
        share = order[self.rank * len(self):(self.rank + 1) * len(self)]
        yield from share[self._start:].tolist()


class ResumableFolderLoader(ResumableLoader):
    """A map-style DataLoader driven by an :class:`EpochSampler`; worker count does not change the order."""

    def __init__(self, dataset, sampler: EpochSampler, *, drop_last: bool = True, **kwargs):
        # The loader's own generator only seeds workers; left unset it would draw from the global RNG.
        generator = torch.Generator().manual_seed(sampler.seed)
        super().__init__(dataset, batch_size=sampler.batch_size, sampler=sampler, drop_last=drop_last,
                         generator=generator, **kwargs)

    def __len__(self) -> int:
        """Batches of a whole epoch, also while a resumed epoch delivers only its remaining ones."""
        share = len(self.sampler)
        return share // self.batch_size if self.drop_last else -(-share // self.batch_size)

    def _set_position(self, epoch: int, delivered_batches: int) -> None:
        self.sampler.set_position(epoch, delivered_batches)

    def _layout(self) -> dict[str, int]:
        sampler = self.sampler
        return {"length": sampler.length, "batch_size": self.batch_size, "drop_last": int(self.drop_last),
                "world_size": sampler.world_size, "seed": sampler.seed}
