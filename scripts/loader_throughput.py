"""Images per second delivered by the unlabeled loader: image folder vs shards, 0 and 2 workers, 64 and 128 px.

    python scripts/loader_throughput.py [--images 2000] [--stored-size 128] [--batch-size 32] [--epochs 2]

Writes a collection of JPEG crops (smooth colour fields with grain, about the size of prepared face crops) to a
temporary folder, converts it into shards, then times whole epochs of ``UnlabeledImageDataModule`` (after the first
batch, so that worker start-up is not counted).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from datamodules.datasets.preparation import shard_folder
from datamodules.images import UnlabeledImageDataModule


def write_crops(folder: Path, count: int, size: int) -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for number in range(count):
        field = cv2.resize(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8), (size, size),
                           interpolation=cv2.INTER_CUBIC)
        grain = rng.normal(0, 6, field.shape)
        image = np.clip(field + grain, 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"{number:06d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 95])


def images_per_second(root: Path, image_size: int, batch_size: int, workers: int, epochs: int) -> float:
    datamodule = UnlabeledImageDataModule(root, image_size=image_size, batch_size=batch_size, num_workers=workers)
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    images, start = 0, None
    for _ in range(epochs):
        for batch in loader:
            if start is None:
                start = time.perf_counter()
                continue
            images += len(batch["image"])
    return images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--stored-size", type=int, default=128, help="side of the stored crops")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        folder, shards = Path(temporary) / "images", Path(temporary) / "shards"
        write_crops(folder, args.images, args.stored_size)
        shard_folder(folder, shards)
        megabytes = sum(path.stat().st_size for path in folder.iterdir()) / 2**20
        print(f"{args.images} JPEG crops of {args.stored_size} px ({megabytes:.1f} MiB), batch {args.batch_size}")
        print("| image size | source | workers | images/s |")
        print("|---|---|---|---|")
        for image_size in (64, 128):
            for name, root in (("folder", folder), ("shards", shards)):
                for workers in (0, 2):
                    rate = images_per_second(root, image_size, args.batch_size, workers, args.epochs)
                    print(f"| {image_size} | {name} | {workers} | {rate:.0f} |", flush=True)


if __name__ == "__main__":
    main()
