"""The release's network design, rebuilt from SPEC section 4 as the benchmark's reference.

Four things the release does that this implementation does not, each undoable on its own so a test can
prove each change leaves losses and gradients as they were:

- ``dead_block``: V computes its first full-resolution block (1x1 RGB->128, a conv block 128->256, x0.5)
  and a fade-in with alpha 0 multiplies it away, so it costs a forward and a backward pass and gives its
  parameters zero gradients;
- ``viewpoint_passes``: V runs separately on the real, fake and mirror batches of the V step;
- ``synthesis_passes``: S runs separately on the 3B images of the S step and on the B flipped-view images;
- ``shared_volumes``: S builds the pre-rotation volume of every image, although the S step renders half of
  its styles at three viewpoints each.
"""

from __future__ import annotations

import torch
from torch import nn

from ssv.module import SSVModule
from ssv.networks import viewpoint_network_from
from ssv.networks.layers import EqualConv2d, leaky_relu, scaled_channels
from ssv.networks.viewpoint_net import ViewpointNetwork, ViewpointOutput, conv_block

RELEASE_CHANGES = ("dead_block", "viewpoint_passes", "synthesis_passes", "shared_volumes")
_FIRST_BLOCK_CHANNELS = (128, 256)
_FADE_IN_ALPHA = 0.0  # the release's leftover: the first block's output is weighted by zero


class ReleaseViewpointNetwork(ViewpointNetwork):
    """V with the release's dead first block computed and faded out."""

    def __init__(self, image_size: int = 128, code_size: int = 64, width: float = 1.0,
                 head_dropout: float = 0.5, stddev_group: int | None = None):
        super().__init__(image_size, code_size, width, head_dropout, stddev_group)
        rgb_channels, block_channels = (scaled_channels(c, width) for c in _FIRST_BLOCK_CHANNELS)
        self.dead_block = nn.Sequential(
            EqualConv2d(3, rgb_channels, 1), leaky_relu(), conv_block(rgb_channels, block_channels)
        )

    def trunk(self, x: torch.Tensor, sources: int = 1) -> torch.Tensor:
        skip = self.encoder.from_rgb(self.encoder.downsample(x))
        faded = torch.lerp(skip, self.dead_block(x), _FADE_IN_ALPHA)
        return self.encoder[2:](faded, sources)


class ReleaseDesignModule(SSVModule):
    """SSVModule with the release's design restored for the changes named in ``undo``."""

    def __init__(self, config: dict, undo: tuple[str, ...] = RELEASE_CHANGES):
        unknown = set(undo) - set(RELEASE_CHANGES)
        if unknown:
            raise ValueError(f"unknown release changes {sorted(unknown)}; choose from {RELEASE_CHANGES}")
        super().__init__(config)
        self.undo = tuple(undo)
        if "dead_block" in undo:
            self.viewpoint_net = self._with_dead_block(self.viewpoint_net)

    def _with_dead_block(self, network: ViewpointNetwork) -> ReleaseViewpointNetwork:
        """The release's V holding the same weights as ``network``, plus the dead block."""
        release = viewpoint_network_from(self.config.model, ReleaseViewpointNetwork)
        release.load_state_dict(network.state_dict(), strict=False)
        return release

    def viewpoint_outputs(self, *batches: torch.Tensor) -> list[ViewpointOutput]:
        if "viewpoint_passes" not in self.undo:
            return super().viewpoint_outputs(*batches)
        return [self.viewpoint_net(batch) for batch in batches]

    def generate(self, *latents: tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
        if "synthesis_passes" not in self.undo:
            return super().generate(*latents)
        return [self.synthesise(codes, views) for codes, views in latents]

    def synthesise(self, codes: torch.Tensor, views: torch.Tensor) -> torch.Tensor:
        if "shared_volumes" not in self.undo:
            return super().synthesise(codes, views)
        return self.generator(codes, views)
