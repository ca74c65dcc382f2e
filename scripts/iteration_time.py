"""Seconds per SSV iteration (V step + S step) through the real LightningModule and Trainer, on random images.

    python scripts/iteration_time.py --profile small --batch 8 --iterations 6
    python scripts/iteration_time.py --profile small --strategy ddp_find_unused_parameters_true

The first iteration is warm-up; the median of the rest is reported. ``--strategy`` measures the cost of a
Lightning strategy in one process (e.g. DDP's unused-parameter detection) against ``auto``.
"""

import argparse
import time

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from ssv.config import experiment_path, load_config, to_container
from ssv.module import SSVModule


class RandomMirrorPairs(Dataset):
    def __init__(self, count: int, size: int):
        self.images = torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1

    def __len__(self):
        return len(self.images)

    def __getitem__(self, index):
        return {"image": self.images[index], "mirror": self.images[index].flip(-1)}


class IterationTimer(pl.Callback):
    def __init__(self):
        self.seconds: list[float] = []

    def on_train_batch_start(self, *args):
        self.started = time.perf_counter()

    def on_train_batch_end(self, *args):
        self.seconds.append(time.perf_counter() - self.started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=("small", "paper"), default="small")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--strategy", default="auto")
    args = parser.parse_args()
    config = load_config(experiment_path("faces"), ["imc.weights=null", f"data.batch_size={args.batch}"],
                         profile=args.profile)
    model = SSVModule(to_container(config))
    timer = IterationTimer()
    loader = DataLoader(RandomMirrorPairs(args.batch * args.iterations, config.model.image_size), batch_size=args.batch)
    trainer = pl.Trainer(max_steps=2 * args.iterations, accelerator="cpu", devices=1, strategy=args.strategy,
                         logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, callbacks=[timer])
    trainer.fit(model, train_dataloaders=loader)
    measured = sorted(timer.seconds[1:])
    print(f"profile {args.profile}, batch {args.batch}, strategy {args.strategy}: "
          f"median {measured[len(measured) // 2]:.3f} s per iteration over {len(measured)} after warm-up "
          f"({', '.join(f'{s:.2f}' for s in timer.seconds)})")


if __name__ == "__main__":
    main()
