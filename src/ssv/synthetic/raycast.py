"""Orthographic ray casting of axis-aligned solids, vectorised over batch x pixels x solids.

Conventions follow ``ssv.viewpoint``: camera x to the image's right, y down, z along the viewing direction.
Each pixel casts one ray along +z; with R = rotation_matrix(view), a camera point p is the object point
q = R p, so the ray through pixel (x, y) is q(t) = x R[:, 0] + y R[:, 1] + t R[:, 2], t being camera depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch

# Half-size (or semi-axis) that stands for "unbounded": far outside the unit cube yet well conditioned.
UNBOUNDED = 1e3
_TINY_DIRECTION = 1e-6


class Solid(NamedTuple):
    """An ellipsoid clipped by an axis-aligned box, each field ``[B, 3]`` in object space."""

    centre: torch.Tensor
    radii: torch.Tensor
    box_centre: torch.Tensor
    half_size: torch.Tensor


def ellipsoid(centre: torch.Tensor, radii: torch.Tensor) -> Solid:
    return Solid(centre, radii, centre, torch.full_like(radii, UNBOUNDED))


def rounded_box(centre: torch.Tensor, half_size: torch.Tensor, radii: torch.Tensor) -> Solid:
    """A box whose edges are cut away by an ellipsoid with the same centre."""
    return Solid(centre, radii, centre, half_size)


def cylinder(centre: torch.Tensor, radii: torch.Tensor, half_size: torch.Tensor, axis: int) -> Solid:
    """Elliptic cylinder along ``axis``: ``radii`` across it, ``half_size`` bounds it (along it too)."""
    radii = radii.clone()
    radii[:, axis] = UNBOUNDED
    return Solid(centre, radii, centre, half_size)


@dataclass(frozen=True)
class Primitives:
    """Solids stacked to ``[B, N, 3]`` fields, the ellipsoids stored by inverse semi-axes."""

    centre: torch.Tensor
    inverse_radii: torch.Tensor
    box_centre: torch.Tensor
    half_size: torch.Tensor

    @staticmethod
    def stack(solids: list[Solid]) -> Primitives:
        centre, radii, box_centre, half_size = (torch.stack(parts, dim=1) for parts in zip(*solids))
        return Primitives(centre, 1.0 / radii, box_centre, half_size)


class Hits(NamedTuple):
    """Nearest hit per pixel.

    ``mask`` and ``part`` (solid index) are ``[B, P]``; the object-space ``point`` and unit ``normal`` are
    coordinate planes ``[3, B, P]``, x, y, z first, which are fast to unpack and combine.
    """

    mask: torch.Tensor
    part: torch.Tensor
    point: torch.Tensor
    normal: torch.Tensor


def pixel_coordinates(image_size: int) -> torch.Tensor:
    """Normalised pixel centres -1 + (2i + 1) / size, symmetric about 0."""
    return (2.0 * torch.arange(image_size, dtype=torch.float32) + 1.0) / image_size - 1.0


def pixel_grid(image_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x and y ``[H*W]`` of the pixel centres, row-major."""
    coords = pixel_coordinates(image_size)
    y, x = torch.meshgrid(coords, coords, indexing="ij")
    return x.flatten(), y.flatten()


