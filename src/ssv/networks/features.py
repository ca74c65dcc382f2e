"""Image-consistency features Phi for L_imc: AlexNet up to conv2 (the recipe) or raw pixels."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

logger = logging.getLogger("ssv.features")

ALEXNET_IMAGENET_URL = "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth"
FEATURE_KINDS = ("alexnet", "pixels")
_ALEXNET_INPUT_SIZE = 224


class _FrozenFeatures(nn.Module):
    """A feature extractor that stays in eval mode with frozen parameters; gradients still reach its input."""

    def freeze(self) -> None:
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "_FrozenFeatures":
        return super().train(False)


class AlexNetConv2Features(_FrozenFeatures):
    """AlexNet conv1 -> ReLU -> max-pool -> conv2 on 224 px inputs, flattened.

    As in the authors' release, the [-1, 1] images go in as they are, without ImageNet's mean and std.
    Parameter names match torchvision's ``alexnet`` (``features.0.*``, ``features.3.*``).
    """

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
        )
        self.freeze()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``[B, 3, H, W]`` in [-1, 1] -> features ``[B, 192 * 27 * 27]``."""
        x = F.interpolate(images, size=_ALEXNET_INPUT_SIZE, mode="bilinear", align_corners=False)
        return self.features(x).flatten(1)


class PixelFeatures(_FrozenFeatures):
    """The image itself, flattened, after average-pooling down to ``size`` px when it is larger."""

    def __init__(self, size: int | None = 64):
        super().__init__()
        self.size = size
        self.freeze()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.size is not None and images.shape[-1] > self.size:
            images = F.adaptive_avg_pool2d(images, self.size)
        return images.flatten(1)


def load_alexnet_weights(network: AlexNetConv2Features, weights: str | None) -> None:
    """Loads the requested weights (see ``build_consistency_features``) into ``network`` and logs which."""
    logger.info("Image-consistency features: AlexNet conv2 with %s", _load_weights(network, weights))


def _load_weights(network: AlexNetConv2Features, weights: str | None) -> str:
    """Loads the requested weights into ``network``; returns a description of those in use."""
    if weights is None or weights.lower() == "none":
        return "random initialisation (no pretrained weights requested)"
    if weights.lower() == "imagenet":
        try:
            # The file name carries the hash checked on download; weights_only keeps a crafted cached file from
            # running code.
            state = torch.hub.load_state_dict_from_url(
                ALEXNET_IMAGENET_URL, map_location="cpu", progress=False, check_hash=True, weights_only=True
            )
        except Exception as error:  # no network, proxy, corrupt cache: training can still proceed
            logger.warning(
                "Could not fetch ImageNet AlexNet weights from %s (%s); falling back to random "
                "initialisation, so L_imc compares random conv2 features", ALEXNET_IMAGENET_URL, error,
            )
            return "random initialisation (ImageNet download failed)"
        source = f"ImageNet weights from {ALEXNET_IMAGENET_URL}"
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"AlexNet weights file not found: {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
        source = f"weights from {path}"
    own_keys = network.state_dict().keys()
    network.load_state_dict({key: value for key, value in state.items() if key in own_keys})
    return source


def build_consistency_features(kind: str, pixel_size: int | None = 64) -> nn.Module:
    """The frozen feature extractor Phi for L_imc, built without touching the network.

    ``kind``: "alexnet" (random initialisation; ``load_alexnet_weights`` loads pretrained ones, which the trainer
    does when training starts, so that a model loaded from a checkpoint never downloads) or "pixels" (images
    average-pooled to ``pixel_size`` px; None keeps full size).
    """
    if kind == "alexnet":
        return AlexNetConv2Features()
    if kind == "pixels":
        size = f"average-pooled to at most {pixel_size} px" if pixel_size else "at full size"
        logger.info("Image-consistency features: raw pixels %s (no weights)", size)
        return PixelFeatures(pixel_size)
    raise ValueError(
        f"Unknown consistency feature kind {kind!r}; valid kinds here: {', '.join(FEATURE_KINDS)} "
        "(the 'encoder' kind is built by the trainer from ViewpointNetwork.trunk)"
    )
