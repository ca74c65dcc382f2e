"""Building blocks shared by the networks: equalised-learning-rate layers, normalisations, activations.

Equalised learning rate (ProGAN): weights are stored as N(0, 1) draws and multiplied by the He constant
sqrt(2 / fan_in) on every forward pass, so Adam's per-parameter step acts uniformly on every layer.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

LEAKY_SLOPE = 0.2


def leaky_relu() -> nn.LeakyReLU:
    """The LeakyReLU (slope 0.2) used throughout."""
    return nn.LeakyReLU(LEAKY_SLOPE)


def scaled_channels(count: int, width: float) -> int:
    """A channel count multiplied by the width factor, rounded, at least 8."""
    return max(8, round(count * width))


def he_scale(fan_in: int) -> float:
    """The run-time weight multiplier sqrt(2 / fan_in)."""
    return math.sqrt(2.0 / fan_in)


class EqualLinear(nn.Module):
    """Linear layer with equalised learning rate and zero-initialised bias."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = he_scale(in_features)

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.bias)

    def extra_repr(self) -> str:
        out_features, in_features = self.weight.shape
        return f"{in_features}, {out_features}, bias={self.bias is not None}"


class _EqualConvNd(nn.Module):
    """Convolution with equalised learning rate and zero-initialised bias; subclasses set the dimension."""

    dims: int
    convolve: staticmethod

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, padding: int = 0,
                 bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, *(kernel_size,) * self.dims))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = he_scale(in_channels * kernel_size**self.dims)
        self.padding = padding

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.convolve(x, self.effective_weight(), self.bias, padding=self.padding)

    def extra_repr(self) -> str:
        out_channels, in_channels, kernel_size = self.weight.shape[:3]
        return (f"{in_channels}, {out_channels}, kernel_size={kernel_size}, padding={self.padding}, "
                f"bias={self.bias is not None}")


class EqualConv2d(_EqualConvNd):
    dims = 2
    convolve = staticmethod(F.conv2d)


class EqualConv3d(_EqualConvNd):
    dims = 3
    convolve = staticmethod(F.conv3d)


class PixelNorm(nn.Module):
    """Normalises each sample's feature vector to unit root-mean-square."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + 1e-8)


class AdaptiveInstanceNorm(nn.Module):
    """AdaIN for 2D or 3D feature maps: instance norm, then a per-channel scale and bias from a style code.

    ``style_init_scale`` multiplies the style weights at initialisation; the biases start at scale 1, shift 0.
    """

    def __init__(self, channels: int, style_size: int, style_init_scale: float = 1.0):
        super().__init__()
        self.style = EqualLinear(style_size, 2 * channels)
        with torch.no_grad():
            self.style.weight.mul_(style_init_scale)
            self.style.bias[:channels] = 1.0  # start from the identity scale

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        broadcast_shape = (x.shape[0], 2, x.shape[1]) + (1,) * (x.dim() - 2)
        scale, shift = self.style(style).view(broadcast_shape).unbind(1)
        return scale * F.instance_norm(x) + shift


class MinibatchStdDev(nn.Module):
    """Appends one channel holding the mean feature standard deviation over a group of samples (ProGAN).

    ``group_size`` None takes the whole batch (the release); otherwise consecutive groups of that size (at most
    the source's size, so one image per source gives each image a channel of its own).
    ``sources`` > 1 says the batch is that many independent batches concatenated (one network pass over
    real, fake and mirror images): groups then never mix samples of two sources.
    """

    def __init__(self, group_size: int | None = None):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor, sources: int = 1) -> torch.Tensor:
        if x.shape[0] % sources:
            raise ValueError(f"batch of {x.shape[0]} does not split into {sources} equal sources")
        per_source = x.shape[0] // sources
        group = min(self.group_size or per_source, per_source)
        if per_source % group:
            raise ValueError(f"batch of {per_source} per source is not divisible by the stddev group size {group}")
        grouped = x.view(-1, group, *x.shape[1:])
        mean_std = torch.sqrt(grouped.var(dim=1, unbiased=False) + 1e-8).flatten(1).mean(dim=1)
        channel = mean_std.view(-1, 1, 1, 1, 1).expand(-1, group, 1, *x.shape[2:])
        return torch.cat([x, channel.reshape(x.shape[0], 1, *x.shape[2:])], dim=1)
