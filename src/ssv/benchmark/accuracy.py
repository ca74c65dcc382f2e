"""Accuracy benchmark: a constant floor, the supervised upper bound, SSV and its ablations, each trained for the same
wall-clock budget and evaluated on the same synthetic test split with the same calibration subset.

``python -m ssv.benchmark.accuracy --category faces --budget MINUTES [--rows constant,supervised,...] [--profile cpu]
[--milestones 15,30] [--out DIR] [--n-calibration N] [--seed S] [key=value ...]`` (overrides apply to every trained
row). ``--milestones`` also saves each trained row at those training minutes and evaluates every saved state: the
learning curve (learning_curve.md, .json, .png).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from pytorch_lightning.callbacks import Timer
from torch import nn

from datamodules.labeled import LabeledImageDataModule
from datamodules.manifest import LabeledImage, ManifestError
from ssv.checkpointing import CHECKPOINTS_FOLDER
from ssv.config import PROFILES, ConfigError, experiment_path, load_config, to_container
from ssv.console import run_command
from ssv.evaluation import (
    DEFAULT_N_CALIBRATION,
    CalibrationError,
    ProtocolResult,
    evaluate_model,
    load_viewpoint_model,
    write_report,
)
from ssv.evaluation.protocol import check_calibration_size
from ssv.module import SSVModule
from ssv.supervised import SupervisedViewpointModule
from ssv.synthetic.collection import read_split
from ssv.tracking import build_logger
from ssv.train import build_datamodule, build_trainer, synthetic_settings, training_precision
from ssv.viewpoint import ANGLES

log = logging.getLogger("ssv.benchmark.accuracy")

CHECKPOINT_NAME = "budget-end.ckpt"
TABLE_FILE = "accuracy.md"
JSON_FILE = "accuracy.json"
CURVE_FILE = "learning_curve"  # .md, .json and .png


class ConstantViewpointModel(nn.Module):
    """Predicts the same viewpoint for every image; the calibration's line fit then predicts its mean."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.new_zeros(images.shape[0], len(ANGLES))


@dataclass(frozen=True)
class Milestone:
    """A training state saved when the training time first passed ``minutes``."""

    minutes: float
    iterations: int
    checkpoint: Path


@dataclass(frozen=True)
class TrainedModel:
    model: nn.Module
    iterations: int
    train_seconds: float
    milestones: tuple[Milestone, ...] = ()


class MilestoneCheckpoints(pl.Callback):
    """Saves ``budget-<m>min.ckpt`` as soon as the training time (from the first step) passes each milestone."""

    def __init__(self, directory: Path, minutes: list[float]):
        self.directory = directory
        self.pending = sorted(minutes)
        self.saved: list[Milestone] = []
        self.started: float | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        elapsed_minutes = (time.perf_counter() - self.started) / 60
        while self.pending and elapsed_minutes >= self.pending[0]:
            minutes = self.pending.pop(0)
            path = self.directory / f"budget-{minutes:g}min.ckpt"
            trainer.save_checkpoint(path)
            self.saved.append(Milestone(minutes, pl_module.iteration, path))


@dataclass(frozen=True)
class Row:
    """One line of the table: how to build its model within the budget, from which experiment file."""

    label: str
    experiment: str | None  # "{category}" is replaced by the category; None: no training
    build: Callable[[DictConfig, Path, float, list[float]], TrainedModel]


def build_constant(config: DictConfig, row_dir: Path, budget_minutes: float, milestones: list[float]) -> TrainedModel:
    return TrainedModel(ConstantViewpointModel(), iterations=0, train_seconds=0.0)


def synthetic_collection(config: DictConfig) -> dict:
    """The ``ensure_rendered`` arguments training uses, so that evaluation reads the same collection."""
    settings = synthetic_settings(config)
    if settings is None:
        raise ConfigError("the accuracy benchmark needs labels: data.root must be null (the synthetic collection)")
    return settings


