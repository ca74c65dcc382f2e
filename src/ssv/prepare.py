"""Dataset preparation: ``python -m ssv.prepare dataset NAME SRC DST`` crops a raw dataset into a training-ready
folder; ``python -m ssv.prepare shards SRC DST`` converts a folder of images into WebDataset shards."""

from __future__ import annotations

import argparse
import logging
import sys

from datamodules.datasets.crops import FACE_MARGIN, OBJECT_MARGIN
from datamodules.datasets.preparation import (
    FACE_BOXES,
    SKIPPED_NAME,
    prepare,
    shard_folder,
)
from datamodules.datasets.registry import DATASETS
from datamodules.shards import SAMPLES_PER_SHARD
from ssv.console import run_command


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    datasets = "\n".join(f"  {name:16} {spec.description}" for name, spec in DATASETS.items())
    crops = commands.add_parser("dataset", help="crop a raw dataset", epilog=f"datasets:\n{datasets}",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    crops.add_argument("name", choices=DATASETS, metavar="NAME", help="dataset (listed below)")
    crops.add_argument("source", help="the raw dataset's folder")
    crops.add_argument("destination", help="output folder (created; must be empty unless --overwrite)")
    crops.add_argument("--size", type=int, default=128, help="crop side in pixels (default 128)")
    crops.add_argument("--margin", type=float,
                       help=f"square enlargement around a box (default {FACE_MARGIN} faces, {OBJECT_MARGIN} objects)")
    crops.add_argument("--face-box", choices=FACE_BOXES, default="annotation",
                       help="faces: the dataset's own boxes where it has them, else the detector (default), or "
                            "always the detector")
    crops.add_argument("--split", default="val",
                       help="PASCAL3D+: val (VOC 2012 val, the test protocol; default), all, or a file of image ids")
    crops.add_argument("--keep-hard", action="store_true",
                       help="PASCAL3D+: keep truncated, occluded and difficult objects")
    crops.add_argument("--overwrite", action="store_true", help="replace an earlier preparation in DST")

    shards = commands.add_parser("shards", help="convert a folder of images into WebDataset shards")
    shards.add_argument("source", help="folder of images (e.g. a prepared dataset)")
    shards.add_argument("destination", help="output folder (created; must be empty unless --overwrite)")
    shards.add_argument("--per-shard", type=int, default=SAMPLES_PER_SHARD,
                        help=f"images per shard (default {SAMPLES_PER_SHARD})")
    shards.add_argument("--seed", type=int, default=0, help="seed of the one-time shuffle before writing")
    shards.add_argument("--overwrite", action="store_true", help="replace earlier shards in DST")
    return parser.parse_args(argv)


def run_dataset(args: argparse.Namespace) -> None:
    scan_options = {"split": args.split, "keep_hard": args.keep_hard} if args.name.startswith("pascal3d") else {}
    summary = prepare(args.name, args.source, args.destination, image_size=args.size, margin=args.margin,
                      face_box=args.face_box, overwrite=args.overwrite, progress=True, **scan_options)
    if not summary.kept:
        raise ValueError(f"nothing of {args.source} could be prepared: {summary}")
    print(summary)


def run_shards(args: argparse.Namespace) -> None:
    index, scan = shard_folder(args.source, args.destination, samples_per_shard=args.per_shard, seed=args.seed,
                               overwrite=args.overwrite)
    print(f"Wrote {index.total} images into {len(index.names)} shards in {index.root}")
    if scan.skipped:
        print(f"Skipped {len(scan.skipped)} unreadable images, listed in {index.root / SKIPPED_NAME}")


def run(args: argparse.Namespace) -> int:
    if args.command == "dataset":
        run_dataset(args)
    else:
        run_shards(args)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), (FileNotFoundError, FileExistsError, ValueError), log_level=logging.INFO)


if __name__ == "__main__":
    sys.exit(main())
