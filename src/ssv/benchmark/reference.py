"""The authors' release, rebuilt from its own layer lists as the benchmark's reference design.

``ReleaseSynthesisNetwork`` and ``ReleaseViewpointNetwork`` follow the release's classes block by block
(``VPAwareSynthesizer_ssv``: ``progression1`` styled 3D blocks whose first starts from the constant, rotation,
``progression2`` plain 3D blocks, projection unit, styled 2D blocks after each x2 upsampling; ``VPNet``: a
``from_rgb`` and a conv block per resolution, the progressive-growing fade-in with alpha 0, one minibatch-stddev
channel over the whole batch, and the per-angle heads). They share only the equalised-learning-rate layers
and the rotation matrix with this project's networks, so a drift of those networks from the release shows up
as a failing equivalence test (tests/ssv/benchmark/test_reference.py) and not as a silent change of both.

``ReleaseDesignModule`` trains them as the release does: V runs separately on the real, fake and mirror
batches; S separately on the S step's 3B images and the B flipped-view images, building every image's
volume. Loading the project's weights (``load_project_weights``) makes both designs compute the same losses
and gradients, which is what makes their speed comparable.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ssv.module import SSVModule
from ssv.networks import SynthesisNetwork, ViewpointNetwork, ViewpointOutput
from ssv.networks.layers import EqualConv2d, EqualConv3d, EqualLinear, PixelNorm, scaled_channels
from ssv.viewpoint import ANGLES, rotation_matrix

_SLOPE = 0.2
_FADE_IN_ALPHA = 0.0  # the release's leftover: the first full-resolution block is weighted by zero


def _lrelu() -> nn.LeakyReLU:
    return nn.LeakyReLU(_SLOPE)


class _AdaIN(nn.Module):
    """The release's AdaptiveInstanceNorm(3): instance norm, then gamma and beta from the style."""

    def __init__(self, channels: int, style_size: int):
        super().__init__()
        self.style = EqualLinear(style_size, 2 * channels)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.style(style).view(x.shape[0], 2, x.shape[1], *(1,) * (x.dim() - 2)).unbind(1)
        return gamma * F.instance_norm(x) + beta


class _StyledConvBlock(nn.Module):
    """StyledConvBlock3 / StyledConvBlock2: conv1 (or the learned constant), AdaIN, LReLU, conv2, AdaIN, LReLU."""

    def __init__(self, in_channels: int, out_channels: int, style_size: int, conv: type[nn.Module],
                 initial: bool = False):
        super().__init__()
        self.initial = initial
        self.conv1 = None if initial else conv(in_channels, out_channels, 3, padding=1)
        self.adain1 = _AdaIN(out_channels, style_size)
        self.conv2 = conv(out_channels, out_channels, 3, padding=1)
        self.adain2 = _AdaIN(out_channels, style_size)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = x if self.initial else self.conv1(x)
        x = F.leaky_relu(self.adain1(x, style), _SLOPE)
        return F.leaky_relu(self.adain2(self.conv2(x), style), _SLOPE)


def _plain_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """StyledConvBlock3_noAdaIN: two 3D convolutions, each followed by LeakyReLU."""
    return nn.Sequential(EqualConv3d(in_channels, out_channels, 3, padding=1), _lrelu(),
                         EqualConv3d(out_channels, out_channels, 3, padding=1), _lrelu())


