"""Pieces shared by the category definitions: the Category record, random draws, surface markings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple, Sequence

import torch

from ssv.synthetic.raycast import Hits, Primitives

Shape = dict[str, torch.Tensor]
"""Per-sample object parameters of one category, each ``[B]`` or ``[B, 3]``."""

# Width, in object units (the image spans 2), over which marking edges fade: about half a 128 px pixel.
EDGE = 0.008
RIM = (0.72, 0.73, 0.75)
HUB = (0.12, 0.12, 0.13)


class Surface(NamedTuple):
    """Unlit colour planes ``[3, B, P]`` and specular strength ``[B, P]`` of the hit points."""

    albedo: torch.Tensor
    gloss: torch.Tensor


@dataclass(frozen=True)
class Category:
    """How to draw random objects of one category, and its default viewpoint half-ranges (radians)."""

    name: str
    ranges: tuple[float, float, float]
    sample_shape: Callable[[Sampler], Shape]
    build: Callable[[Shape], Primitives]
    paint: Callable[[Shape, Hits], Surface]


class Sampler:
    """Draws ``count`` values at a time from a torch.Generator."""

    def __init__(self, count: int, generator: torch.Generator):
        self.count = count
        self.generator = generator

    def uniform(self, low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(self.count, generator=self.generator)

    def chance(self, probability: float) -> torch.Tensor:
        """1.0 with the given probability, else 0.0."""
        return (torch.rand(self.count, generator=self.generator) < probability).float()

    def colour(self, palette: Sequence[Sequence[float]], jitter: float = 0.05) -> torch.Tensor:
        """A palette entry (RGB in [0, 1]) per sample, slightly perturbed, ``[count, 3]``."""
        palette = torch.tensor(palette, dtype=torch.float32)
        pick = torch.randint(len(palette), (self.count,), generator=self.generator)
        noise = (2.0 * torch.rand(self.count, 3, generator=self.generator) - 1.0) * jitter
        return (palette[pick] + noise).clamp(0.0, 1.0)


def per_pixel(value: torch.Tensor) -> torch.Tensor:
    """Broadcasts a per-sample value ``[B]`` against per-pixel values ``[B, P]``."""
    return value.unsqueeze(1)


def vector(x, y, z, like: torch.Tensor | None = None) -> torch.Tensor:
    """Stacks coordinates, ``[B]`` tensors or floats, to ``[B, 3]``; ``like`` sets B when all are floats."""
    template = next(v for v in (x, y, z, like) if isinstance(v, torch.Tensor))
    coordinates = [torch.as_tensor(v, dtype=torch.float32).expand_as(template) for v in (x, y, z)]
    return torch.stack(coordinates, dim=-1)


def fade(signed_distance: torch.Tensor, width: float = EDGE) -> torch.Tensor:
    """Coverage in [0, 1] from a signed distance to a marking's edge (negative inside)."""
    return (0.5 - signed_distance / width).clamp(0.0, 1.0)


def ellipse(u: torch.Tensor, v: torch.Tensor, radius_u, radius_v) -> torch.Tensor:
    """Coverage of an axis-aligned ellipse centred at u = v = 0 (approximate signed distance)."""
    level = ((u / radius_u).square() + (v / radius_v).square()).sqrt()
    return fade((level - 1.0) * torch.minimum(torch.as_tensor(radius_u), torch.as_tensor(radius_v)))


def rectangle(u: torch.Tensor, v: torch.Tensor, half_u, half_v) -> torch.Tensor:
    """Coverage of an axis-aligned rectangle centred at u = v = 0."""
    return fade(torch.maximum(u.abs() - half_u, v.abs() - half_v))


def band(value: torch.Tensor, low, high) -> torch.Tensor:
    """Coverage of low <= value <= high."""
    return fade(torch.maximum(low - value, value - high))


def colour_planes(colour) -> torch.Tensor:
    """A per-sample colour ``[B, 3]`` as ``[3, B, 1]``, or a constant RGB triple as ``[3, 1, 1]``."""
    colour = torch.as_tensor(colour, dtype=torch.float32)
    return colour.T.unsqueeze(-1) if colour.dim() == 2 else colour.view(3, 1, 1)


def overlay(base: torch.Tensor, colour, coverage: torch.Tensor) -> torch.Tensor:
    """Paints ``colour`` (``[B, 3]`` or an RGB triple) over planes ``base`` ``[3, B, P]`` by ``coverage``."""
    colour = colour_planes(colour)
    return torch.lerp(base, colour.expand_as(base), coverage)


def solid_colour(part: torch.Tensor, colours: list) -> torch.Tensor:
    """Per-pixel colour planes ``[3, B, P]`` of the hit part, from one ``[B, 3]`` colour per solid."""
    table = torch.stack(colours, dim=1)  # [B, N, 3]
    return table.permute(2, 0, 1).gather(2, part.expand(3, -1, -1))


def paint_wheels(albedo: torch.Tensor, hits: Hits, on_wheel: torch.Tensor, axle_y: torch.Tensor,
                 front_axle: torch.Tensor, rear_axle: torch.Tensor, radius: torch.Tensor) -> torch.Tensor:
    """Rims and hubs on the sides of wheels turning about x, given per-sample ``[B]`` axle positions."""
    _, y, z = hits.point
    axle_z = torch.where(z < 0, per_pixel(front_axle), per_pixel(rear_axle))
    radius = per_pixel(radius)
    hub_distance = ((y - per_pixel(axle_y)).square() + (z - axle_z).square()).sqrt()
    side = on_wheel * fade(0.5 - hits.normal[0].abs(), 0.1)
    albedo = overlay(albedo, RIM, fade(hub_distance - 0.62 * radius) * side)
    return overlay(albedo, HUB, fade(hub_distance - 0.15 * radius) * side)
