"""Experiment loggers: Weights & Biases by default (offline when it cannot reach its server), CSV, TensorBoard."""

from __future__ import annotations

import logging
import netrc
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlparse

import pytorch_lightning as pl
from omegaconf import DictConfig
from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger

from ssv.config import to_container

log = logging.getLogger(__name__)

WANDB_DEFAULT_HOST = "https://api.wandb.ai"
# The CSV logger's own folder in the run directory: it deletes earlier files in its folder and warns when that
# folder is not empty, as the run directory never is.
CSV_LOG_DIR = "csv"
TENSORBOARD_LOG_DIR = "tensorboard"


def wandb_server_reachable(timeout: float = 3.0) -> bool:
    """A plain TCP connect to the W&B server, so that a closed network never blocks training."""
    url = urlparse(os.environ.get("WANDB_BASE_URL", WANDB_DEFAULT_HOST))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def wandb_api_key_present() -> bool:
    """Looks where ``wandb login`` stores the key, without touching wandb's own (cached) settings."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", WANDB_DEFAULT_HOST)).hostname
    try:
        return netrc.netrc().authenticators(host) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        return False


def wandb_should_run_offline() -> tuple[bool, str]:
    """(offline?, why) from WANDB_MODE, the presence of credentials and the network."""
    mode = os.environ.get("WANDB_MODE", "")
    if mode in ("offline", "dryrun", "disabled"):
        return True, f"WANDB_MODE={mode}"
    if not wandb_api_key_present():
        return True, "no W&B API key (run `wandb login` to log online)"
    if not wandb_server_reachable():
        return True, "the W&B server is not reachable"
    return False, "online"


def build_logger(config: DictConfig, run_dir: Path) -> Logger:
    kind = config.trainer.logger
    if kind == "csv":
        # Written at every logging step, so that a killed run keeps its rows up to the last one.
        return CSVLogger(save_dir=run_dir, name=CSV_LOG_DIR, version="",
                         flush_logs_every_n_steps=config.trainer.log_every_n_steps)
    if kind == "tensorboard":
        return TensorBoardLogger(save_dir=run_dir, name=TENSORBOARD_LOG_DIR, version="")
    offline, reason = wandb_should_run_offline()
    if offline:
        # Never prompt: an offline run is written to disk and can be uploaded later with `wandb sync`.
        os.environ["WANDB_MODE"] = "offline"
        log.warning("W&B runs offline (%s); the run is written under %s/wandb, upload it with "
                    "`wandb sync %s/wandb/offline-run-*`", reason, run_dir, run_dir)
    logger = WandbLogger(
        project=config.trainer.wandb_project,
        name=f"{config.category}/{run_dir.name}",
        save_dir=str(run_dir),
        offline=offline,
        log_model=not offline,
    )
    logger.log_hyperparams(to_container(config))
    return logger


class TrainingSpeed(pl.Callback):
    """Logs iterations and images per second (all devices together), from the time between iterations."""

    def __init__(self):
        self._last: float | None = None

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx) -> None:
        now = time.perf_counter()
        if self._last is not None:
            seconds = now - self._last
            images = batch["image"].shape[0] * trainer.world_size
            pl_module.log_dict({"speed/iterations_per_s": 1.0 / seconds, "speed/images_per_s": images / seconds},
                               on_step=True)
        self._last = now