class ReleaseSynthesisNetwork(nn.Module):
    """S as the release's ``VPAwareSynthesizer_ssv`` (16^3 volume), at a width factor and image size."""

    def __init__(self, image_size: int = 128, code_size: int = 64, width: float = 1.0, mapping_layers: int = 8,
                 rotation_sampling: str = "nearest"):
        super().__init__()
        c = lambda channels: scaled_channels(channels, width)  # noqa: E731
        self.code_size, self.rotation_sampling = code_size, rotation_sampling
        self.mapping = nn.Sequential(PixelNorm(), *[layer for _ in range(mapping_layers)
                                                    for layer in (EqualLinear(code_size, code_size), _lrelu())])
        self.constant = nn.Parameter(torch.randn(1, c(512), 4, 4, 4))
        self.progression1 = nn.ModuleList([
            _StyledConvBlock(c(512), c(512), code_size, EqualConv3d, initial=True),
            _StyledConvBlock(c(512), c(256), code_size, EqualConv3d),
            _StyledConvBlock(c(256), c(128), code_size, EqualConv3d),
        ])
        self.progression2 = nn.ModuleList([_plain_block(c(128), c(64)), _plain_block(c(64), c(64))])
        self.projection = EqualConv2d(c(64) * 16, c(512), 1)
        self.projection_activation = nn.PReLU(c(512))
        channels = {32: (c(512), c(256)), 64: (c(256), c(64)), 128: (c(64), c(32))}
        self.scb = nn.ModuleList(_StyledConvBlock(*channels[size], code_size, EqualConv2d)
                                 for size in (32, 64, 128) if size <= image_size)
        self.to_rgb = EqualConv2d(channels[image_size][1], 3, 1)

    def styled_volume(self, z: torch.Tensor) -> torch.Tensor:
        style = self.mapping(z[:, :self.code_size])
        x = self.constant.repeat(z.shape[0], 1, 1, 1, 1)
        for index, block in enumerate(self.progression1):
            if index:
                x = F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False)
            x = block(x, style)
        return x

    def render(self, volume: torch.Tensor, z: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        style = self.mapping(z[:, self.code_size:])
        theta = F.pad(rotation_matrix(view).to(volume.dtype), (0, 1))
        # PyTorch 1.0, which the release ran on, sampled with what align_corners=True means today.
        grid = F.affine_grid(theta, list(volume.shape), align_corners=True)
        x = F.grid_sample(volume, grid, mode=self.rotation_sampling, align_corners=True)
        for block in self.progression2:
            x = block(x)
        x = self.projection_activation(self.projection(x.flatten(1, 2)))
        for block in self.scb:
            x = block(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False), style)
        return self.to_rgb(x)

    def forward(self, z: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        return self.render(self.styled_volume(z), z, view)

    def load_project_weights(self, project: SynthesisNetwork) -> list[tuple[nn.Parameter, nn.Parameter]]:
        """Copies a project S of the same settings into this network (the release's extra biases stay zero).

        Returns the (own, project) parameter pairs.
        """
        pairs = [(self.constant, project.constant), (self.projection.weight, project.projection.conv.weight),
                 (self.projection.bias, project.projection.conv.bias),
                 (self.projection_activation.weight, project.projection.activation.weight),
                 (self.to_rgb.weight, project.to_rgb.weight), (self.to_rgb.bias, project.to_rgb.bias)]
        pairs += zip(self.mapping.parameters(), project.mapping.parameters())
        for mine, theirs in zip([*self.progression1, *self.scb], [*project.volume_blocks, *project.image_blocks]):
            if mine.conv1 is not None:
                pairs.append((mine.conv1.weight, theirs.first.conv.weight))
            pairs += [(mine.conv2.weight, theirs.second.conv.weight)]
            pairs += zip([*mine.adain1.parameters(), *mine.adain2.parameters()],
                         [*theirs.first.adain.parameters(), *theirs.second.adain.parameters()])
        plain = [layer for block in self.progression2 for layer in block if isinstance(layer, EqualConv3d)]
        theirs_plain = [layer for layer in project.rotated_convs if isinstance(layer, EqualConv3d)]
        for mine, theirs in zip(plain, theirs_plain, strict=True):
            pairs += [(mine.weight, theirs.weight), (mine.bias, theirs.bias)]
        return _copy(pairs)


def _conv_block(in_channels: int, out_channels: int, last: bool = False) -> nn.Sequential:
    """The release's ConvBlock with instance norm (``last``: 3x3 conv, norm, LReLU, 4x4 valid conv, LReLU)."""
    if last:
        return nn.Sequential(EqualConv2d(in_channels, out_channels, 3, padding=1), nn.InstanceNorm2d(out_channels),
                             _lrelu(), EqualConv2d(out_channels, out_channels, 4), _lrelu())
    return nn.Sequential(EqualConv2d(in_channels, out_channels, 3, padding=1), nn.InstanceNorm2d(out_channels),
                         _lrelu(), EqualConv2d(out_channels, out_channels, 3, padding=1),
                         nn.InstanceNorm2d(out_channels), _lrelu())


def _half(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)


class ReleaseViewpointNetwork(nn.Module):
    """V as the release's ``VPNet`` runs it at alpha 0: the first full-resolution block is computed and discarded."""

    def __init__(self, image_size: int = 128, code_size: int = 64, width: float = 1.0, head_dropout: float = 0.5):
        super().__init__()
        c = lambda channels: scaled_channels(channels, width)  # noqa: E731
        self.dead_from_rgb = EqualConv2d(3, c(128), 1)
        self.dead_block = _conv_block(c(128), c(256))
        self.from_rgb = EqualConv2d(3, c(256), 1)
        sizes = [image_size // 2 ** k for k in range(1, 8) if image_size // 2 ** k >= 8]
        self.progression = nn.ModuleList(_conv_block(c(256) if i == 0 else c(512), c(512)) for i in range(len(sizes)))
        self.last = _conv_block(c(512) + 1, c(512), last=True)
        self.class_linear = EqualLinear(c(512), 1)
        self.z_linear = EqualLinear(c(512), 2 * code_size)
        self.heads = nn.ModuleList(
            nn.ModuleDict({"fc": nn.Sequential(EqualLinear(c(512), c(256)), nn.ReLU(), nn.Dropout(head_dropout)),
                           "magnitude": EqualLinear(c(256), 2), "sign": EqualLinear(c(256), 4)})
            for _ in ANGLES)

    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        dead = _half(self.dead_block(self.dead_from_rgb(x)))
        skip = _half(self.from_rgb(x))
        out = torch.lerp(skip, dead, _FADE_IN_ALPHA)
        for block in self.progression:
            out = _half(block(out))
        mean_std = torch.sqrt(out.var(0, unbiased=False) + 1e-8).mean()
        out = torch.cat([out, mean_std.expand(out.shape[0], 1, *out.shape[2:])], dim=1)
        return self.last(out).flatten(1)

    def forward(self, x: torch.Tensor, sources: int = 1) -> ViewpointOutput:
        """``sources`` > 1 runs the release's network once per concatenated batch."""
        if sources > 1:
            parts = [self(chunk) for chunk in x.chunk(sources)]
            return ViewpointOutput(*(torch.cat(field) for field in zip(*parts)))
        features = self.trunk(x)
        hidden = [head["fc"](features) for head in self.heads]
        return ViewpointOutput(
            score=self.class_linear(features).squeeze(-1),
            style=self.z_linear(features),
            magnitude_logits=torch.stack([head["magnitude"](h) for head, h in zip(self.heads, hidden)], dim=1),
            sign_logits=torch.stack([head["sign"](h) for head, h in zip(self.heads, hidden)], dim=1),
        )

    def load_project_weights(self, project: ViewpointNetwork) -> list[tuple[nn.Parameter, nn.Parameter]]:
        """Copies a project V of the same settings into this network (the dead block keeps its own weights).

        Returns the (own, project) parameter pairs.
        """
        encoder = project.encoder
        pairs = [(self.from_rgb.weight, encoder.from_rgb.weight), (self.from_rgb.bias, encoder.from_rgb.bias)]
        blocks = [module for name, module in encoder.named_children() if name.startswith("block")]
        for mine, theirs in zip([*self.progression, self.last], [*blocks, encoder.final], strict=True):
            convs = [layer for layer in theirs if isinstance(layer, EqualConv2d)]
            for mine_conv, theirs_conv in zip([m for m in mine if isinstance(m, EqualConv2d)], convs, strict=True):
                pairs.append((mine_conv.weight, theirs_conv.weight))
                if theirs_conv.bias is not None:
                    pairs.append((mine_conv.bias, theirs_conv.bias))
        pairs += zip([*self.class_linear.parameters(), *self.z_linear.parameters()],
                     [*project.score_head.parameters(), *project.style_head.parameters()])
        for mine, theirs in zip(self.heads, project.angle_heads, strict=True):
            pairs += zip([*mine["fc"].parameters(), *mine["magnitude"].parameters(), *mine["sign"].parameters()],
                         [*theirs.hidden.parameters(), *theirs.magnitude.parameters(), *theirs.sign.parameters()])
        return _copy(pairs)


def _copy(pairs) -> list[tuple[nn.Parameter, nn.Parameter]]:
    pairs = list(pairs)
    with torch.no_grad():
        for mine, theirs in pairs:
            mine.copy_(theirs)
    return pairs


class ReleaseDesignModule(SSVModule):
    """SSVModule with the release's networks and passes, holding the weights of an ``SSVModule`` of the config."""

    def __init__(self, config: dict):
        super().__init__(config)
        model = self.config.model
        if model.volume_size != 16 or model.stddev_group is not None:
            raise ValueError("the release's design has a 16^3 volume and one stddev channel over the whole batch")
        generator = ReleaseSynthesisNetwork(model.image_size, model.code_size, model.width, model.mapping_layers,
                                            model.rotation_sampling)
        generator.load_project_weights(self.generator)
        viewpoint_net = ReleaseViewpointNetwork(model.image_size, model.code_size, model.width, model.head_dropout)
        viewpoint_net.load_project_weights(self.viewpoint_net)
        self.generator, self.viewpoint_net = generator, viewpoint_net
        self.ema_generator = copy.deepcopy(generator).requires_grad_(False).eval()

    def viewpoint_outputs(self, *batches: torch.Tensor) -> list[ViewpointOutput]:
        return [self.viewpoint_net(batch) for batch in batches]

    def generate(self, *latents: tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
        return [self.synthesise(codes, views) for codes, views in latents]

    def synthesise(self, codes: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        return self.generator(codes, views)
