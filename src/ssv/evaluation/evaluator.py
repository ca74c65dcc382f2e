"""Runs a viewpoint model over labeled images through Lightning's test loop and applies the protocol."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import TQDMProgressBar
from torch import nn

from datamodules.labeled import LabeledImageDataModule
from datamodules.manifest import LabeledImage
from ssv.evaluation.metrics import ViewpointProtocolMetric
from ssv.evaluation.protocol import DEFAULT_N_CALIBRATION, ProtocolResult, check_calibration_size
from ssv.progress import refresh_rate


class ViewpointEvaluator(pl.LightningModule):
    """Feeds ``model(images)`` (radians ``[B, 3]``, each image predicted on its own) and the labels (degrees) to
    the protocol metric."""

    def __init__(self, model: nn.Module, n_calibration: int = DEFAULT_N_CALIBRATION, seed: int = 0):
        super().__init__()
        self.model = model
        self.protocol = ViewpointProtocolMetric(n_calibration, seed)
        self.result: ProtocolResult | None = None

    def test_step(self, batch: dict, batch_idx: int) -> None:
        images = batch["image"]
        predicted = torch.rad2deg(self.model(images))
        self.protocol.update(predicted, batch["angles"], batch["index"])

    def on_test_epoch_end(self) -> None:
        self.result = self.protocol.compute()
        self.protocol.reset()


def evaluate_model(
    model: nn.Module,
    items: list[LabeledImage],
    *,
    image_size: int,
    batch_size: int,
    n_calibration: int = DEFAULT_N_CALIBRATION,
    seed: int = 0,
    num_workers: int = 0,
    accelerator: str = "auto",
    progress: bool = True,
) -> ProtocolResult:
    """Predicts every image (in batches, for speed only), then calibrates on a seeded subset and measures the rest."""
    check_calibration_size(n_calibration, len(items))
    evaluator = ViewpointEvaluator(model, n_calibration, seed)
    datamodule = LabeledImageDataModule(items, image_size=image_size, batch_size=batch_size, num_workers=num_workers)
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress,
        callbacks=[TQDMProgressBar(refresh_rate=refresh_rate())] if progress else None,
    )
    trainer.test(evaluator, datamodule=datamodule, verbose=False)
    return evaluator.result
