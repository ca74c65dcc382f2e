import os
import random

import numpy as np
import pytest
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from ssv.checkpointing import AtomicCheckpointIO, RandomState, resolve_resume, run_directory_of


def test_an_interrupted_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"weights": torch.ones(3)}, path)

    def crash_midway(self, checkpoint, partial_path, storage_options=None):
        partial_path.write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", crash_midway)
    with pytest.raises(OSError):
        io.save_checkpoint({"weights": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.ones(3))


def test_random_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    callback = RandomState()
    torch.manual_seed(1), np.random.seed(2), random.seed(3)
    path = tmp_path / "rng.pt"
    torch.save(callback.state_dict(), path)
    expected = (torch.rand(3), np.random.rand(3), random.random())
    torch.manual_seed(7), np.random.seed(7), random.seed(7)
    callback.load_state_dict(torch.load(path, weights_only=True))
    restored = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(expected[0], restored[0])
    assert np.array_equal(expected[1], restored[1]) and expected[2] == restored[2]


def make_run(runs, name, mtime):
    path = runs / "faces" / name / "checkpoints" / "last.ckpt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    os.utime(path, (mtime, mtime))
    return path


def test_resume_auto_takes_the_newest_last_checkpoint_of_the_category(tmp_path):
    make_run(tmp_path, "old", 1000)
    newest = make_run(tmp_path, "new", 2000)
    assert resolve_resume("auto", tmp_path, "faces") == newest
    assert run_directory_of(newest) == (tmp_path / "faces" / "new").resolve()
    assert resolve_resume("auto", tmp_path, "cars") is None
    assert resolve_resume(None, tmp_path, "faces") is None


def test_resume_of_a_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.ckpt"):
        resolve_resume(str(tmp_path / "missing.ckpt"), tmp_path, "faces")
