"""V alone from a checkpoint of SSV or of the supervised baseline: no Lightning, no generator, no download.

V is rebuilt from the checkpoint's stored config and given its ``viewpoint_net.*`` weights, so nothing else the
training module builds (S, the image-consistency features and their pretrained weights) is constructed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch

from ssv.config import ConfigError, from_container
from ssv.networks import ViewpointNetwork, viewpoint_network_from

VIEWPOINT_PREFIX = "viewpoint_net."
FINGERPRINT_LENGTH = 16


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or does not match the model its config describes."""


@dataclass(frozen=True)
class TrainedViewpointNetwork:
    """V in eval mode, the image size it reads, and the fingerprint of its weights (calibrations name it)."""

    network: ViewpointNetwork
    image_size: int
    fingerprint: str
    source: Path


def read_checkpoint(path: Path) -> dict:
    """The checkpoint's dict, loaded with ``weights_only``; one-line errors for missing or foreign files."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # truncated zips, pickles and foreign files fail with many exception types
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: not a Lightning checkpoint (holds a {type(checkpoint).__name__})")
    return checkpoint


def weights_fingerprint(state_dict: dict[str, torch.Tensor]) -> str:
    """A short hash of V's weights: names, shapes and values (the same for a checkpoint and its export)."""
    digest = hashlib.sha256()
    for name in sorted(state_dict):
        tensor = state_dict[name].detach().cpu().contiguous()
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:FINGERPRINT_LENGTH]


def load_viewpoint_network(path: str | Path) -> TrainedViewpointNetwork:
    """V of an SSV or supervised checkpoint, on the CPU, in eval mode."""
    path = Path(path)
    checkpoint = read_checkpoint(path)
    config = _stored_config(path, checkpoint)
    state = {name[len(VIEWPOINT_PREFIX):]: tensor for name, tensor in checkpoint.get("state_dict", {}).items()
             if name.startswith(VIEWPOINT_PREFIX)}
    if not state:
        raise CheckpointError(f"{path}: holds no viewpoint network weights ({VIEWPOINT_PREFIX}*)")
    network = viewpoint_network_from(config.model)
    try:
        network.load_state_dict(state)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: V's weights do not match its stored config: {error}") from None
    return TrainedViewpointNetwork(network.eval(), config.model.image_size, weights_fingerprint(state), path)


def _stored_config(path: Path, checkpoint: dict):
    config = checkpoint.get("hyper_parameters", {}).get("config")
    if not isinstance(config, dict):
        raise CheckpointError(f"{path}: not a checkpoint of an SSV or supervised viewpoint model (no stored config)")
    try:
        return from_container(config)
    except ConfigError as error:
        raise CheckpointError(f"{path}: its stored config is invalid: {error}") from None
