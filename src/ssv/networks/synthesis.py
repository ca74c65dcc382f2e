"""The synthesis network S(z, v): a HoloGAN-like generator with a rotated 3D feature volume."""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from ssv.choices import ROTATION_SAMPLING_MODES, VOLUME_SIZES
from ssv.networks.layers import (
    AdaptiveInstanceNorm,
    EqualConv2d,
    EqualConv3d,
    EqualLinear,
    PixelNorm,
    leaky_relu,
    scaled_channels,
)
from ssv.viewpoint import rotation_matrix

# (resolution, channels) of the styled 3D blocks up to the volume size; each after the first upsamples x2 first.
_VOLUME_BLOCKS = ((4, 512), (8, 256), (16, 128))
# Two plain blocks of two 3D convolutions each on the rotated volume.
_ROTATED_CHANNELS = (64, 64, 64, 64)
_PROJECTION_CHANNELS = 512
# Channels of the styled 2D block producing each image resolution.
_IMAGE_CHANNELS = {16: 256, 32: 256, 64: 64, 128: 32, 256: 16}


def rotate_volume(volume: torch.Tensor, view: torch.Tensor, mode: str = "nearest") -> torch.Tensor:
    """Resamples volumes ``[B, C, D, H, W]`` so that output coordinate p reads the input at R(view) p.

    Corner-aligned sampling, as PyTorch 1.0 did by default when the authors trained their release.
    """
    rotation = rotation_matrix(view).to(volume.dtype)
    theta = F.pad(rotation, (0, 1))  # [B, 3, 4]: zero translation
    grid = F.affine_grid(theta, list(volume.shape), align_corners=True)
    return F.grid_sample(volume, grid, mode=mode, padding_mode="zeros", align_corners=True)


class MappingNetwork(nn.Module):
    """Style mapping: PixelNorm, then ``layers`` x (EqualLinear code->code, LeakyReLU)."""

    def __init__(self, code_size: int = 64, layers: int = 8):
        super().__init__()
        stages = [PixelNorm()]
        for _ in range(layers):
            stages += [EqualLinear(code_size, code_size), leaky_relu()]
        self.net = nn.Sequential(*stages)

    def forward(self, code: torch.Tensor) -> torch.Tensor:
        return self.net(code)


class StyledConv(nn.Module):
    """3x3(x3) convolution, AdaIN from a style code, LeakyReLU. No conv bias: the norm would cancel it.

    ``conv`` None leaves the input unconvolved: S's learned constant goes straight into the first AdaIN.
    """

    def __init__(self, in_channels: int, out_channels: int, style_size: int, conv: type[nn.Module] | None,
                 style_init_scale: float = 1.0):
        super().__init__()
        self.conv = conv(in_channels, out_channels, 3, padding=1, bias=False) if conv else nn.Identity()
        self.adain = AdaptiveInstanceNorm(out_channels, style_size, style_init_scale)
        self.activation = leaky_relu()

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.activation(self.adain(self.conv(x), style))


class StyledBlock(nn.Module):
    """Optional x2 upsampling, then two styled convolutions sharing one style code.

    ``from_constant``: the block starts S from its learned constant, which takes the first convolution's place.
    """

    def __init__(self, in_channels: int, out_channels: int, style_size: int, conv: type[nn.Module],
                 upsample_mode: str | None, style_init_scale: float = 1.0, from_constant: bool = False):
        super().__init__()
        self.upsample = (nn.Upsample(scale_factor=2, mode=upsample_mode, align_corners=False)
                         if upsample_mode else nn.Identity())
        self.first = StyledConv(in_channels, out_channels, style_size, None if from_constant else conv,
                                style_init_scale)
        self.second = StyledConv(out_channels, out_channels, style_size, conv, style_init_scale)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(self.upsample(x), style), style)


def _volume_blocks(
    code_size: int, width: float, style_init_scale: float, volume_size: int
) -> tuple[nn.ModuleList, int]:
    """The styled 3D blocks at 4^3 (from the constant) up to the volume size, and their output channel count."""
    blocks, in_channels = nn.ModuleList(), scaled_channels(_VOLUME_BLOCKS[0][1], width)
    for index, (_, channels) in enumerate(block for block in _VOLUME_BLOCKS if block[0] <= volume_size):
        out_channels = scaled_channels(channels, width)
        upsample_mode = "trilinear" if index > 0 else None
        blocks.append(StyledBlock(in_channels, out_channels, code_size, EqualConv3d, upsample_mode,
                                  style_init_scale, from_constant=index == 0))
        in_channels = out_channels
    return blocks, in_channels


def _rotated_convs(in_channels: int, width: float) -> tuple[nn.Sequential, int]:
    """The plain 3D convolutions applied to the rotated volume."""
    stages = []
    for channels in _ROTATED_CHANNELS:
        out_channels = scaled_channels(channels, width)
        stages += [EqualConv3d(in_channels, out_channels, 3, padding=1), leaky_relu()]
        in_channels = out_channels
    return nn.Sequential(*stages), in_channels


