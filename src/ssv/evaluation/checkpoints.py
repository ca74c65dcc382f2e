"""Restoring a viewpoint model (SSV or the supervised baseline) from a Lightning checkpoint, with clear failures."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl

from ssv.config import ConfigError
from ssv.inference.checkpoint import CheckpointError, read_checkpoint
from ssv.module import SSVModule
from ssv.supervised import MODEL_KIND_KEY, SUPERVISED_KIND, SupervisedViewpointModule

SSV_KIND = "ssv"
MODEL_CLASSES: dict[str, type[pl.LightningModule]] = {
    SSV_KIND: SSVModule,
    SUPERVISED_KIND: SupervisedViewpointModule,
}


def load_viewpoint_model(path: str | Path) -> pl.LightningModule:
    """The model a checkpoint holds, on the CPU and in eval mode; ``model(images)`` gives radians ``[B, 3]``."""
    path = Path(path)
    checkpoint = read_checkpoint(path)
    kind = checkpoint.get(MODEL_KIND_KEY, SSV_KIND)  # SSV checkpoints carry no marker
    if kind not in MODEL_CLASSES or "hyper_parameters" not in checkpoint or "state_dict" not in checkpoint:
        raise CheckpointError(f"{path}: not a checkpoint of an SSV or supervised viewpoint model")
    try:
        model = MODEL_CLASSES[kind].load_from_checkpoint(path, map_location="cpu", weights_only=True)
    except (ConfigError, RuntimeError, KeyError, TypeError) as error:
        raise CheckpointError(f"{path}: does not match its stored {kind} config: {error}") from None
    return model.eval()


def load_ssv_model(path: Path, task: str) -> SSVModule:
    """An SSV checkpoint's model as ``load_viewpoint_model`` gives it; any other kind fails, naming the ``task``
    that needs S (e.g. "diagnose")."""
    model = load_viewpoint_model(path)
    if not isinstance(model, SSVModule):
        raise CheckpointError(f"{path}: holds a {type(model).__name__}, which has no generator to {task}")
    return model
