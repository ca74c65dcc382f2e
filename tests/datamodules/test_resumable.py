import logging

import pytest

from datamodules.resumable import EpochSampler, ResumableFolderLoader


def loader(length: int = 10, batch_size: int = 2, **kwargs) -> ResumableFolderLoader:
    return ResumableFolderLoader(list(range(length)), EpochSampler(length, batch_size, **kwargs))


def epoch(loader: ResumableFolderLoader) -> list[int]:
    return [int(item) for batch in loader for item in batch]


@pytest.mark.parametrize("world_size", [2, 3])
def test_ranks_take_disjoint_slices_of_one_seeded_permutation(world_size):
    shares = [list(EpochSampler(10, 2, seed=4, rank=rank, world_size=world_size)) for rank in range(world_size)]
    taken = [item for share in shares for item in share]
    assert len(taken) == len(set(taken)) == 10 // world_size * world_size
    assert shares == [list(EpochSampler(10, 2, seed=4, rank=rank, world_size=world_size))
                      for rank in range(world_size)]


def test_a_rank_outside_the_world_is_refused():
    with pytest.raises(ValueError, match=r"rank 2 is not in \[0, world_size=2\)"):
        EpochSampler(10, 2, rank=2, world_size=2)


def test_each_iteration_is_a_new_epoch_in_a_new_order():
    resumable = loader()
    first, second = epoch(resumable), epoch(resumable)
    assert sorted(first) == sorted(second) == list(range(10)) and first != second
    assert resumable.state_dict()["epoch"] == 1 and len(resumable) == 5


def test_a_loaded_state_continues_with_the_next_batch():
    interrupted, uninterrupted = loader(seed=1), loader(seed=1)
    batches = iter(interrupted)
    seen = [int(item) for _ in range(2) for item in next(batches)]
    resumed = loader(seed=1)
    resumed.load_state_dict(interrupted.state_dict())
    rest = epoch(resumed)
    assert resumed.epoch_start == 2 and seen + rest == epoch(uninterrupted)
    assert epoch(resumed) == epoch(uninterrupted)


def test_a_state_of_another_layout_restarts_its_epoch_with_a_warning(caplog):
    interrupted = loader(batch_size=2)
    next(iter(interrupted))
    resumed = loader(batch_size=5)
    with caplog.at_level(logging.WARNING):
        resumed.load_state_dict(interrupted.state_dict())
    assert "epoch 0 is drawn again from its start" in caplog.text
    assert epoch(resumed) == epoch(loader(batch_size=5))