def _linear_at_pixels(coefficients: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Evaluates c_x x + c_y y + c_1 (coefficients ``[..., 3]``) at all pixels: ``[..., H*W]``.

    The pixel grid is separable, so this is one broadcast sum of a per-column and a per-row term.
    """
    cx, cy, c1 = coefficients.unsqueeze(-1).unbind(-2)
    by_row, by_column = cy * coords, cx * coords + c1
    return (by_row.unsqueeze(-1) + by_column.unsqueeze(-2)).flatten(-2)


def _quadratic_at_pixels(coefficients: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """Evaluates the quadratic with coefficients ``[..., 6]`` of (x^2, xy, y^2, x, y, 1) at all pixels."""
    cxx, cxy, cyy, cx, cy, c1 = coefficients.unsqueeze(-1).unbind(-2)
    by_row, by_column = (cyy * coords + cy) * coords, (cxx * coords + cx) * coords + c1
    values = by_row.unsqueeze(-1) + by_column.unsqueeze(-2)
    return values.addcmul_(cxy.unsqueeze(-1), torch.outer(coords, coords)).flatten(-2)


def _slab_coefficients(
    prims: Primitives, rotation: torch.Tensor, axis: int, solids: torch.Tensor
) -> torch.Tensor:
    """Depths where rays enter and leave the ``axis`` slab of some ``solids``: ``[2, B, len(solids), 3]``.

    The coefficients are of (x, y, 1): a ray meets a plane q_k = const at a depth linear in (x, y).
    """
    across_x, across_y, along = (rotation[:, None, axis, k] for k in range(3))  # [B, 1]
    toward = torch.where(along >= 0, 1.0, -1.0)
    along = toward * along.abs().clamp_min(_TINY_DIRECTION)
    centre, half_size = prims.box_centre[:, solids, axis], prims.half_size[:, solids, axis]
    planes = torch.stack([centre - toward * half_size, centre + toward * half_size])
    slope_x, slope_y = (-across_x / along).expand_as(planes), (-across_y / along).expand_as(planes)
    return torch.stack([slope_x, slope_y, planes / along], dim=-1)


def _chord_coefficients(prims: Primitives, rotation: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mid-chord depth m, linear ``[B, N, 3]``, and squared half-chord h^2, quadratic ``[B, N, 6]``.

    A ray meets the ellipsoid at depths m -/+ h, if h^2 >= 0.
    """
    scale = prims.inverse_radii
    across_x, across_y, along = (rotation[:, None, :, k] * scale for k in range(3))
    offset = -prims.centre * scale

    def dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return (u * v).sum(-1)

    aa = dot(along, along)
    mx, my, m1 = (-dot(u, along) / aa for u in (across_x, across_y, offset))
    # h^2 = m^2 - (|x u + y v + w|^2 - 1) / aa, expanded in the monomials.
    half_chord_sq = torch.stack([
        mx * mx - dot(across_x, across_x) / aa,
        2.0 * (mx * my - dot(across_x, across_y) / aa),
        my * my - dot(across_y, across_y) / aa,
        2.0 * (mx * m1 - dot(across_x, offset) / aa),
        2.0 * (my * m1 - dot(across_y, offset) / aa),
        m1 * m1 - (dot(offset, offset) - 1.0) / aa,
    ], dim=-1)
    return torch.stack([mx, my, m1], dim=-1), half_chord_sq


def nearest_depth(prims: Primitives, rotation: torch.Tensor, coords: torch.Tensor) -> tuple:
    """Depth ``[B, P]`` (inf on a miss) and index ``[B, P]`` of the nearest solid along each pixel ray."""
    mid, half_chord_sq = _chord_coefficients(prims, rotation)
    mid = _linear_at_pixels(mid, coords)
    half_chord_sq = _quadratic_at_pixels(half_chord_sq, coords)
    # CPU sqrt is slow for negatives and zeros: clamp to a tiny positive, and reject the misses explicitly.
    half_chord = half_chord_sq.clamp_min(1e-20).sqrt_()
    entry, exit_ = mid - half_chord, mid.add_(half_chord)
    for axis in range(3):
        # Only slabs that bound some solid are evaluated (a wheel is bounded along its axle only).
        solids = (prims.half_size[..., axis] < UNBOUNDED).any(0).nonzero().squeeze(1)
        if len(solids) == 0:
            continue
        near, far = _linear_at_pixels(_slab_coefficients(prims, rotation, axis, solids), coords)
        if len(solids) == prims.half_size.shape[1]:
            torch.maximum(entry, near, out=entry)
            torch.minimum(exit_, far, out=exit_)
        else:
            entry[:, solids] = torch.maximum(entry[:, solids], near)
            exit_[:, solids] = torch.minimum(exit_[:, solids], far)
    miss = (entry > exit_).logical_or_(half_chord_sq < 0.0)
    return entry.masked_fill_(miss, torch.inf).min(dim=1)


def _gather(per_solid: torch.Tensor, part: torch.Tensor) -> torch.Tensor:
    """Per-pixel planes ``[3, B, P]`` of per-solid vectors ``[B, N, 3]``."""
    return per_solid.permute(2, 0, 1).gather(2, part.expand(3, -1, -1))


def surface_normal(prims: Primitives, part: torch.Tensor, point: torch.Tensor) -> torch.Tensor:
    """Outward unit normal ``[3, B, P]`` at ``point`` of solid ``part``, from its box or its ellipsoid.

    The point lies on whichever of the two has the larger level (|u| scaled so the surface is at 1).
    """
    local = point - _gather(prims.centre, part)
    box_local = point - _gather(prims.box_centre, part)
    inverse_radii = _gather(prims.inverse_radii, part)
    box_level, face = (box_local.abs() / _gather(prims.half_size, part)).max(dim=0)
    ellipsoid_normal = local * inverse_radii.square()
    ellipsoid_level = (local * ellipsoid_normal).sum(0)  # squared level: compared with box_level squared
    axes = torch.arange(3).view(3, 1, 1)
    box_normal = (face == axes).float() * box_local.sign()
    normal = torch.where(ellipsoid_level >= box_level.square(), ellipsoid_normal, box_normal)
    # Not torch.linalg.vector_norm: over dim 0 it is many times slower on CPU.
    return normal / normal.square().sum(0).sqrt_().clamp_min_(1e-12)


def cast(prims: Primitives, rotation: torch.Tensor, image_size: int) -> Hits:
    """Nearest hits of the pixel rays of a square image, given ``rotation`` ``[B, 3, 3]``."""
    depth, part = nearest_depth(prims, rotation, pixel_coordinates(image_size))
    mask = torch.isfinite(depth)
    depth = torch.where(mask, depth, 0.0)
    x, y = pixel_grid(image_size)
    across_x, across_y, along = (rotation[:, :, k].T.unsqueeze(-1) for k in range(3))  # [3, B, 1]
    point = x * across_x + y * across_y + depth * along
    return Hits(mask=mask, part=part, point=point, normal=surface_normal(prims, part, point))
