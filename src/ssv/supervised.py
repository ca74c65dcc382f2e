"""The supervised upper bound: SSV's viewpoint network V trained on true labels with the viewpoint loss alone."""

from __future__ import annotations

import pytorch_lightning as pl
import torch

from ssv.config import from_container
from ssv.networks import viewpoint_network_from
from ssv.losses import view_loss

# Checkpoints name the module class that wrote them, so evaluation can rebuild the right one.
MODEL_KIND_KEY = "viewpoint_model"
SUPERVISED_KIND = "supervised"


class SupervisedViewpointModule(pl.LightningModule):
    """V with the architecture and optimiser settings of an SSV config, trained on ``{"image", "angles"}`` batches.

    ``angles`` are the true viewpoints in degrees, as in :class:`datamodules.labeled.LabeledImageDataset`.
    """

    def __init__(self, config: dict):
        super().__init__()
        self.save_hyperparameters()
        self.config = from_container(config)
        self.viewpoint_net = viewpoint_network_from(self.config.model)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Predicted viewpoints ``[B, 3]`` (radians) of images in [-1, 1], each image on its own."""
        return self.viewpoint_net.read_views(images)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        output = self.viewpoint_net(batch["image"])
        loss = view_loss(output, torch.deg2rad(batch["angles"]))
        self.log("v/view", loss, prog_bar=True, on_step=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        optim = self.config.optim
        return torch.optim.Adam(self.viewpoint_net.parameters(), lr=optim.lr, betas=tuple(optim.betas), eps=optim.eps)

    @property
    def iteration(self) -> int:
        """Optimizer steps done (one per batch)."""
        return self.global_step

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint[MODEL_KIND_KEY] = SUPERVISED_KIND
