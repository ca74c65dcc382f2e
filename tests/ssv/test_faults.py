"""Fault injection on a tiny model: kill -9, SIGTERM, a truncated checkpoint, two runs in one folder, a full disk
and an all-corrupt image folder. Each case ends in a known state with a one-line message (docs/reliability.md)."""

import csv
import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from ssv.checkpointing import LOCK_NAME
from ssv.train import PREEMPTED_EXIT_CODE, main

pytestmark = pytest.mark.integration  # trains models: left out of `make test-quick`

SCRIPT = Path(__file__).with_name("fault_run.py")


def start(kind, iteration, file, args):
    environment = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, str(SCRIPT), kind, str(iteration), str(file), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def finish(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def logged_steps(path: Path) -> list[int]:
    with path.open() as handle:
        return sorted({int(row["step"]) for row in csv.DictReader(handle) if row.get("v/total")})


def global_step(checkpoint: Path) -> int:
    return torch.load(checkpoint, map_location="cpu", weights_only=True)["global_step"]


def one_error_line(capsys) -> str:
    """The one error line, which ends stderr (progress bars of the data rendering may come before it)."""
    err = capsys.readouterr().err.strip()
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and err.endswith(errors[0]) and "Traceback" not in err, err
    return errors[0]


def test_kill_9_then_resume_auto_continues_at_the_checkpoint_and_keeps_every_log_row(tiny_args, tmp_path):
    args = tiny_args(tmp_path, "run_name=killed", "trainer.log_every_n_steps=1", "trainer.checkpoint_every_n_steps=2")
    code, _, err = finish(start("KILL", 3, tmp_path / "unused", [*args, "trainer.max_steps=50"]))
    assert code == -9, err[-3000:]
    run_dir = tmp_path / "runs" / "faces" / "killed"
    assert global_step(run_dir / "checkpoints" / "last.ckpt") == 4  # saved at iteration 2
    killed_rows = logged_steps(run_dir / "csv" / "metrics.csv")
    assert killed_rows and (run_dir / LOCK_NAME).exists()

    assert main([*args, "trainer.max_steps=4", "--resume", "auto"]) == 0
    assert logged_steps(run_dir / "csv-1" / "metrics.csv") == killed_rows
    resumed_rows = logged_steps(run_dir / "csv" / "metrics.csv")
    assert resumed_rows[0] == 2 and resumed_rows[-1] == 3  # iterations 3 and 4, counted from 0
    assert (run_dir / "config.yaml").read_text().count("max_steps: 50") == 1
    assert "max_steps: 4" in (run_dir / "config-2.yaml").read_text()
    assert global_step(run_dir / "checkpoints" / "last.ckpt") == 8
    assert not (run_dir / LOCK_NAME).exists()


def test_sigterm_saves_a_checkpoint_and_exits_with_the_preempted_code(tiny_args, tmp_path):
    args = tiny_args(tmp_path, "run_name=preempted", "trainer.max_steps=50")
    code, _, err = finish(start("TERM", 2, tmp_path / "unused", args))
    assert code == PREEMPTED_EXIT_CODE, err[-3000:]
    assert "pre-empted" in err
    run_dir = tmp_path / "runs" / "faces" / "preempted"
    assert global_step(run_dir / "checkpoints" / "last.ckpt") == 4
    assert not (run_dir / LOCK_NAME).exists()


def test_a_second_run_in_a_held_folder_is_refused_naming_the_holder(tiny_args, tmp_path, capsys):
    args = tiny_args(tmp_path, "run_name=shared", "trainer.max_steps=2")
    go = tmp_path / "go"
    holder = start("HOLD", 1, go, args)
    try:
        deadline = time.monotonic() + 300
        while not Path(f"{go}.ready").exists():
            assert holder.poll() is None and time.monotonic() < deadline, holder.communicate()[1][-3000:]
            time.sleep(0.1)
        assert main(args) == 2
        err = one_error_line(capsys)
        assert f"pid {holder.pid}" in err and "shared" in err
    finally:
        go.touch()
    code, _, err = finish(holder)
    assert code == 0, err[-3000:]
    run_dir = tmp_path / "runs" / "faces" / "shared"
    assert global_step(run_dir / "checkpoints" / "last.ckpt") == 4
    assert sorted(path.name for path in run_dir.glob("config*.yaml")) == ["config.yaml"]


def test_a_truncated_last_checkpoint_falls_back_to_the_newest_readable_one(tiny_args, tmp_path, caplog):
    args = tiny_args(tmp_path, "run_name=truncated", "trainer.checkpoint_every_n_steps=1")
    assert main([*args, "trainer.max_steps=2"]) == 0
    last = tmp_path / "runs" / "faces" / "truncated" / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:1000])
    assert main([*args, "trainer.max_steps=3", "--resume", "auto"]) == 0
    notices = [record.getMessage() for record in caplog.records if "RESUME=auto" in record.getMessage()]
    assert len(notices) == 1 and "iter0000002.ckpt" in notices[0] and "last.ckpt is unreadable" in notices[0]
    assert global_step(last) == 6


def test_resume_auto_with_no_readable_checkpoint_fails_in_one_line(tiny_args, tmp_path, capsys):
    last = tmp_path / "runs" / "faces" / "broken" / "checkpoints" / "last.ckpt"
    last.parent.mkdir(parents=True)
    last.write_bytes(b"PK\x03\x04 truncated")
    assert main(tiny_args(tmp_path, "--resume", "auto")) == 2
    assert "no readable checkpoint" in one_error_line(capsys)


def test_a_failing_save_removes_its_partial_file_and_names_the_last_good_checkpoint(tiny_args, tmp_path, capsys,
                                                                                    monkeypatch):
    save = TorchCheckpointIO.save_checkpoint
    saves = []

    def disk_full_on_the_third_save(self, checkpoint, path, storage_options=None):
        saves.append(path)
        if len(saves) < 3:
            return save(self, checkpoint, path, storage_options)
        Path(path).write_bytes(b"the first bytes of a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(TorchCheckpointIO, "save_checkpoint", disk_full_on_the_third_save)
    assert main(tiny_args(tmp_path, "run_name=full", "trainer.max_steps=4", "trainer.checkpoint_every_n_steps=1")) == 1
    err = one_error_line(capsys)
    checkpoints = tmp_path / "runs" / "faces" / "full" / "checkpoints"
    assert "No space left on device" in err and f"the last good checkpoint is {checkpoints}" in err
    assert not list(checkpoints.glob(".*.partial"))
    assert not (checkpoints.parent / LOCK_NAME).exists()


@pytest.mark.timeout(300)  # before the fix this run looped over empty epochs forever
def test_an_all_corrupt_image_folder_stops_at_once_naming_it(tiny_args, tmp_path, capsys):
    folder = tmp_path / "corrupt"
    folder.mkdir()
    for index in range(8):
        (folder / f"{index}.png").write_bytes(b"")
    started = time.monotonic()
    assert main(tiny_args(tmp_path, f"data.root={folder}", "trainer.max_steps=1000")) == 2
    assert time.monotonic() - started < 60
    err = one_error_line(capsys)
    assert str(folder) in err and "8 image files are unreadable" in err
