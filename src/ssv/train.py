"""Training entry point: ``python -m ssv.train --category faces [--profile small] [key=value ...]``."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import CSVLogger

from ssv.config import ConfigError, experiment_path, load_config, to_container

log = logging.getLogger("ssv.train")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--category", default="faces", help="experiment name: experiments/<name>.yaml")
    source.add_argument("--config", type=Path, help="path to an experiment YAML file")
    parser.add_argument("--profile", choices=("paper", "small"), help="default: small on CPU, paper on GPU")
    parser.add_argument("overrides", nargs="*", help="OmegaConf dotlist overrides, e.g. trainer.max_steps=10")
    return parser.parse_args(argv)


def run_directory(config: DictConfig) -> Path:
    name = config.run_name or f"{time.strftime('%Y%m%d-%H%M%S')}-{config.profile}"
    return Path(config.runs_dir) / config.category / name


def build_datamodule(config: DictConfig):
    from datamodules import UnlabeledImageDataModule

    data = config.data
    synthetic = None
    if data.root is None:
        settings = data.synthetic
        synthetic = {
            "category": config.category,
            "cache_dir": settings.cache_dir,
            "num_train": settings.num_train,
            "num_test": settings.num_test,
            "image_size": config.model.image_size,
            "seed": settings.seed,
            "ranges": None if settings.ranges is None else tuple(settings.ranges),
        }
        log.info("data.root is not set: training on the synthetic '%s' collection (labels unused)", config.category)
    return UnlabeledImageDataModule(
        root=data.root,
        synthetic=synthetic,
        image_size=config.model.image_size,
        batch_size=data.batch_size,
        num_workers=data.num_workers,
        color_jitter=data.color_jitter,
        seed=config.trainer.seed,
    )


def build_trainer(config: DictConfig, run_dir: Path) -> pl.Trainer:
    from ssv.samples import SampleWriter

    settings = config.trainer
    # Lightning counts an optimizer step per network: two per SSV iteration.
    checkpoints = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="iter{iteration:07.0f}",
        auto_insert_metric_name=False,
        every_n_train_steps=2 * settings.checkpoint_every_n_steps,
        save_top_k=-1,
        save_last=True,
    )
    return pl.Trainer(
        default_root_dir=run_dir,
        max_steps=2 * settings.max_steps,
        accelerator=settings.accelerator,
        devices=settings.devices,
        precision=settings.precision,
        log_every_n_steps=settings.log_every_n_steps,
        fast_dev_run=settings.fast_dev_run,
        logger=CSVLogger(save_dir=run_dir, name="", version=""),
        callbacks=[checkpoints, SampleWriter(run_dir / "samples", settings.sample_every_n_steps)],
    )


def train(config: DictConfig) -> Path:
    """Trains SSV with a validated config; returns the run directory."""
    from ssv.module import SSVModule

    run_dir = run_directory(config)
    run_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(config, run_dir / "config.yaml", resolve=True)
    print(f"SSV run directory: {run_dir}", flush=True)
    pl.seed_everything(config.trainer.seed, workers=True)
    datamodule = build_datamodule(config)
    model = SSVModule(to_container(config))
    trainer = build_trainer(config, run_dir)
    trainer.fit(model, datamodule=datamodule)
    print(f"SSV run finished: {run_dir} (checkpoints in {run_dir / 'checkpoints'})", flush=True)
    return run_dir


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        config_path = args.config or experiment_path(args.category)
        config = load_config(config_path, args.overrides, profile=args.profile)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    train(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
