"""Training entry point: ``python -m ssv.train --category faces [--profile small] [key=value ...]``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from contextlib import nullcontext
from functools import partial
from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor, ModelCheckpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from datamodules.images import SkippedImagesReport, UnlabeledImageDataModule, UnreadableImagesError, count_images
from ssv.checkpointing import (
    CHECKPOINTS_FOLDER,
    LAST_CHECKPOINT,
    AtomicCheckpointIO,
    CheckpointSaveError,
    RandomState,
    ResumeError,
    RunLock,
    RunLockedError,
    SaveOnPreemption,
    resolve_resume,
    run_directory_of,
)
from ssv.config import PROFILES, ConfigError, experiment_path, load_config, to_container
from ssv.console import fail, run_command
from ssv.evaluation import evaluate_model, format_table, report_dir, write_report
from ssv.labeled_sources import read_labeled_source
from ssv.module import SSVModule
from ssv.progress import IterationProgressBar, count_iterations_in_lightnings_messages, refresh_rate
from ssv.samples import SampleWriter
from ssv.synthetic.collection import read_split, train_images
from ssv.tracking import CSV_LOG_DIR, TrainingSpeed, build_logger

log = logging.getLogger("ssv.train")

# 128 + SIGTERM, what a shell reports for a process that SIGTERM ended: the run was pre-empted, not finished.
PREEMPTED_EXIT_CODE = 143
RUN_FAILED_EXIT_CODE = 1
INPUT_ERRORS = (ConfigError, FileNotFoundError, ResumeError, RunLockedError, UnreadableImagesError)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Overrides come as ``key=value`` or, the way W&B sweep agents pass them, as ``--key=value``."""
    parser = argparse.ArgumentParser(description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--category", default="faces",
                        help="experiment name: experiments/<name>.yaml or $SSV_EXPERIMENTS/<name>.yaml")
    source.add_argument("--config", type=Path, help="path to an experiment YAML file")
    parser.add_argument("--profile", choices=PROFILES, help="default: cpu without a GPU, paper with one")
    parser.add_argument("--resume", help="a checkpoint to continue from, or 'auto' for the newest readable one")
    parser.add_argument("overrides", nargs="*", help="OmegaConf dotlist overrides, e.g. trainer.max_steps=10")
    argv = sys.argv[1:] if argv is None else argv
    options = {option for action in parser._actions for option in action.option_strings}
    is_override = [item.startswith("--") and "=" in item and item.split("=")[0] not in options for item in argv]
    args = parser.parse_args([item for item, flag in zip(argv, is_override) if not flag])
    args.overrides = list(args.overrides) + [item[2:] for item, flag in zip(argv, is_override) if flag]
    return args


def run_directory(config: DictConfig) -> Path:
    name = config.run_name or f"{time.strftime('%Y%m%d-%H%M%S')}-{config.profile}"
    return Path(config.runs_dir) / config.category / name


def check_before_training(config: DictConfig, run_dir: Path) -> None:
    """Input errors found before anything is built, downloaded or written; each raises a one-line ConfigError."""
    check_writable(run_dir)
    check_training_images(config)


def check_writable(run_dir: Path) -> None:
    """The nearest existing folder on the way to ``run_dir`` must be a folder this process can write in."""
    existing = next(path for path in (run_dir, *run_dir.parents) if path.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"bad config key 'runs_dir': cannot create the run folder {run_dir}: {existing} is not a "
                          "writable folder")


def check_training_images(config: DictConfig) -> None:
    """``data.root`` exists and holds at least one batch of images (the synthetic collection: ``num_train``)."""
    data = config.data
    if data.root is None:
        source, count = "the synthetic collection (data.synthetic.num_train)", data.synthetic.num_train
    else:
        try:
            source, count = data.root, count_images(data.root)
        except (FileNotFoundError, ValueError) as error:
            raise ConfigError(f"bad config key 'data.root': {error}") from None
    if count < data.batch_size:
        raise ConfigError(f"bad config key 'data.batch_size': {data.batch_size} is more than the {count} training "
                          f"images of {source}, so no full batch could be formed")


def record_attempt(run_dir: Path, config: DictConfig) -> int:
    """Writes this attempt's config beside the earlier ones and returns the attempt's number.

    Attempt 1 writes ``config.yaml``; a resumed attempt n writes ``config-<n>.yaml`` and keeps the previous
    attempt's CSV logs (``csv/``), which the CSV logger would delete, as ``csv-<n-1>/``.
    """
    attempt = 1 + len(list(run_dir.glob("config*.yaml")))
    csv_logs = run_dir / CSV_LOG_DIR
    if attempt > 1 and csv_logs.is_dir():
        csv_logs.rename(run_dir / f"{CSV_LOG_DIR}-{attempt - 1}")
    OmegaConf.save(config, run_dir / ("config.yaml" if attempt == 1 else f"config-{attempt}.yaml"), resolve=True)
    return attempt


