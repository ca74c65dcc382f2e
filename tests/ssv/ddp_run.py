"""Runs a few SSV iterations on a fixed global batch, in one process or as two DDP ranks (run as a script).

Each rank trains on its own consecutive share of every global batch and saves V, S and the EMA copy of S.
Usage: python ddp_run.py {single|ddp} OUT_DIR ITERATIONS
"""

import sys
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset

from ssv.benchmark.random_pairs import RandomMirrorPairs
from ssv.config import experiment_path, load_config, to_container
from ssv.module import SSVModule
from ssv.train import distributed_strategy

PER_RANK_BATCH = 2
WORLD = 2


class RankShare(Dataset):
    """Rank r's consecutive share of each global batch, in order."""

    def __init__(self, images: Dataset, iterations: int, rank: int, world: int):
        global_batch = PER_RANK_BATCH * WORLD
        share = global_batch // world
        self.indices = [step * global_batch + rank * share + i for step in range(iterations) for i in range(share)]
        self.images = images

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.images[self.indices[index]]


def main(mode: str, out_dir: Path, iterations: int) -> None:
    devices = WORLD if mode == "ddp" else 1
    config = load_config(experiment_path("faces"), [
        "model.width=0.125", "model.code_size=8", "model.mapping_layers=2", "model.head_dropout=0.0",
        f"model.stddev_group={PER_RANK_BATCH}", "imc.weights=null", f"trainer.devices={devices}",
        "trainer.accelerator=cpu",
        # With betas (0, 0.99) Adam's step is about lr * sign(gradient), and float32 summation-order noise
        # on near-zero gradients flips signs; double precision keeps that noise far below the tolerance.
        "trainer.precision=64-true",
    ], profile="small")
    pl.seed_everything(0)
    model = SSVModule(to_container(config))
    trainer = pl.Trainer(
        max_steps=2 * iterations, accelerator="cpu", devices=devices, strategy=distributed_strategy(config.trainer),
        precision=config.trainer.precision,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        use_distributed_sampler=False,
    )
    images = RandomMirrorPairs(PER_RANK_BATCH * WORLD * iterations, 64, seed=5)
    share = RankShare(images, iterations, trainer.global_rank, trainer.world_size)
    batch_size = PER_RANK_BATCH * WORLD // trainer.world_size
    trainer.fit(model, train_dataloaders=DataLoader(share, batch_size=batch_size))
    state = {name: module.state_dict() for name, module in
             (("V", model.viewpoint_net), ("S", model.generator), ("EMA", model.ema_generator))}
    state["logged"] = {key: value for key, value in trainer.callback_metrics.items() if key[:2] in ("v/", "s/")}
    torch.save(state, out_dir / f"{mode}_rank{trainer.global_rank}.pt")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
