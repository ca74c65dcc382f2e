"""What the console counts during training: SSV iterations, not Lightning's optimizer steps (two per iteration)."""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar

# The logger of Lightning's rank_zero_info, which announces why `Trainer.fit` stopped.
LIGHTNING_INFO_LOGGER = "pytorch_lightning.utilities.rank_zero"
_MAX_STEPS_REACHED = re.compile(r"`max_steps=(\d+)` reached")
# A bar written to a log file rather than a terminal keeps every redraw; this many steps apart keeps the file short.
LOG_FILE_REFRESH_RATE = 50


def refresh_rate(stream: TextIO | None = None) -> int:
    """Steps between redraws of a progress bar on ``stream`` (stderr by default): every step on a terminal."""
    stream = sys.stderr if stream is None else stream
    return 1 if stream.isatty() else LOG_FILE_REFRESH_RATE


def iterations_of(optimizer_steps: int) -> int:
    """SSV iterations in a count of optimizer steps, rounded up (a fast_dev_run stops after one step)."""
    return -(-optimizer_steps // 2)


class IterationProgressBar(TQDMProgressBar):
    """One bar over the whole run: iterations done out of ``trainer.max_steps``, across epochs and resumes."""

    def on_train_epoch_start(self, trainer: pl.Trainer, *args) -> None:
        super().on_train_epoch_start(trainer, *args)
        bar = self.train_progress_bar
        bar.total = iterations_of(trainer.max_steps) if trainer.max_steps > 0 else None
        bar.n = iterations_of(trainer.global_step)
        bar.set_description(f"Iterations (epoch {trainer.current_epoch})")

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args) -> None:
        bar = self.train_progress_bar
        iteration = iterations_of(trainer.global_step)
        if bar is not None and self._should_update(iteration, bar.total):
            bar.n = iteration
            bar.refresh()
            bar.set_postfix(self.get_metrics(trainer, pl_module))


class IterationsReached(logging.Filter):
    """Rewrites Lightning's "`Trainer.fit` stopped: `max_steps=60` reached." in the iterations the config counts."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        reached = _MAX_STEPS_REACHED.search(message)
        if reached:
            iterations = iterations_of(int(reached.group(1)))
            record.msg = _MAX_STEPS_REACHED.sub(f"trainer.max_steps={iterations} iterations reached", message)
            record.args = ()
        return True


def count_iterations_in_lightnings_messages() -> None:
    """Installs ``IterationsReached`` once on the logger Lightning announces the end of fitting with."""
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    if not any(isinstance(existing, IterationsReached) for existing in logger.filters):
        logger.addFilter(IterationsReached())