def is_launching_process() -> bool:
    """True in the process a user started, False in the DDP ranks that Lightning's launcher starts again."""
    return rank_zero_only.rank == 0 and int(os.environ.get("NODE_RANK", 0)) == 0


def synthetic_settings(config: DictConfig) -> dict | None:
    """``ensure_rendered`` arguments of the synthetic collection, or None when ``data.root`` is set."""
    if config.data.root is not None:
        return None
    settings = config.data.synthetic
    return {
        "category": config.category,
        "cache_dir": settings.cache_dir,
        "num_train": settings.num_train,
        "num_test": settings.num_test,
        "image_size": config.model.image_size,
        "seed": settings.seed,
        "ranges": None if settings.ranges is None else tuple(settings.ranges),
    }


def build_datamodule(config: DictConfig) -> UnlabeledImageDataModule:
    """The training images: ``data.root``, else the train split of the synthetic collection, rendered in the data
    module's ``prepare_data`` (once per node, before any rank reads it)."""
    data = config.data
    synthetic = synthetic_settings(config)
    if synthetic is not None:
        log.info("data.root is not set: training on the synthetic '%s' collection (labels unused)", config.category)
    return UnlabeledImageDataModule(
        root=data.root,
        make_root=None if synthetic is None else partial(train_images, **synthetic),
        image_size=config.model.image_size,
        batch_size=data.batch_size,
        num_workers=data.num_workers,
        color_jitter=data.color_jitter,
        seed=config.trainer.seed,
    )


def distributed_strategy(settings: DictConfig) -> str:
    """Lightning wraps the whole module in one DDP and each step leaves the other network without gradients."""
    if settings.strategy != "auto":
        return settings.strategy
    several = settings.num_nodes > 1 or (isinstance(settings.devices, int) and settings.devices > 1)
    return "ddp_find_unused_parameters_true" if several else "auto"


