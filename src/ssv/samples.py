"""Sample grids and viewpoint sweeps from the EMA generator, written to disk and to the logger."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from PIL import Image
from pytorch_lightning.loggers import WandbLogger

from ssv.viewpoint import ANGLES


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``[B, 3, H, W]`` in [-1, 1] -> ``[B, H, W, 3]`` uint8."""
    scaled = ((images.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return scaled.permute(0, 2, 3, 1).cpu().numpy()


def image_grid(images: np.ndarray, columns: int, padding: int = 2) -> np.ndarray:
    """Tiles ``[B, H, W, C]`` uint8 images into one ``[rows*H, columns*W, C]`` image with white gaps."""
    count, height, width, channels = images.shape
    rows = -(-count // columns)
    grid = np.full(
        (rows * (height + padding) + padding, columns * (width + padding) + padding, channels), 255, np.uint8
    )
    for index, image in enumerate(images):
        top = padding + (index // columns) * (height + padding)
        left = padding + (index % columns) * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


class SampleWriter(pl.Callback):
    """Every ``every_n_iterations`` and at the end of training, saves the EMA sample grid and viewpoint sweep as
    PNG and logs them."""

    def __init__(self, directory: Path | str, every_n_iterations: int):
        self.directory = Path(directory)
        self.every_n_iterations = every_n_iterations
        self.written_at: int | None = None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        iteration = pl_module.iteration
        if iteration % self.every_n_iterations == 0 or trainer.fast_dev_run:
            self.write(trainer, pl_module, iteration)

    def on_train_end(self, trainer, pl_module) -> None:
        """A run shorter than the interval, or ending between two writes, still shows what it ended with."""
        if pl_module.iteration != self.written_at:
            self.write(trainer, pl_module, pl_module.iteration)

    def write(self, trainer: pl.Trainer, pl_module, iteration: int) -> None:
        self.written_at = iteration
        if not trainer.is_global_zero:
            return
        sweep = to_uint8(pl_module.viewpoint_sweep())
        steps = len(sweep) // len(ANGLES)  # the sweep holds one row of viewpoints per angle
        panels = {
            "samples": image_grid(to_uint8(pl_module.sample_images()), columns=8),
            "viewpoint_sweep": image_grid(sweep, columns=steps),
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        for name, grid in panels.items():
            Image.fromarray(grid).save(self.directory / f"{name}_{iteration:07d}.png")
            for logger in trainer.loggers:
                log_image = getattr(logger, "log_image", None)
                if log_image is not None:
                    log_image(key=f"samples/{name}", images=[grid], step=iteration)
        animation = self.directory / f"viewpoint_sweep_{iteration:07d}.gif"
        write_sweep_animation(sweep, steps, animation)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                import wandb

                logger.experiment.log({"samples/viewpoint_sweep_animation": wandb.Video(str(animation))})


def write_sweep_animation(sweep: np.ndarray, steps: int, path: Path) -> None:
    """An animated GIF of a viewpoint sweep: frame k shows the k-th azimuth, elevation and tilt side by side."""
    rows = sweep.reshape(-1, steps, *sweep.shape[1:])  # [angles, steps, H, W, 3]
    frames = [Image.fromarray(image_grid(rows[:, step], columns=len(rows))) for step in range(steps)]
    frames += frames[-2:0:-1]  # back and forth
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=120, loop=0)
