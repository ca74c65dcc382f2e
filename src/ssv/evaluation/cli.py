"""Evaluate a viewpoint checkpoint on labeled images with the paper's calibrated protocol.

``python -m ssv.evaluation --ckpt PATH --data SPEC [--out DIR] [--n-calibration N] [--seed S] [--batch-size B]``
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from datamodules.datasets.registry import DATASETS
from datamodules.manifest import ManifestError
from ssv.choices import SIGN_READOUTS
from ssv.evaluation.checkpoints import CheckpointError, load_viewpoint_model
from ssv.evaluation.evaluator import evaluate_model
from ssv.evaluation.protocol import DEFAULT_N_CALIBRATION, CalibrationError
from ssv.evaluation.report import format_table, report_dir, write_report
from ssv.inference.calibration import save_evaluation_calibration
from ssv.console import run_command
from ssv.labeled_sources import LABELED_SOURCES, SYNTHETIC_SCHEME, read_labeled_source


class SuspectDataError(ValueError):
    """The data would give a meaningless score: another category, or labels that look like radians."""


INPUT_ERRORS = (CheckpointError, ManifestError, CalibrationError, SuspectDataError)


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ckpt", type=Path, required=True, help="Lightning checkpoint of SSV or the supervised model")
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path,
                        help="output folder (default: <run>/eval/<checkpoint>-<data>, where training puts its own)")
    parser.add_argument("--n-calibration", type=positive_int, default=DEFAULT_N_CALIBRATION,
                        help="images used for the per-angle linear calibration (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the calibration subset (default %(default)s)")
    parser.add_argument("--batch-size", type=positive_int,
                        help="images per forward pass, for speed only: each image is predicted on its own "
                        "(default: the checkpoint's training batch size)")
    parser.add_argument("--num-workers", type=int, default=0, help="data loading processes (default %(default)s)")
    parser.add_argument("--accelerator", default="auto", help="Lightning accelerator (default %(default)s)")
    parser.add_argument("--sign-readout", choices=SIGN_READOUTS,
                        help="how V's angles take their sign, for this evaluation only (default: the checkpoint's "
                        "model.sign_readout); the calibration is then not saved beside the checkpoint")
    return parser.parse_args(argv)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """``--data`` and the two flags that override its checks (``checked_items``)."""
    schemes = ", ".join(f"{name}:<...>" for name in sorted(LABELED_SOURCES))
    parser.add_argument(
        "--data", required=True,
        help=f"labeled images: {schemes} (e.g. synthetic:faces, its test split), a labels.csv with columns "
        "path,azimuth,elevation,tilt (degrees, paths relative to the CSV), or a folder holding labels.csv",
    )
    parser.add_argument("--allow-category-mismatch", action="store_true",
                        help="evaluate although DATA holds another category than the checkpoint was trained on")
    parser.add_argument("--angles-in-degrees-are-small", action="store_true",
                        help="evaluate although every label is within +-pi degrees (refused by default as radians)")


def data_category(spec: str) -> str | None:
    """The category a data spec holds, where the spec says it: ``synthetic:<category>`` and the datasets; a
    labels.csv or a folder carries none."""
    scheme, separator, argument = spec.partition(":")
    if not separator:
        return None
    if scheme == SYNTHETIC_SCHEME:
        return argument
    return DATASETS[scheme].category if scheme in DATASETS else None


def check_category(trained_on: str, spec: str) -> None:
    held = data_category(spec)
    if held is not None and held != trained_on:
        raise SuspectDataError(f"the checkpoint was trained on {trained_on} but --data {spec} holds {held}; pass "
                               "--allow-category-mismatch to evaluate it anyway")


def check_degrees(items: list, spec: str) -> None:
    """Labels are degrees: a set whose every angle lies within +-pi is almost surely in radians."""
    largest = max((abs(angle) for item in items for angle in (item.azimuth, item.elevation, item.tilt)),
                  default=math.inf)
    if largest <= math.pi:
        raise SuspectDataError(f"every label of --data {spec} is within +-pi (largest |angle| {largest:.3f}): they "
                               "look like radians, but labels are read in degrees; convert them, or pass "
                               "--angles-in-degrees-are-small if they really are degrees")


def checked_items(args: argparse.Namespace, config) -> list:
    """The labeled images of ``args.data`` at the checkpoint's size, refused if they would give a meaningless score."""
    if not args.allow_category_mismatch:
        check_category(config.category, args.data)
    items = read_labeled_source(args.data, config.model.image_size)
    if not args.angles_in_degrees_are_small:
        check_degrees(items, args.data)
    return items


def evaluate(args: argparse.Namespace) -> int:
    model = load_viewpoint_model(args.ckpt)
    config = model.config
    readout_overridden = args.sign_readout not in (None, model.viewpoint_net.sign_readout)
    if readout_overridden:
        model.viewpoint_net.sign_readout = args.sign_readout
    batch_size = args.batch_size or config.data.batch_size
    items = checked_items(args, config)
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
    out_dir = args.out or report_dir(args.ckpt, args.data)
    context = {"checkpoint": str(args.ckpt), "data": args.data, "category": config.category,
               "sign_readout": model.viewpoint_net.sign_readout}
    write_report(result, items, out_dir, image_size=config.model.image_size, context=context)
    print(format_table(result, f"Viewpoint errors (degrees) of {args.ckpt} on {args.data}"))
    print(f"Wrote metrics, predictions and plots to {out_dir}")
    if readout_overridden:
        # predict and export read with the checkpoint's own rule, which this calibration does not fit
        print(f"Did not save the calibration: it fits the {args.sign_readout} sign readout, the checkpoint reads "
              f"with {config.model.sign_readout}")
        return 0
    calibration = save_evaluation_calibration(result.fits, network=model.viewpoint_net, checkpoint=args.ckpt,
                                              labeled_set=args.data, n_images=result.metrics["n_calibration"])
    print(f"Wrote the calibration to {calibration} (make predict ... ARGS=--calibration applies it)")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # keep the output to the progress bar and table
    return run_command(evaluate, parse_args(argv), INPUT_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
