import json
import os
import random
import subprocess

import numpy as np
import pytest
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from ssv.checkpointing import (
    AtomicCheckpointIO,
    RandomState,
    ResumeError,
    RunLock,
    RunLockedError,
    resolve_resume,
    run_directory_of,
)


def test_an_interrupted_save_leaves_the_previous_checkpoint_intact(tmp_path, monkeypatch):
    io = AtomicCheckpointIO()
    path = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {}, "weights": torch.ones(3)}, path)

    def crash_midway(self, checkpoint, partial_path, storage_options=None):
        partial_path.write_bytes(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", crash_midway)
    with pytest.raises(OSError, match=f"disk full.*the last good checkpoint is {path}"):
        io.save_checkpoint({"weights": torch.zeros(3)}, path)
    assert torch.equal(torch.load(path, weights_only=True)["weights"], torch.ones(3))
    assert sorted(path.parent.iterdir()) == [path]  # the partial file is gone


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


def make_run(runs, name, mtime, file="last.ckpt"):
    path = runs / "faces" / name / "checkpoints" / file
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {}}, path)
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


def test_resume_auto_falls_back_from_an_unreadable_last_checkpoint(tmp_path, caplog):
    older = make_run(tmp_path, "run", 1000, "iter0000002.ckpt")
    make_run(tmp_path, "run", 2000).write_bytes(b"truncated")
    assert resolve_resume("auto", tmp_path, "faces") == older
    assert "resuming from" in caplog.text and str(older) in caplog.text
    older.write_bytes(b"also truncated")
    with pytest.raises(ResumeError, match="no readable checkpoint.*last.ckpt.*iter0000002.ckpt"):
        resolve_resume("auto", tmp_path, "faces")


def test_checkpoints_are_loaded_without_running_code(tmp_path, code_running_file):
    crafted = tmp_path / "crafted.ckpt"
    marker = code_running_file(crafted)
    with pytest.raises(Exception, match="[Ww]eights only load failed"):
        AtomicCheckpointIO().load_checkpoint(crafted, weights_only=False)
    with pytest.raises(ResumeError, match="crafted.ckpt cannot be loaded safely"):
        resolve_resume(str(crafted), tmp_path, "faces")
    assert not marker.exists()


def test_the_run_lock_names_its_holder_and_is_released(tmp_path):
    with RunLock(tmp_path) as held:
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()} on {held.holder['host']}"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / ".lock").exists()
    with RunLock(tmp_path):
        pass


def test_a_stale_lock_of_a_dead_process_is_taken_over_with_a_notice(tmp_path, caplog):
    finished = subprocess.Popen(["true"])
    finished.wait()
    stale = RunLock(tmp_path)
    stale.holder = {**stale.holder, "pid": finished.pid}
    stale.acquire()
    with RunLock(tmp_path) as taken:
        assert json.loads((tmp_path / ".lock").read_text()) == taken.holder
    assert "stale lock" in caplog.text and "no longer running" in caplog.text