def fit_within_budget(trainer: pl.Trainer, model: pl.LightningModule, datamodule: pl.LightningDataModule,
                      row_dir: Path, budget_minutes: float, milestones: list[float]) -> TrainedModel:
    """Trains until the budget is spent (counted from the first step, not data preparation), then reloads the
    saved checkpoint, so the benchmark evaluates exactly what ``make eval`` would."""
    saver = MilestoneCheckpoints(row_dir / CHECKPOINTS_FOLDER, [m for m in milestones if m < budget_minutes])
    trainer.callbacks.extend([Timer(duration=timedelta(minutes=budget_minutes), interval="step"), saver])
    started = time.perf_counter()
    trainer.fit(model, datamodule=datamodule)
    seconds = time.perf_counter() - started
    checkpoint = row_dir / CHECKPOINTS_FOLDER / CHECKPOINT_NAME
    trainer.save_checkpoint(checkpoint)
    end = Milestone(budget_minutes, model.iteration, checkpoint) if milestones else None
    return TrainedModel(load_viewpoint_model(checkpoint), iterations=model.iteration, train_seconds=seconds,
                        milestones=tuple(saver.saved) + ((end,) if end else ()))


def build_supervised(config: DictConfig, row_dir: Path, budget_minutes: float, milestones: list[float]) -> TrainedModel:
    pl.seed_everything(config.trainer.seed, workers=True)
    datamodule = LabeledImageDataModule(
        read_split("train", **synthetic_collection(config)),
        image_size=config.model.image_size,
        batch_size=config.data.batch_size,
        num_workers=config.data.num_workers,
        seed=config.trainer.seed,
    )
    settings = config.trainer
    trainer = pl.Trainer(
        default_root_dir=row_dir,
        max_steps=settings.max_steps,
        accelerator=settings.accelerator,
        devices=settings.devices,
        precision=training_precision(settings),
        log_every_n_steps=settings.log_every_n_steps,
        logger=build_logger(config, row_dir),
        enable_checkpointing=False,
    )
    return fit_within_budget(trainer, SupervisedViewpointModule(to_container(config)), datamodule, row_dir,
                             budget_minutes, milestones)


def build_ssv(config: DictConfig, row_dir: Path, budget_minutes: float, milestones: list[float]) -> TrainedModel:
    pl.seed_everything(config.trainer.seed, workers=True)
    return fit_within_budget(build_trainer(config, row_dir), SSVModule(to_container(config)),
                             build_datamodule(config), row_dir, budget_minutes, milestones)


ROWS: dict[str, Row] = {
    "constant": Row("constant (calibration mean)", None, build_constant),
    "supervised": Row("supervised V (true labels, L_v only)", "{category}", build_supervised),
    "ssv-full": Row("SSV full", "{category}", build_ssv),
    "ssv-no-imc": Row("SSV without L_imc", "{category}-no-imc", build_ssv),
    "ssv-no-sym-imc": Row("SSV without L_sym and L_imc", "{category}-no-sym-imc", build_ssv),
}


@dataclass(frozen=True)
class RowResult:
    name: str
    label: str
    trained: TrainedModel
    result: ProtocolResult
    curve: tuple[tuple[Milestone, ProtocolResult], ...] = ()


def parse_rows(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in ROWS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown row(s) {unknown or text!r}; known: {','.join(ROWS)}")
    return names


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def parse_milestones(text: str) -> list[float]:
    return sorted(positive_float(part) for part in text.split(",") if part.strip())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--category", default="faces", help="experiments/<category>.yaml and its ablation files")
    parser.add_argument("--budget", type=positive_float, required=True,
                        help="wall-clock training minutes per trained row")
    parser.add_argument("--rows", type=parse_rows, default=list(ROWS), help=f"default: {','.join(ROWS)}")
    parser.add_argument("--milestones", type=parse_milestones, default=[],
                        help="training minutes at which each trained row is also saved and evaluated, e.g. 15,30 "
                        "(the budget's end is always a point of the curve)")
    parser.add_argument("--profile", choices=PROFILES, help="default: cpu without a GPU, paper with one")
    parser.add_argument("--out", type=Path, help="default: <runs_dir>/<category>/bench-accuracy-<time>-<profile>")
    parser.add_argument("--n-calibration", type=int, default=DEFAULT_N_CALIBRATION,
                        help="calibration images, the same subset for every row (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the calibration subset (default %(default)s)")
    parser.add_argument("overrides", nargs="*", help="OmegaConf dotlist overrides for every trained row")
    return parser.parse_args(argv)


def row_config(row: Row, args: argparse.Namespace) -> DictConfig:
    experiment = (row.experiment or "{category}").format(category=args.category)
    # The harness evaluates every row itself, on one calibration subset.
    overrides = ["evaluation.after_training=false", *args.overrides]
    return load_config(experiment_path(experiment), overrides, profile=args.profile)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu_model()}, {os.cpu_count()} logical CPU cores, {torch.get_num_threads()} torch threads, {gpu}, "
            f"torch {torch.__version__}")