def cpu_computes_bf16_natively() -> bool:
    """oneDNN's own check for bf16 instructions (AVX512-BF16 or AMX), where bf16 autocast pays off."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def training_precision(settings: DictConfig) -> str:
    """``trainer.precision``, with "auto" resolved: bf16 autocast for training on a CPU that computes bf16 natively,
    float32 elsewhere (on a GPU the recipe's float32)."""
    if settings.precision != "auto":
        return settings.precision
    on_cpu = settings.accelerator == "cpu" or (settings.accelerator == "auto" and not torch.cuda.is_available())
    precision = "bf16-mixed" if on_cpu and cpu_computes_bf16_natively() else "32-true"
    log.info("trainer.precision=auto: training in %s", precision)
    return precision


def build_trainer(config: DictConfig, run_dir: Path) -> pl.Trainer:
    settings = config.trainer
    checkpoint_dir = run_dir / CHECKPOINTS_FOLDER
    # Lightning counts an optimizer step per network: two per SSV iteration.
    checkpoints = ModelCheckpoint(
        dirpath=checkpoint_dir,
        filename="iter{iteration:07.0f}",
        auto_insert_metric_name=False,
        every_n_train_steps=2 * settings.checkpoint_every_n_steps,
        save_top_k=-1,
        save_last=True,
    )
    callbacks = [
        checkpoints,
        SaveOnPreemption(checkpoint_dir),
        RandomState(),
        SampleWriter(run_dir / "samples", settings.sample_every_n_steps),
        LearningRateMonitor(logging_interval="step"),
        TrainingSpeed(),
        SkippedImagesReport(),
        IterationProgressBar(refresh_rate=refresh_rate()),
    ]
    count_iterations_in_lightnings_messages()
    return pl.Trainer(
        default_root_dir=run_dir,
        max_steps=2 * settings.max_steps,
        max_time=settings.max_time,
        accelerator=settings.accelerator,
        devices=settings.devices,
        num_nodes=settings.num_nodes,
        strategy=distributed_strategy(settings),
        precision=training_precision(settings),
        log_every_n_steps=settings.log_every_n_steps,
        fast_dev_run=settings.fast_dev_run,
        logger=build_logger(config, run_dir),
        callbacks=callbacks,
        plugins=[AtomicCheckpointIO()],
        # The data module gives each rank its own resumable share of the data.
        use_distributed_sampler=False,
    )


def train(config: DictConfig, resume: Path | None = None) -> Path:
    """Trains SSV with a validated config, optionally continuing a checkpoint; returns the run directory."""
    run_dir = run_directory_of(resume) if resume else run_directory(config)
    check_before_training(config, run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    launching = is_launching_process()
    with RunLock(run_dir) if launching else nullcontext():
        if launching:
            record_attempt(run_dir, config)
        return run_training(run_dir, config, resume)


def run_training(run_dir: Path, config: DictConfig, resume: Path | None) -> Path:
    print(f"SSV run directory: {run_dir}" + (f" (resuming {resume})" if resume else ""), flush=True)
    pl.seed_everything(config.trainer.seed, workers=True)
    datamodule = build_datamodule(config)
    model = SSVModule(to_container(config))
    trainer = build_trainer(config, run_dir)
    trainer.fit(model, datamodule=datamodule, ckpt_path=resume)
    if not config.trainer.fast_dev_run:
        # ModelCheckpoint writes last.ckpt only on its schedule; keep it at the final state too.
        trainer.save_checkpoint(run_dir / CHECKPOINTS_FOLDER / LAST_CHECKPOINT)
        evaluate_after_training(config, model, trainer, run_dir)
    print(f"SSV run finished: {run_dir} (checkpoints in {run_dir / CHECKPOINTS_FOLDER})", flush=True)
    return run_dir


def evaluation_items(config: DictConfig) -> list | None:
    """The labeled images evaluated after training: ``evaluation.data``, else the synthetic test split."""
    if config.evaluation.data is not None:
        return read_labeled_source(config.evaluation.data, config.model.image_size)
    synthetic = synthetic_settings(config)
    return None if synthetic is None else read_split("test", **synthetic)


def evaluate_after_training(config: DictConfig, model, trainer: pl.Trainer, run_dir: Path) -> None:
    """The paper's protocol on a labeled set; the table is printed, written where ``make eval`` of the last
    checkpoint on the same data writes it (``eval/last-<data>/``) and logged."""
    if not config.evaluation.after_training:
        return
    if trainer.world_size > 1:
        log.info("evaluation after multi-process training is left to `make eval CKPT=... DATA=...`")
        return
    items = evaluation_items(config)
    if items is None:
        log.info("no labeled evaluation set (set evaluation.data to evaluate after training)")
        return
    iteration = model.iteration  # read first: evaluation attaches the model to a test Trainer
    model.eval()
    result = evaluate_model(
        model, items, image_size=config.model.image_size, batch_size=config.data.batch_size,
        n_calibration=config.evaluation.n_calibration, seed=config.trainer.seed, accelerator=config.trainer.accelerator,
    )
    data = config.evaluation.data or f"synthetic:{config.category}"
    out_dir = report_dir(run_dir / CHECKPOINTS_FOLDER / LAST_CHECKPOINT, data)
    files = write_report(result, items, out_dir, image_size=config.model.image_size,
                         context={"run": str(run_dir), "category": config.category, "iterations": iteration})
    print(format_table(result, f"Viewpoint errors (degrees) after {iteration} iterations"), flush=True)
    for logger in trainer.loggers:
        logger.log_metrics({f"eval/{key}": value for key, value in result.metrics.items()}, step=iteration)
        if hasattr(logger, "log_image"):
            plots = [path for path in files if path.suffix == ".png"]
            logger.log_image(key="eval/plots", images=[str(path) for path in plots], step=iteration)
        logger.save()


def run(args: argparse.Namespace) -> int:
    config_path = args.config or experiment_path(args.category)
    config = load_config(config_path, args.overrides, profile=args.profile)
    resume = resolve_resume(args.resume, config.runs_dir, config.category)
    try:
        train(config, resume)
    except CheckpointSaveError as error:
        return fail(error, RUN_FAILED_EXIT_CODE)
    except SIGTERMException:
        print(f"SSV run pre-empted (SIGTERM): exit code {PREEMPTED_EXIT_CODE}; continue it with RESUME=auto",
              file=sys.stderr, flush=True)
        return PREEMPTED_EXIT_CODE
    return 0


def main(argv: list[str] | None = None) -> int:
    # The EMA generator and the image-consistency features are frozen in eval mode on purpose.
    warnings.filterwarnings("ignore", message=".*module\\(s\\) in eval mode at the start of training")
    # Checkpoints are taken after both optimizer steps of an iteration, which is what resuming needs.
    warnings.filterwarnings("ignore", message=".*no pre-optimization state was saved.*")
    return run_command(run, parse_args(argv), INPUT_ERRORS, log_level=logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