class PlainImageBlock(nn.Module):
    """Bilinear x2 upsampling, then two 3x3 convolutions with LeakyReLU and no style: what it draws comes from the
    rotated volume alone."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.upsample = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.convs = nn.Sequential(EqualConv2d(in_channels, out_channels, 3, padding=1), leaky_relu(),
                                   EqualConv2d(out_channels, out_channels, 3, padding=1), leaky_relu())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convs(self.upsample(x))


def _image_blocks(
    in_channels: int, volume_size: int, image_size: int, code_size: int, width: float,
    style_init_scale: float | None
) -> tuple[nn.ModuleList, int]:
    """The 2D blocks from twice the volume size up to the image size, each after a bilinear x2 upsampling: styled,
    or plain where ``style_init_scale`` is None."""
    blocks, resolution = nn.ModuleList(), volume_size
    while resolution < image_size:
        resolution *= 2
        out_channels = scaled_channels(_IMAGE_CHANNELS[resolution], width)
        blocks.append(
            PlainImageBlock(in_channels, out_channels) if style_init_scale is None
            else StyledBlock(in_channels, out_channels, code_size, EqualConv2d, "bilinear", style_init_scale)
        )
        in_channels = out_channels
    return blocks, in_channels


class SynthesisNetwork(nn.Module):
    """S(z, v): images ``[B, 3, S, S]`` from codes z = (z1, z2) ``[B, 2 * code_size]`` and views ``[B, 3]``.

    z1 styles the 3D volume, z2 the 2D image blocks; both go through the same mapping network.
    ``image_styles`` False leaves the 2D blocks unstyled and z2 unused: whatever differs between styles, colours
    included, is then drawn in the volume and turns with it, instead of being painted onto the image after the turn.
    ``style_init_scale`` multiplies the AdaIN style weights at initialisation (1: the release); below 1, every
    style starts near the identity scale, so all styles turn their volumes alike from the first iteration.
    ``image_style_init_scale`` does the same for the 2D blocks alone (None: ``style_init_scale``): they style the
    image's appearance after the turn, so they can keep the release's spread of styles while the 3D blocks are
    damped.
    ``volume_size``: side of the rotated 3D volume (16 in the release; 8 costs an eighth of its 3D work, for
    small images).
    """

    def __init__(self, image_size: int = 128, code_size: int = 64, width: float = 1.0,
                 mapping_layers: int = 8, rotation_sampling: str = "nearest", style_init_scale: float = 1.0,
                 volume_size: int = 16, image_style_init_scale: float | None = None, image_styles: bool = True):
        super().__init__()
        if volume_size not in VOLUME_SIZES:
            raise ValueError(f"SynthesisNetwork supports volume sizes {VOLUME_SIZES}, got {volume_size}")
        if image_size not in _IMAGE_CHANNELS or image_size <= volume_size:
            raise ValueError(f"SynthesisNetwork supports image sizes {sorted(_IMAGE_CHANNELS)} larger than the "
                             f"volume ({volume_size}), got {image_size}")
        if rotation_sampling not in ROTATION_SAMPLING_MODES:
            raise ValueError(f"rotation_sampling must be one of {ROTATION_SAMPLING_MODES}, "
                             f"got {rotation_sampling!r}")
        self.code_size = code_size
        self.image_styles = image_styles
        self.rotation_sampling = rotation_sampling
        self.mapping = MappingNetwork(code_size, mapping_layers)
        constant_channels = scaled_channels(_VOLUME_BLOCKS[0][1], width)
        self.constant = nn.Parameter(torch.randn(1, constant_channels, 4, 4, 4))
        self.volume_blocks, volume_channels = _volume_blocks(code_size, width, style_init_scale, volume_size)
        self.rotated_convs, rotated_channels = _rotated_convs(volume_channels, width)
        projection_channels = scaled_channels(_PROJECTION_CHANNELS, width)
        self.projection = nn.Sequential(OrderedDict(
            conv=EqualConv2d(rotated_channels * volume_size, projection_channels, 1),
            activation=nn.PReLU(projection_channels),
        ))
        if image_style_init_scale is None:
            image_style_init_scale = style_init_scale
        self.image_blocks, image_channels = _image_blocks(projection_channels, volume_size, image_size, code_size,
                                                          width, image_style_init_scale if image_styles else None)
        self.to_rgb = EqualConv2d(image_channels, 3, 1)

    def forward(self, z: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        return self.render(self.styled_volume(z), z, view)

    def styled_volume(self, z: torch.Tensor) -> torch.Tensor:
        """The volume before rotation, ``[B, C, V, V, V]`` (V the volume size): it depends on z1 only."""
        self._check_codes(z)
        volume_style = self.mapping(z[:, :self.code_size])
        x = self.constant.expand(z.shape[0], -1, -1, -1, -1)
        for block in self.volume_blocks:
            x = block(x, volume_style)
        return x

    def render(self, volume: torch.Tensor, z: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        """Images from pre-rotation volumes, the z2 half of ``z`` and viewpoints."""
        self._check_codes(z)
        x = self.rotated_convs(rotate_volume(volume, view, self.rotation_sampling))
        x = self.projection(x.flatten(1, 2))  # fold depth into channels: [B, C * D, H, W]
        if self.image_styles:
            image_style = self.mapping(z[:, self.code_size:])
            for block in self.image_blocks:
                x = block(x, image_style)
        else:
            for block in self.image_blocks:
                x = block(x)
        return self.to_rgb(x)

    def _check_codes(self, z: torch.Tensor) -> None:
        if z.dim() != 2 or z.shape[1] != 2 * self.code_size:
            raise ValueError(f"z must be [B, {2 * self.code_size}] (z1, z2), got {list(z.shape)}")