def markdown_table(rows: list[RowResult], header: dict) -> str:
    """The accuracy table with the settings that produced it."""
    model = header["model"]
    lines = [
        f"Viewpoint accuracy on the synthetic {header['category']} test split: {header['n_test']} test images, "
        f"{header['n_calibration']} calibration images (seed {header['calibration_seed']}); errors in degrees "
        "after the per-angle linear calibration.",
        "",
        f"Budget: {header['budget_minutes']:g} min of training per trained row; profile {header['profile']} "
        f"({model['image_size']} px, width {model['width']}, batch {header['batch_size']}); "
        f"machine: {header['machine']}.",
        "",
        f"Command: `{header['command']}`",
        "",
        "| row | MAE az | MAE el | MAE tilt | MAE mean | median geodesic | acc pi/6 | R^2 az / el / tilt "
        "| iterations |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        metrics = row.result.metrics
        values = [metrics[f"mae_{name}"] for name in (*ANGLES, "mean")] + [metrics["median_geodesic_deg"]]
        r2 = " / ".join(f"{metrics[f'r2_{name}']:.2f}" for name in ANGLES)
        cells = [f"{value:.1f}" for value in values] + [f"{metrics['acc_pi_6']:.2f}", r2, str(row.trained.iterations)]
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def learning_curve_table(rows: list[RowResult], header: dict) -> str:
    """Mean MAE and the calibration R^2 per angle of every trained row at each saved training time."""
    lines = [
        f"Learning curve on the synthetic {header['category']} test split ({header['n_test']} test images, "
        f"{header['n_calibration']} calibration images); profile {header['profile']}; machine: {header['machine']}.",
        "",
        f"Command: `{header['command']}`",
        "",
        "| row | minutes | iterations | MAE az | MAE el | MAE tilt | MAE mean | R^2 az | R^2 el | R^2 tilt |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        for milestone, result in row.curve:
            metrics = result.metrics
            cells = [f"{metrics[f'mae_{name}']:.1f}" for name in (*ANGLES, "mean")]
            cells += [f"{metrics[f'r2_{name}']:.2f}" for name in ANGLES]
            lead = f"| {row.label} | {milestone.minutes:g} | {milestone.iterations} | "
            lines.append(lead + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_learning_curve(rows: list[RowResult], path: Path) -> None:
    """Mean MAE (left) and the calibration R^2 per angle (right) against training minutes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (mae_axes, r2_axes) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for row in (row for row in rows if row.curve):
        minutes = [milestone.minutes for milestone, _ in row.curve]
        mae_axes.plot(minutes, [result.metrics["mae_mean"] for _, result in row.curve], marker="o", label=row.label)
        for name, style in zip(ANGLES, ("-", "--", ":")):
            r2_axes.plot(minutes, [result.metrics[f"r2_{name}"] for _, result in row.curve], style, marker="o",
                         label=f"{row.label}: {name}")
    for row in (row for row in rows if not row.curve):
        mae_axes.axhline(row.result.metrics["mae_mean"], color="grey", linestyle="--", label=row.label)
    mae_axes.set(xlabel="training minutes", ylabel="mean MAE (degrees)", title="calibrated mean MAE")
    r2_axes.set(xlabel="training minutes", ylabel="R^2", title="calibration R^2 per angle", ylim=(-0.05, 1.05))
    mae_axes.legend(fontsize="small")
    r2_axes.legend(fontsize="x-small")
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_learning_curve(rows: list[RowResult], header: dict, stem: Path) -> str:
    """Writes the curve as markdown, JSON and a plot; returns the markdown table."""
    table = learning_curve_table(rows, header)
    stem.with_suffix(".md").write_text(table)
    record = {**header, "curve": [{"row": row.name, "minutes": milestone.minutes, "iterations": milestone.iterations,
                                   **result.metrics} for row in rows for milestone, result in row.curve]}
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    plot_learning_curve(rows, stem.with_suffix(".png"))
    return table


def json_record(rows: list[RowResult], header: dict) -> dict:
    return {
        **header,
        "rows": [
            {"row": row.name, "label": row.label, "iterations": row.trained.iterations,
             "train_seconds": row.trained.train_seconds, **row.result.metrics}
            for row in rows
        ],
    }


def run_row(name: str, config: DictConfig, args: argparse.Namespace, test_items: list[LabeledImage],
            out_dir: Path) -> RowResult:
    row, row_dir = ROWS[name], out_dir / name
    training = f": training for {args.budget:g} min" if row.experiment else ""
    print(f"[bench-accuracy] {row.label}{training}", flush=True)
    trained = row.build(config, row_dir, args.budget, args.milestones)

    def evaluate(model: nn.Module) -> ProtocolResult:
        return evaluate_model(model, test_items, image_size=config.model.image_size, batch_size=config.data.batch_size,
                              n_calibration=args.n_calibration, seed=args.seed,
                              accelerator=config.trainer.accelerator)

    result = evaluate(trained.model)
    write_report(result, test_items, row_dir / "eval", image_size=config.model.image_size,
                 context={"row": name, "category": args.category, "iterations": trained.iterations})
    curve = tuple((milestone, result if milestone.checkpoint.name == CHECKPOINT_NAME
                   else evaluate(load_viewpoint_model(milestone.checkpoint))) for milestone in trained.milestones)
    return RowResult(name, row.label, trained, result, curve)


def run_benchmark(args: argparse.Namespace) -> int:
    """Trains and evaluates every requested row; writes the table as markdown and JSON."""
    configs = {name: row_config(ROWS[name], args) for name in args.rows}  # a missing experiment fails first
    base = row_config(ROWS["ssv-full"], args)
    test_items = read_split("test", **synthetic_collection(base))
    check_calibration_size(args.n_calibration, len(test_items))
    out_dir = args.out or Path(base.runs_dir) / args.category / f"bench-accuracy-{time.strftime('%Y%m%d-%H%M%S')}-" \
        f"{base.profile}"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [run_row(name, configs[name], args, test_items, out_dir) for name in args.rows]
    header = {
        "category": args.category,
        "budget_minutes": args.budget,
        "profile": base.profile,
        "model": {"image_size": base.model.image_size, "width": base.model.width},
        "batch_size": base.data.batch_size,
        "machine": machine_description(),
        "command": args.command,
        "n_calibration": rows[0].result.metrics["n_calibration"],
        "n_test": rows[0].result.metrics["n_test"],
        "calibration_seed": args.seed,
    }
    table = markdown_table(rows, header)
    (out_dir / TABLE_FILE).write_text(table)
    (out_dir / JSON_FILE).write_text(json.dumps(json_record(rows, header), indent=2) + "\n")
    print(table)
    if any(row.curve for row in rows):
        print(write_learning_curve(rows, header, out_dir / CURVE_FILE))
    print(f"Wrote {out_dir / TABLE_FILE}, {out_dir / JSON_FILE} and per-row evaluations under {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    args.command = "python -m ssv.benchmark.accuracy " + shlex.join(argv)
    return run_command(run_benchmark, args, (ConfigError, ManifestError, CalibrationError), log_level=logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
