"""Random backgrounds: a two-colour linear gradient blended with a few soft colour blobs."""

from __future__ import annotations

import math

import torch

from ssv.synthetic.common import Sampler, Shape
from ssv.synthetic.raycast import pixel_coordinates

BLOBS = 4
_PALETTE = (
    (0.85, 0.85, 0.82), (0.55, 0.6, 0.65), (0.25, 0.28, 0.32), (0.6, 0.5, 0.4), (0.35, 0.45, 0.3),
    (0.5, 0.62, 0.78), (0.75, 0.68, 0.55), (0.15, 0.15, 0.18), (0.62, 0.42, 0.4), (0.4, 0.55, 0.55),
)


def sample_background(draw: Sampler) -> Shape:
    angle = draw.uniform(-math.pi, math.pi)
    blob_centres = torch.stack([draw.uniform(-1.2, 1.2) for _ in range(2 * BLOBS)], -1)
    return {
        "direction": torch.stack([angle.cos(), angle.sin()], dim=-1),
        "start": draw.colour(_PALETTE, jitter=0.1),
        "end": draw.colour(_PALETTE, jitter=0.1),
        "blob_centres": blob_centres.unflatten(1, (BLOBS, 2)),
        "blob_radii": torch.stack([draw.uniform(0.15, 0.7) for _ in range(BLOBS)], -1),
        "blob_strengths": torch.stack([draw.uniform(0.0, 1.5) for _ in range(BLOBS)], -1),
        "blob_colours": torch.stack([draw.colour(_PALETTE, jitter=0.15) for _ in range(BLOBS)], 1),
    }


def mirror_background(params: Shape) -> Shape:
    """The background of the horizontally flipped image (x -> -x)."""
    flip = torch.tensor([-1.0, 1.0])
    return {**params, "direction": params["direction"] * flip, "blob_centres": params["blob_centres"] * flip}


def paint_background(params: Shape, image_size: int) -> torch.Tensor:
    """Background colour planes ``[3, B, H*W]``."""
    coords = pixel_coordinates(image_size)
    dx, dy = params["direction"].unsqueeze(-1).unbind(-2)
    along = (dy * coords).unsqueeze(-1) + (dx * coords).unsqueeze(-2)  # [B, H, W]
    blend = (0.5 + 0.5 * along).clamp_(0.0, 1.0).flatten(1)
    colour = torch.lerp(params["start"].T.unsqueeze(-1), params["end"].T.unsqueeze(-1), blend)
    # Gaussian blobs are separable: a per-row factor times a per-column factor.
    centre_x, centre_y = params["blob_centres"].unsqueeze(-1).unbind(-2)
    radius = params["blob_radii"].unsqueeze(-1)
    by_row = torch.exp(-((coords - centre_y) / radius).square()) * params["blob_strengths"].unsqueeze(-1)
    by_column = torch.exp(-((coords - centre_x) / radius).square())
    weights = (by_row.unsqueeze(-1) * by_column.unsqueeze(-2)).flatten(2)  # [B, K, H*W]
    blobs = torch.einsum("bkp,bkc->cbp", weights, params["blob_colours"])
    return (colour + blobs) / (1.0 + weights.sum(1))
