"""Checkpoints that survive crashes and pre-emption, exact resumption, and finding what to resume from."""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO
from pytorch_lightning.utilities.exceptions import SIGTERMException

log = logging.getLogger(__name__)

LAST_CHECKPOINT = "last.ckpt"
# A run keeps its checkpoints in <run>/checkpoints/.
CHECKPOINTS_FOLDER = "checkpoints"
LOCK_NAME = ".lock"


class CheckpointSaveError(OSError):
    """A checkpoint could not be written (e.g. the disk is full); the message names the last good one."""


class ResumeError(ValueError):
    """No usable checkpoint to resume from; the message names what was tried."""


class RunLockedError(RuntimeError):
    """Another live run holds the run folder."""


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes beside the target and renames: a crash mid-save never leaves a truncated checkpoint.

    Loads with ``weights_only=True`` whatever torch's default, so a crafted checkpoint cannot run code.
    """

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        try:
            super().save_checkpoint(checkpoint, partial, storage_options)
        except Exception as error:
            partial.unlink(missing_ok=True)  # a partial file on a full disk would keep it full
            last_good = newest_readable_checkpoint(path.parent)
            raise CheckpointSaveError(
                f"could not write checkpoint {path} ({error}); the last good checkpoint is {last_good or 'none'}"
            ) from None
        os.replace(partial, path)

    def load_checkpoint(self, path, map_location=None, weights_only: bool | None = None) -> dict[str, Any]:
        # torch.load itself: Lightning 2.4's TorchCheckpointIO takes no weights_only.
        return torch.load(path, map_location=map_location, weights_only=True)


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


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be resumed from (truncated, foreign, or holding code), or None when it can.

    Loaded with ``weights_only=True`` and memory-mapped, so checking costs little and runs no code.
    """
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # truncated zips, pickles with code and foreign files fail with many exception types
        return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        return "not a Lightning checkpoint"
    return None


def newest_first(paths) -> list[Path]:
    """Newest modification first; at equal times ``last.ckpt`` first."""
    return sorted(paths, key=lambda path: (os.path.getmtime(path), path.name == LAST_CHECKPOINT), reverse=True)


def newest_readable_checkpoint(checkpoint_dir: Path) -> Path | None:
    return next((path for path in newest_first(checkpoint_dir.glob("*.ckpt")) if unreadable_reason(path) is None),
                None)


def resolve_resume(resume: str | None, runs_dir: Path | str, category: str) -> Path | None:
    """``None``, a checkpoint path, or ``auto``: the newest readable checkpoint under ``runs/<category>/``.

    ``auto`` prefers the newest ``last.ckpt``; when that is unreadable it falls back, with a notice, to the newest
    readable checkpoint of any run of the category.
    """
    if not resume:
        return None
    if resume != "auto":
        return _explicit_resume(Path(resume))
    category_dir = Path(runs_dir, category)
    last = newest_first(category_dir.glob(f"*/{CHECKPOINTS_FOLDER}/{LAST_CHECKPOINT}"))
    if not last:
        log.warning("RESUME=auto: no %s under %s; starting a new run", LAST_CHECKPOINT, category_dir)
        return None
    others = [path for path in newest_first(category_dir.glob(f"*/{CHECKPOINTS_FOLDER}/*.ckpt")) if path != last[0]]
    tried = []
    for path in [last[0], *others]:
        reason = unreadable_reason(path)
        if reason is None:
            if tried:
                log.warning("RESUME=auto: %s is unreadable (%s); resuming from %s instead", *tried[0], path)
            return path
        tried.append((path, reason))
    raise ResumeError(f"RESUME=auto: no readable checkpoint under {category_dir}; tried "
                      + "; ".join(f"{path} ({reason})" for path, reason in tried))


def _explicit_resume(path: Path) -> Path:
    if not path.is_file():
        raise FileNotFoundError(f"RESUME checkpoint not found: {path}")
    reason = unreadable_reason(path)
    if reason is not None:
        raise ResumeError(f"RESUME checkpoint {path} cannot be loaded safely ({reason})")
    return path


def run_directory_of(checkpoint: Path) -> Path:
    """``runs/<category>/<run>/checkpoints/x.ckpt`` -> ``runs/<category>/<run>``."""
    return checkpoint.resolve().parent.parent


class RunLock:
    """An exclusive lock on a run folder: a ``.lock`` file naming the holder (pid, host, start time).

    A lock left by a dead process on this host (kill -9, a crash) is taken over with a notice; a live holder, or one
    on another host, makes :meth:`acquire` fail naming it. Used as a context manager, released on exit.
    """

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_NAME
        self.holder = {"pid": os.getpid(), "host": socket.gethostname(),
                       "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def acquire(self) -> None:
        if self._create():
            return
        holder = self._read_holder()
        if holder is not None and not self._is_stale(holder):
            raise RunLockedError(f"{self.path.parent} is in use by the run of pid {holder['pid']} on "
                                 f"{holder['host']} (started {holder['started']}); wait for it to end or use another "
                                 f"run_name (remove {self.path} only if that run is gone)")
        log.warning("Taking over the stale lock %s of %s", self.path, _describe(holder))
        self.path.unlink(missing_ok=True)
        if not self._create():
            raise RunLockedError(f"{self.path.parent} was taken by another run starting at the same time")

    def release(self) -> None:
        if self._read_holder() == self.holder:
            self.path.unlink(missing_ok=True)

    def _create(self) -> bool:
        """Links a complete holder file into place: atomic, and never seen half-written."""
        draft = self.path.with_name(f"{LOCK_NAME}.{os.getpid()}")
        draft.write_text(json.dumps(self.holder))
        try:
            os.link(draft, self.path)
        except FileExistsError:
            return False
        finally:
            draft.unlink()
        return True

    def _read_holder(self) -> dict | None:
        """The holder, or None when the lock is gone or unreadable (a holder killed while writing it)."""
        try:
            holder = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return holder if isinstance(holder, dict) and {"pid", "host", "started"} <= holder.keys() else None

    @staticmethod
    def _is_stale(holder: dict) -> bool:
        return holder["host"] == socket.gethostname() and not _process_alive(holder["pid"])


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _describe(holder: dict | None) -> str:
    if holder is None:
        return "an unknown holder"
    return f"pid {holder['pid']} on {holder['host']} (started {holder['started']}), no longer running"
