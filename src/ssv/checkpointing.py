"""Checkpoints that survive crashes and pre-emption, exact resumption, and finding what to resume from."""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.ckpt"


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes beside the target and renames: a crash mid-save never leaves a truncated checkpoint."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        super().save_checkpoint(checkpoint, partial, storage_options)
        os.replace(partial, path)


class SaveOnPreemption(pl.Callback):
    """On SIGTERM (Lightning stops after the current batch), writes ``last.ckpt`` before exiting."""

    def __init__(self, checkpoint_dir: Path | str):
        self.checkpoint_dir = Path(checkpoint_dir)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, SIGTERMException):
            path = self.checkpoint_dir / LAST_CHECKPOINT
            trainer.save_checkpoint(path)
            log.warning("SIGTERM: saved %s; resume with RESUME=%s", path, path)


class RandomState(pl.Callback):
    """Stores the Python, NumPy and torch random states in checkpoints and restores them on resume."""

    def state_dict(self) -> dict[str, Any]:
        # Only tensors and plain Python values, so checkpoints load under torch's weights_only default.
        name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
        state = {
            "python": random.getstate(),
            "numpy": (name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached_gaussian),
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        random.setstate(state_dict["python"])
        name, keys, position, has_gauss, cached_gaussian = state_dict["numpy"]
        np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian))
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


def resolve_resume(resume: str | None, runs_dir: Path | str, category: str) -> Path | None:
    """``None``, a checkpoint path, or ``auto``: the newest ``last.ckpt`` under ``runs/<category>/``."""
    if not resume:
        return None
    if resume != "auto":
        path = Path(resume)
        if not path.is_file():
            raise FileNotFoundError(f"RESUME checkpoint not found: {path}")
        return path
    candidates = sorted(Path(runs_dir, category).glob(f"*/checkpoints/{LAST_CHECKPOINT}"), key=os.path.getmtime)
    if not candidates:
        log.warning("RESUME=auto: no %s under %s; starting a new run", LAST_CHECKPOINT, Path(runs_dir, category))
        return None
    return candidates[-1]


def run_directory_of(checkpoint: Path) -> Path:
    """``runs/<category>/<run>/checkpoints/x.ckpt`` -> ``runs/<category>/<run>``."""
    return checkpoint.resolve().parent.parent
