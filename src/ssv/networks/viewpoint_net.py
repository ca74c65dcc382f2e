"""The viewpoint network V, which is also the discriminator: a ProGAN-style encoder and its heads."""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
import torch.nn as nn

from ssv.choices import SIGN_READOUTS
from ssv.networks.layers import EqualConv2d, EqualLinear, MinibatchStdDev, leaky_relu, scaled_channels
from ssv.viewpoint import ANGLES, decode

_INPUT_CHANNELS = 256
_FULL_RESOLUTION_CHANNELS = 128
_TRUNK_CHANNELS = 512
_ANGLE_HIDDEN = 256
_SMALLEST_BLOCK = 8
_SMALLEST_IMAGE = 32


class ViewpointOutput(NamedTuple):
    """V's outputs for a batch: critic score, style z-hat and the spherical-regression logits."""

    score: torch.Tensor  # [B]
    style: torch.Tensor  # [B, 2 * code_size]
    magnitude_logits: torch.Tensor  # [B, 3, 2], log-softmax read as log (cos^2, sin^2)
    sign_logits: torch.Tensor  # [B, 3, 4], quadrant logits

    def split(self, parts: int) -> list["ViewpointOutput"]:
        """The outputs of ``parts`` equal, concatenated batches, each on its own."""
        return [ViewpointOutput(*chunk) for chunk in zip(*(field.chunk(parts) for field in self))]


def halve() -> nn.Upsample:
    """Bilinear x0.5 downsampling."""
    return nn.Upsample(scale_factor=0.5, mode="bilinear", align_corners=False)


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convs with instance norm and LeakyReLU (no conv bias: the norm cancels it), then x0.5."""
    stages = []
    for conv_in in (in_channels, out_channels):
        stages += [EqualConv2d(conv_in, out_channels, 3, padding=1, bias=False),
                   nn.InstanceNorm2d(out_channels), leaky_relu()]
    return nn.Sequential(*stages, halve())


def _final_block(channels: int) -> nn.Sequential:
    """At 4 px, after the minibatch-stddev channel: 3x3 conv, instance norm, 4x4 valid conv: ``[B, channels]``."""
    return nn.Sequential(
        EqualConv2d(channels + 1, channels, 3, padding=1, bias=False), nn.InstanceNorm2d(channels), leaky_relu(),
        EqualConv2d(channels, channels, 4), leaky_relu(),
        nn.Flatten(),
    )


class Encoder(nn.Sequential):
    """The encoder's stages in order; ``sources`` reaches the minibatch-stddev stage (see MinibatchStdDev)."""

    def forward(self, x: torch.Tensor, sources: int = 1) -> torch.Tensor:
        for stage in self:
            x = stage(x, sources) if isinstance(stage, MinibatchStdDev) else stage(x)
        return x


def build_encoder(image_size: int, width: float, stddev_group: int | None = None,
                  full_resolution: bool = False) -> Encoder:
    """The effective encoder of the release: x0.5, 1x1 conv RGB->256, conv blocks down to 8 px, final block.

    The release's first full-resolution block is discarded by a fade-in leftover, so it is not built.
    ``full_resolution``: the fade-in completed instead, so V sees every pixel: 1x1 conv RGB->128 and a conv block
    (128->256) at full resolution, then the same blocks.
    """
    if image_size < _SMALLEST_IMAGE or image_size & (image_size - 1):
        raise ValueError(
            f"ViewpointNetwork needs a power-of-two image size >= {_SMALLEST_IMAGE}, got {image_size}"
        )
    in_channels = scaled_channels(_INPUT_CHANNELS, width)
    trunk_channels = scaled_channels(_TRUNK_CHANNELS, width)
    resolution = image_size // 2
    if full_resolution:
        rgb_channels = scaled_channels(_FULL_RESOLUTION_CHANNELS, width)
        stages = OrderedDict(from_rgb=EqualConv2d(3, rgb_channels, 1))
        stages[f"block{image_size}"] = conv_block(rgb_channels, in_channels)
    else:
        stages = OrderedDict(downsample=halve(), from_rgb=EqualConv2d(3, in_channels, 1))
    while resolution >= _SMALLEST_BLOCK:
        stages[f"block{resolution}"] = conv_block(in_channels, trunk_channels)
        in_channels, resolution = trunk_channels, resolution // 2
    stages["stddev"] = MinibatchStdDev(stddev_group)
    stages["final"] = _final_block(trunk_channels)
    return Encoder(stages)


class AngleHead(nn.Module):
    """Per-angle hidden layer feeding the magnitude (2 logits) and quadrant (4 logits) heads."""

    def __init__(self, in_features: int, hidden: int, dropout: float = 0.5):
        super().__init__()
        self.hidden = nn.Sequential(EqualLinear(in_features, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.magnitude = EqualLinear(hidden, 2)
        self.sign = EqualLinear(hidden, 4)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.hidden(features)
        return self.magnitude(hidden), self.sign(hidden)


class ViewpointNetwork(nn.Module):
    """V(x): critic score, style z-hat and viewpoint logits for images ``[B, 3, S, S]`` in [-1, 1]."""

    def __init__(self, image_size: int = 128, code_size: int = 64, width: float = 1.0,
                 head_dropout: float = 0.5, stddev_group: int | None = None, full_resolution: bool = False,
                 sign_readout: str = "argmax"):
        super().__init__()
        if sign_readout not in SIGN_READOUTS:
            raise ValueError(f"sign_readout must be one of {SIGN_READOUTS}, got {sign_readout!r}")
        self.sign_readout = sign_readout
        self.encoder = build_encoder(image_size, width, stddev_group, full_resolution)
        trunk_size = scaled_channels(_TRUNK_CHANNELS, width)
        self.score_head = EqualLinear(trunk_size, 1)
        self.style_head = EqualLinear(trunk_size, 2 * code_size)
        hidden = scaled_channels(_ANGLE_HIDDEN, width)
        self.angle_heads = nn.ModuleList(AngleHead(trunk_size, hidden, head_dropout) for _ in ANGLES)

    def trunk(self, x: torch.Tensor, sources: int = 1) -> torch.Tensor:
        """The encoder's features ``[B, 512 * width]``."""
        return self.encoder(x, sources)

    def forward(self, x: torch.Tensor, sources: int = 1) -> ViewpointOutput:
        """Outputs for images ``x``; ``sources`` > 1: x is that many independent batches concatenated."""
        features = self.trunk(x, sources)
        magnitude_logits, sign_logits = zip(*(head(features) for head in self.angle_heads))
        return ViewpointOutput(
            score=self.score_head(features).squeeze(-1),
            style=self.style_head(features),
            magnitude_logits=torch.stack(magnitude_logits, dim=1),
            sign_logits=torch.stack(sign_logits, dim=1),
        )

    def per_image(self, x: torch.Tensor) -> ViewpointOutput:
        """Outputs for images ``x``, each computed as if it were alone (the release evaluates one image at a time).

        The minibatch-stddev channel is taken over each image on its own, so a prediction never depends on the
        rest of the batch; one batched pass still does all the work. Every inference path uses this rule.
        """
        return self(x, sources=x.shape[0])

    def read_views(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted viewpoints ``[B, 3]`` (radians) of images ``x``, each image read on its own."""
        return self.read_out(self.per_image(x))

    def read_out(self, output: ViewpointOutput) -> torch.Tensor:
        """Viewpoints ``[B, 3]`` (radians) from V's outputs, with this V's sign readout (ssv.viewpoint)."""
        return decode(output.magnitude_logits, output.sign_logits, self.sign_readout)
