"""Command line: render a cached synthetic collection, or a preview grid of every category.

    python -m ssv.synthetic.cli --category faces [--num-train N --num-test N --image-size S --seed K]
    python -m ssv.synthetic.cli --grid docs/synthetic_samples.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from PIL import Image

from ssv.console import run_command
from ssv.synthetic.collection import ensure_rendered
from ssv.synthetic.render import CATEGORIES, render_batch, sample_styles


def _grid_views(ranges: tuple[float, float, float], rows: int, columns: int) -> torch.Tensor:
    """Azimuth sweeps the range along each row; rows alternate views from above and below, tilts vary."""
    azimuth = torch.linspace(-1.0, 1.0, columns).repeat(rows)
    elevation = torch.tensor([-0.7, 0.4]).repeat(rows)[:rows].repeat_interleave(columns)
    tilt = torch.linspace(1.0, -1.0, rows * columns)
    return torch.stack([azimuth, elevation, tilt], dim=-1) * torch.tensor(ranges)


def sample_grid(
    rows_per_category: int = 2, columns: int = 8, image_size: int = 128, seed: int = 0
) -> torch.Tensor:
    """A uint8 ``[H, W, 3]`` mosaic with ``rows_per_category`` rows of random samples per category."""
    generator = torch.Generator().manual_seed(seed)
    bands = []
    for name, category in CATEGORIES.items():
        count = rows_per_category * columns
        views = _grid_views(category.ranges, rows_per_category, columns)
        images = render_batch(name, views, sample_styles(name, count, generator), image_size).images
        grid = images.view(rows_per_category, columns, image_size, image_size, 3).transpose(1, 2)
        bands.append(grid.reshape(rows_per_category * image_size, columns * image_size, 3))
    return torch.cat(bands)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ssv.synthetic.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--category", choices=sorted(CATEGORIES), help="render this category's collection")
    mode.add_argument("--grid", type=Path, help="write a preview grid of all categories to this PNG")
    parser.add_argument("--num-train", type=int, default=20000)
    parser.add_argument("--num-test", type=int, default=2000)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", type=Path, default=Path("data/synthetic"))
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> int:
    if args.grid is not None:
        args.grid.parent.mkdir(parents=True, exist_ok=True)
        grid = sample_grid(image_size=args.image_size, seed=args.seed)
        Image.fromarray(grid.numpy()).save(args.grid, optimize=True)
        print(f"wrote {args.grid}")
        return 0
    path = ensure_rendered(args.category, cache_dir=args.cache_dir, num_train=args.num_train,
                           num_test=args.num_test, image_size=args.image_size, seed=args.seed,
                           progress=not args.no_progress)
    print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_command(run, parse_args(argv), (ValueError,))


if __name__ == "__main__":
    sys.exit(main())
