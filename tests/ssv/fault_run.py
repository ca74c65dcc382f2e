"""Runs ``ssv.train.main`` with a fault after one iteration (run as a script by test_faults.py).

Usage: python fault_run.py {KILL|TERM|HOLD} ITERATION FILE TRAIN_ARGS...
KILL, TERM: the process sends itself SIGKILL or SIGTERM (FILE is unused).
HOLD: the run creates FILE.ready and waits until FILE exists, holding its run folder meanwhile.
"""

import os
import signal
import sys
import time
from pathlib import Path

import pytorch_lightning as pl

from ssv import train


class FaultAfter(pl.Callback):
    def __init__(self, kind: str, iteration: int, file: Path):
        self.kind, self.iteration, self.file = kind, iteration, file

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.iteration != self.iteration:
            return
        if self.kind != "HOLD":
            os.kill(os.getpid(), getattr(signal, f"SIG{self.kind}"))
            return
        Path(f"{self.file}.ready").touch()
        while not self.file.exists():
            time.sleep(0.05)


def with_fault(kind: str, iteration: int, file: Path):
    build_trainer = train.build_trainer

    def build(config, run_dir):
        trainer = build_trainer(config, run_dir)
        trainer.callbacks.insert(0, FaultAfter(kind, iteration, file))
        return trainer

    return build


if __name__ == "__main__":
    kind, iteration, file, *train_args = sys.argv[1:]
    train.build_trainer = with_fault(kind, int(iteration), Path(file))
    sys.exit(train.main(train_args))
