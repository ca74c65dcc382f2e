"""Evaluate a viewpoint checkpoint on labeled images with the paper's calibrated protocol.

``python -m ssv.evaluation --ckpt PATH --data SPEC [--out DIR] [--n-calibration N] [--seed S] [--batch-size B]``
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from omegaconf import DictConfig

from datamodules.labeled import LABELED_SOURCES, ManifestError, resolve_labeled_source
from ssv.evaluation.checkpoints import CheckpointError, load_viewpoint_model
from ssv.evaluation.evaluator import evaluate_model
from ssv.evaluation.protocol import DEFAULT_N_CALIBRATION, CalibrationError
from ssv.evaluation.report import format_table, write_report

MESSAGE_LIMIT = 400


class BatchSizeError(ValueError):
    """The evaluation batch cannot be split into the model's minibatch-stddev groups."""


INPUT_ERRORS = (CheckpointError, ManifestError, CalibrationError, BatchSizeError)


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    schemes = ", ".join(f"{name}:<...>" for name in sorted(LABELED_SOURCES))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True, help="Lightning checkpoint of SSV or the supervised model")
    parser.add_argument(
        "--data", required=True,
        help=f"labeled images: {schemes} (e.g. synthetic:faces, its test split), a labels.csv with columns "
        "path,azimuth,elevation,tilt (degrees, paths relative to the CSV), or a folder holding labels.csv",
    )
    parser.add_argument("--out", type=Path,
                        help="output folder (default: eval-<checkpoint>-<data> beside the checkpoint)")
    parser.add_argument("--n-calibration", type=positive_int, default=DEFAULT_N_CALIBRATION,
                        help="images used for the per-angle linear calibration (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the calibration subset (default %(default)s)")
    parser.add_argument("--batch-size", type=positive_int,
                        help="default: the checkpoint's training batch size (V's minibatch-stddev sees the batch)")
    parser.add_argument("--num-workers", type=int, default=0, help="data loading processes (default %(default)s)")
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator (default %(default)s)")
    return parser.parse_args(argv)


def default_output_dir(checkpoint: Path, data: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", data).strip("-")
    return checkpoint.parent / f"eval-{checkpoint.stem}-{slug}"


def evaluation_batch_size(requested: int | None, config: DictConfig) -> int:
    """The requested batch size, else the training one; it must divide into V's minibatch-stddev groups."""
    batch_size = requested or config.data.batch_size
    group = config.model.stddev_group
    if group and batch_size % group:
        raise BatchSizeError(f"--batch-size {batch_size} is not a multiple of the checkpoint's "
                             f"model.stddev_group={group}")
    return batch_size


def one_line(error: Exception) -> str:
    """The error message on one line, shortened: state-dict mismatches list every key."""
    text = " ".join(str(error).split())
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 3] + "..."


def evaluate(args: argparse.Namespace) -> int:
    model = load_viewpoint_model(args.ckpt)
    config = model.config
    batch_size = evaluation_batch_size(args.batch_size, config)
    items = resolve_labeled_source(args.data, config.model.image_size)
    result = evaluate_model(
        model,
        items,
        image_size=config.model.image_size,
        batch_size=batch_size,
        n_calibration=args.n_calibration,
        seed=args.seed,
        num_workers=args.num_workers,
        accelerator=args.accelerator,
    )
    out_dir = args.out or default_output_dir(args.ckpt, args.data)
    context = {"checkpoint": str(args.ckpt), "data": args.data, "category": config.category}
    write_report(result, items, out_dir, image_size=config.model.image_size, context=context)
    print(format_table(result, f"Viewpoint errors (degrees) of {args.ckpt} on {args.data}"))
    print(f"Wrote metrics, predictions and plots to {out_dir}")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # keep the output to the progress bar and table
    args = parse_args(argv)
    try:
        return evaluate(args)
    except INPUT_ERRORS as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
